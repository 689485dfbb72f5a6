// In-process store for tests: loses everything on exit. The reference for the port's semantics.
import { AUDIT_MAX_ROWS, writeAllowed, type AuditEvent, type Doc, type DocWrite, type Put, type PutOptions, type Store } from './store.ts';
import { LocalBus } from './local-bus.ts';

interface Temp {
  value: string;
  expiresAt: number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly docs = new Map<string, Map<string, Doc>>();
  private readonly temps = new Map<string, Temp>();
  private readonly sets = new Map<string, { members: Set<string>; expiresAt: number }>();
  private readonly audit: AuditEvent[] = [];
  private readonly bus = new LocalBus();
  private readonly now: () => number;
  private puts = 0;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  async getDoc(col: string, id: string): Promise<Doc | null> {
    const d = this.docs.get(col)?.get(id);
    return d ? { ...d } : null;
  }

  async getDocs(col: string, ids: readonly string[]): Promise<Array<Doc | null>> {
    const c = this.docs.get(col);
    return ids.map((id) => {
      const d = c?.get(id);
      return d ? { ...d } : null;
    });
  }

  async listDocs(col: string): Promise<Doc[]> {
    return [...(this.docs.get(col)?.values() ?? [])].map((d) => ({ ...d }));
  }

  async write(writes: readonly DocWrite[], audit: readonly AuditEvent[] = []): Promise<boolean[]> {
    const applied: boolean[] = [];
    for (const w of writes) {
      let c = this.docs.get(w.col);
      if (!c) this.docs.set(w.col, (c = new Map()));
      const ok = writeAllowed(c.get(w.id), w.version, w.when);
      if (ok) c.set(w.id, { id: w.id, version: w.version, value: w.value });
      applied.push(ok);
    }
    this.audit.push(...audit.map((e) => ({ ...e })));
    if (this.audit.length > AUDIT_MAX_ROWS) this.audit.splice(0, this.audit.length - AUDIT_MAX_ROWS);
    return applied;
  }

  async listAudit(limit: number): Promise<AuditEvent[]> {
    return limit > 0 ? this.audit.slice(-limit).reverse() : [];
  }

  private live(key: string): Temp | undefined {
    const t = this.temps.get(key);
    if (t && t.expiresAt <= this.now()) {
      this.temps.delete(key);
      return undefined;
    }
    return t;
  }

  async putTemp(key: string, value: string, ttlMs: number, opts: PutOptions = {}): Promise<boolean> {
    // expired temps go on access; every so often the rest too, so untouched ones do not pile up
    if (++this.puts % 1000 === 0) for (const k of this.temps.keys()) this.live(k);
    if (opts.ifAbsent && this.live(key)) return false;
    this.temps.set(key, { value, expiresAt: this.now() + ttlMs });
    return true;
  }

  async getTemp(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async tempTtl(key: string): Promise<number | null> {
    const t = this.live(key);
    return t ? t.expiresAt - this.now() : null;
  }

  async takeTemp(key: string): Promise<string | null> {
    const t = this.live(key);
    this.temps.delete(key);
    return t?.value ?? null;
  }

  async deleteTemp(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.temps.delete(k);
  }

  async replaceTemps(entries: ReadonlyArray<readonly [key: string, value: string]>): Promise<boolean[]> {
    return entries.map(([key, value]) => {
      const t = this.live(key);
      if (t) t.value = value;
      return !!t;
    });
  }

  async touchTemp(key: string, ttlMs: number): Promise<boolean> {
    const t = this.live(key);
    if (!t) return false;
    t.expiresAt = this.now() + ttlMs;
    return true;
  }

  async putAll(changes: readonly Put[]): Promise<void> {
    // through the single-change methods, so a subclass that refuses one of them (tests) refuses it here too
    for (const c of changes) {
      if (c.kind === 'temp') await this.putTemp(c.key, c.value, c.ttlMs);
      else await this.addMember(c.setKey, c.member, c.ttlMs);
    }
  }

  private liveSet(setKey: string) {
    const s = this.sets.get(setKey);
    if (s && s.expiresAt <= this.now()) {
      this.sets.delete(setKey);
      return undefined;
    }
    return s;
  }

  async addMember(setKey: string, member: string, ttlMs: number): Promise<void> {
    const s = this.liveSet(setKey) ?? { members: new Set<string>(), expiresAt: 0 };
    s.members.add(member);
    s.expiresAt = this.now() + ttlMs;
    this.sets.set(setKey, s);
  }

  async members(setKey: string): Promise<string[]> {
    return [...(this.liveSet(setKey)?.members ?? [])];
  }

  async removeMember(setKey: string, member: string): Promise<void> {
    const s = this.liveSet(setKey);
    s?.members.delete(member);
    if (s && s.members.size === 0) this.sets.delete(setKey);
  }

  publish(channel: string, message: string): Promise<void> {
    return this.bus.publish(channel, message);
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    return this.bus.subscribe(channel, handler);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.bus.close();
  }
}

// The forward-auth hot path reads sessions through this: the signed cookie is checked in memory,
// then a short-lived, bounded in-process snapshot answers, and only a miss reads the store (one
// read). Sessions ended or changed anywhere (logout, deprovisioning, a directory change of their
// identity) are dropped at once on every instance through the store's publish/subscribe; nothing
// is served from a snapshot older than ttlMs.
import type { SessionData, Store as SessionStore } from 'express-session';
import signature from 'cookie-signature';
import type { Store } from '../store/store.ts';
import { SESSION_CHANGED_CHANNEL, SESSION_ENDED_CHANNEL } from './sessions.ts';

interface Entry {
  data: SessionData | null;
  until: number;
  /** last time this instance restarted the record's idle TTL */
  touchedAt: number;
}

export interface SessionCacheOptions {
  ttlMs?: number;
  max?: number;
  /** restart the idle TTL at most this often per session */
  touchEveryMs: number;
}

export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  /** signed cookie value -> session id: the HMAC check runs once per cookie, not per request */
  private readonly unsigned = new Map<string, string>();
  /** reads under way: concurrent misses for one session share one store read */
  private readonly reading = new Map<string, Promise<SessionData | null>>();
  /** counts invalidations: a read that overlapped one is answered but not cached */
  private epoch = 0;
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly unsubscribe: Array<() => Promise<void>> = [];
  /** told of every session ended or changed anywhere (not of this instance's own refreshes) */
  private readonly dropped = new Set<(sid: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly sessionStore: SessionStore,
    private readonly cookieName: string,
    private readonly cookieSecret: string,
    private readonly opts: SessionCacheOptions,
  ) {
    this.ttlMs = opts.ttlMs ?? 5_000;
    this.max = opts.max ?? 20_000;
  }

  async start(): Promise<void> {
    const drop = (msg: string) => {
      try {
        for (const sid of JSON.parse(msg) as string[]) {
          this.invalidate(sid);
          for (const fn of this.dropped) fn(sid);
        }
      } catch {
        this.epoch += 1;
        this.entries.clear();
      }
    };
    for (const channel of [SESSION_ENDED_CHANNEL, SESSION_CHANGED_CHANNEL]) this.unsubscribe.push(await this.store.subscribe(channel, drop));
  }

  /** calls `fn` with the id of every session that ends or whose identity changes, on any instance; returns the unsubscribe */
  onDropped(fn: (sid: string) => void): () => void {
    this.dropped.add(fn);
    return () => this.dropped.delete(fn);
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) await u();
    this.entries.clear();
  }

  /** the session id from the Cookie header, if its signature is valid */
  sessionId(cookieHeader: string | undefined): string | null {
    if (!cookieHeader) return null;
    const prefix = `${this.cookieName}=`;
    for (const part of cookieHeader.split(';')) {
      const p = part.trim();
      if (!p.startsWith(prefix)) continue;
      let raw: string;
      try {
        raw = decodeURIComponent(p.slice(prefix.length));
      } catch {
        return null;
      }
      if (!raw.startsWith('s:')) return null;
      const known = this.unsigned.get(raw);
      if (known !== undefined) return known;
      const sid = signature.unsign(raw.slice(2), this.cookieSecret);
      if (sid === false) return null;
      if (this.unsigned.size >= this.max) this.unsigned.delete(this.unsigned.keys().next().value!);
      this.unsigned.set(raw, sid);
      return sid;
    }
    return null;
  }

  private read(sid: string): Promise<SessionData | null> {
    let p = this.reading.get(sid);
    if (!p) {
      p = new Promise<SessionData | null>((resolve, reject) => this.sessionStore.get(sid, (err, s) => (err ? reject(err) : resolve(s ?? null)))).finally(() =>
        this.reading.delete(sid),
      );
      this.reading.set(sid, p);
    }
    return p;
  }

  /** a fresh snapshot without waiting: the session, null (known absent), or undefined (must read) */
  peek(sid: string): SessionData | null | undefined {
    const e = this.entries.get(sid);
    if (!e || e.until <= Date.now()) return undefined;
    this.touch(sid, e);
    return e.data;
  }

  private touch(sid: string, e: Entry): void {
    const now = Date.now();
    if (e.data && now - e.touchedAt >= this.opts.touchEveryMs) {
      e.touchedAt = now;
      // the idle timeout restarts; a failed touch only shortens the session, so it is not awaited
      this.sessionStore.touch?.(sid, e.data, () => undefined);
    }
  }

  async get(sid: string): Promise<SessionData | null> {
    const now = Date.now();
    let e = this.entries.get(sid);
    if (!e || e.until <= now) {
      const epoch = this.epoch;
      const data = await this.read(sid);
      e = { data, until: now + this.ttlMs, touchedAt: e?.touchedAt ?? now };
      if (epoch === this.epoch) {
        if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
        this.entries.delete(sid);
        this.entries.set(sid, e);
      }
    }
    this.touch(sid, e);
    return e.data;
  }

  invalidate(sid: string): void {
    this.epoch += 1;
    this.entries.delete(sid);
    this.reading.delete(sid);
  }
}

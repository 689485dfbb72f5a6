// The forward-auth hot path reads sessions through this: the signed cookie is checked in memory,
// then a short-lived, bounded in-process snapshot answers, and only a miss reads the store (one
// read). Sessions ended or changed anywhere (logout, deprovisioning, a directory change of their
// identity) are dropped at once on every instance through the store's publish/subscribe; nothing
// is served from a snapshot older than ttlMs.
import type { PortSessionStore } from './port-session-store.ts';
import type { SessionRecord } from './record.ts';
import type { Store } from '../store/store.ts';
import type { SessionCookie } from '../web/cookies.ts';
import { KeyspaceValueError, keyspace, keysOf } from '../store/keyspace.ts';
import { BoundedMap } from '../web/bounded-map.ts';

interface Entry {
  data: SessionRecord | null;
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
  private readonly entries: BoundedMap<string, Entry>;
  /** session id -> the epoch of its latest announced change (bounded): lets a refresh see a revision that overlapped it */
  private readonly changes: BoundedMap<string, number>;
  /**
   * session id -> the stored text last read and what it decoded to (bounded): a record that has
   * not changed since is not parsed and validated again, and keeps its identity (so the verifier's
   * per-session answer stays cached). Without a snapshot (ttlMs 0) that is most of a read's cost.
   */
  private readonly decoded: BoundedMap<string, { raw: string; data: SessionRecord }>;
  /** reads under way: concurrent misses for one session share one store read */
  private readonly reading = new Map<string, Promise<SessionRecord | null>>();
  /** counts invalidations: a read that overlapped one is answered but not cached */
  private epoch = 0;
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly unsubscribe: Array<() => Promise<void>> = [];
  /** told of every session ended or changed anywhere (not of this instance's own refreshes) */
  private readonly dropped = new Set<(sid: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly sessionStore: PortSessionStore,
    private readonly cookie: SessionCookie,
    private readonly opts: SessionCacheOptions,
  ) {
    this.ttlMs = opts.ttlMs ?? 5_000;
    this.max = opts.max ?? 20_000;
    this.entries = new BoundedMap(this.max);
    this.changes = new BoundedMap(this.max);
    this.decoded = new BoundedMap(this.max);
  }

  async start(): Promise<void> {
    const keys = keysOf(this.store);
    const drop = (sids: string[]) => {
      for (const sid of sids) {
        this.invalidate(sid);
        this.changes.set(sid, this.epoch);
        for (const fn of this.dropped) fn(sid);
      }
    };
    // a message that cannot be read: every snapshot may be stale
    const dropAll = () => {
      this.epoch += 1;
      this.entries.clear();
    };
    for (const channel of [keyspace.sessionEnded, keyspace.sessionChanged]) this.unsubscribe.push(await keys.subscribe(channel, drop, dropAll));
  }

  /** calls `fn` with the id of every session that ends or whose identity changes, on any instance; returns the unsubscribe */
  onDropped(fn: (sid: string) => void): () => void {
    this.dropped.add(fn);
    return () => this.dropped.delete(fn);
  }

  async close(): Promise<void> {
    // closing must not fail on a store that stopped answering (a failover, a shut-down Redis): the
    // subscription dies with the connection anyway, as the back-channel and key manager treat theirs
    for (const u of this.unsubscribe.splice(0)) await u().catch(() => {});
    this.entries.clear();
    this.decoded.clear();
  }

  /** the session id from the Cookie header, if its signature is valid */
  sessionId(cookieHeader: string | undefined): string | null {
    return this.cookie.sessionId(cookieHeader);
  }

  /**
   * Changes whenever a change or end of this session is announced (any instance). A caller that
   * holds a record across a slow step compares it before and after: unequal means re-read.
   */
  version(sid: string): number {
    return this.changes.get(sid) ?? 0;
  }

  private read(sid: string): Promise<SessionRecord | null> {
    let p = this.reading.get(sid);
    if (!p) {
      const key = keyspace.session.key(sid);
      p = this.store
        .getTemp(key.key)
        .then((raw) => {
          if (raw === null) {
            this.decoded.delete(sid);
            return null;
          }
          const last = this.decoded.get(sid);
          if (last?.raw === raw) return last.data;
          let data: SessionRecord;
          try {
            data = key.codec.decode(raw) as SessionRecord;
          } catch (err) {
            throw new KeyspaceValueError(key.pattern, key.key, err);
          }
          this.decoded.set(sid, { raw, data });
          return data;
        })
        .finally(() => this.reading.delete(sid));
      this.reading.set(sid, p);
    }
    return p;
  }

  /** a fresh snapshot without waiting: the session, null (known absent), or undefined (must read) */
  peek(sid: string): SessionRecord | null | undefined {
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
      this.sessionStore.touch(sid, e.data, () => undefined);
    }
  }

  async get(sid: string): Promise<SessionRecord | null> {
    const now = Date.now();
    let e = this.entries.get(sid);
    if (!e || e.until <= now) {
      const epoch = this.epoch;
      const data = await this.read(sid);
      e = { data, until: now + this.ttlMs, touchedAt: e?.touchedAt ?? now };
      if (epoch === this.epoch) {
        this.entries.set(sid, e);
      }
    }
    this.touch(sid, e);
    return e.data;
  }

  /** this instance just wrote the session's record: the snapshot is that record, no read needed */
  remember(sid: string, data: SessionRecord): void {
    this.invalidate(sid);
    const now = Date.now();
    this.entries.set(sid, { data, until: now + this.ttlMs, touchedAt: now });
  }

  invalidate(sid: string): void {
    this.epoch += 1;
    this.entries.delete(sid);
    this.reading.delete(sid);
  }
}

// Session records on the store port, for every adapter (embedded, memory, Redis on one server,
// Sentinel or Cluster); the record stays server-side only. express-session's store interface
// (callbacks), kept so callers and tests written against it still work; the middleware itself is
// no longer mounted.
import type { Store } from '../store/store.ts';
import { keyspace, keysOf, type Keyspace, type ValueOf } from '../store/keyspace.ts';
import type { SessionRecord } from './record.ts';

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** the record as the keyspace stores it */
const stored = (sess: SessionRecord): ValueOf<typeof keyspace.session> => sess as unknown as ValueOf<typeof keyspace.session>;

/** last-seen times are kept to the minute */
const SEEN_EVERY_MS = 60_000;
const SEEN_MAX = 20_000;

export class PortSessionStore {
  /** session id -> when this instance last wrote its last-seen time */
  private readonly seenWritten = new Map<string, number>();
  private readonly keys: Keyspace;

  constructor(
    store: Store,
    /** the record's time to live is the idle timeout: every touch starts it again */
    private readonly idleMs: number,
  ) {
    this.keys = keysOf(store);
  }

  get(sid: string, cb: Callback<SessionRecord | null>): void {
    // the record schema checks what was read
    this.keys.get(keyspace.session.key(sid)).then(
      (v) => cb(undefined, v as SessionRecord | null),
      (e: unknown) => cb(e),
    );
  }

  /** epoch ms of the session's latest use (to the minute), for the console; null before its first touch */
  async lastSeen(sid: string): Promise<number | null> {
    return this.keys.get(keyspace.sessionSeen.key(sid));
  }

  /**
   * A nicety for the console, written on touches only (never on the sign-in's own write), at most
   * once a minute per session and instance, never waited for: its failure fails nothing.
   */
  private seen(sid: string): void {
    const now = Date.now();
    const last = this.seenWritten.get(sid);
    if (last !== undefined && now - last < SEEN_EVERY_MS) return;
    if (this.seenWritten.size >= SEEN_MAX) this.seenWritten.delete(this.seenWritten.keys().next().value!);
    this.seenWritten.delete(sid);
    this.seenWritten.set(sid, now);
    this.keys.put(keyspace.sessionSeen.key(sid), now, this.idleMs).catch(() => undefined);
  }

  set(sid: string, sess: SessionRecord, cb?: Callback): void {
    this.keys.put(keyspace.session.key(sid), stored(sess), this.idleMs).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  /** new records for live sessions, keeping their idle time to live (a directory change is not activity); false where one has ended */
  replace(records: ReadonlyArray<readonly [sid: string, sess: SessionRecord]>): Promise<boolean[]> {
    return this.keys.replace(records.map(([sid, sess]) => [keyspace.session.key(sid), stored(sess)] as const));
  }

  touch(sid: string, _sess: SessionRecord, cb?: Callback): void {
    // TTL only: a touch never rewrites the record, so it cannot undo a concurrent token refresh
    this.seen(sid);
    this.keys.touch(keyspace.session.key(sid), this.idleMs).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  destroy(sid: string, cb?: Callback): void {
    this.keys.delete(keyspace.session.key(sid), keyspace.sessionSeen.key(sid)).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }
}

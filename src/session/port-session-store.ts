// Session records on the store port, for every adapter (embedded, memory, Redis on one server,
// Sentinel or Cluster); the record stays server-side only. express-session's store interface
// (callbacks), kept so callers and tests written against it still work; the middleware itself is
// no longer mounted.
import type { Put, Store } from '../store/store.ts';
import { keyspace, keysOf, type Keyspace, type ValueOf } from '../store/keyspace.ts';
import type { SessionRecord } from './record.ts';

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** the record as the keyspace stores it */
const stored = (sess: SessionRecord): ValueOf<typeof keyspace.session> => sess as unknown as ValueOf<typeof keyspace.session>;

export class PortSessionStore {
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

  /**
   * Epoch ms of the session's latest use (sign-in or a touch), for the console: every touch and
   * every write restarts the record's idle time to live, so the time left tells when that was
   * (earlier versions kept it in a key of its own, seen:<sid>, ~140 B per session in Redis).
   * null when the record is gone.
   */
  async lastSeen(sid: string): Promise<number | null> {
    const left = await this.keys.ttl(keyspace.session.key(sid));
    return left === null ? null : Date.now() - Math.max(0, this.idleMs - left);
  }

  set(sid: string, sess: SessionRecord, cb?: Callback): void {
    this.keys.put(keyspace.session.key(sid), stored(sess), this.idleMs).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  /** the record as one change of a Store.putAll (as set() writes it) */
  putting(sid: string, sess: SessionRecord): Put {
    return this.keys.temp(keyspace.session.key(sid), stored(sess), this.idleMs);
  }

  /** new records for live sessions, keeping their idle time to live (a directory change is not activity); false where one has ended */
  replace(records: ReadonlyArray<readonly [sid: string, sess: SessionRecord]>): Promise<boolean[]> {
    return this.keys.replace(records.map(([sid, sess]) => [keyspace.session.key(sid), stored(sess)] as const));
  }

  touch(sid: string, _sess: SessionRecord, cb?: Callback): void {
    // TTL only: a touch never rewrites the record, so it cannot undo a concurrent token refresh
    this.keys.touch(keyspace.session.key(sid), this.idleMs).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  destroy(sid: string, cb?: Callback): void {
    // (with the last-seen key of an earlier version, if there is one)
    this.keys.delete(keyspace.session.key(sid), keyspace.sessionSeen.key(sid)).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }
}

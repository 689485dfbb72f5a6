// express-session storage on the store port, for every adapter (embedded, memory, Redis on one
// server, Sentinel or Cluster); the session record stays server-side only.
import session, { type SessionData } from 'express-session';
import type { Store } from '../store/store.ts';

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** last-seen times are kept to the minute */
const SEEN_EVERY_MS = 60_000;
const SEEN_MAX = 20_000;

export class PortSessionStore extends session.Store {
  /** session id -> when this instance last wrote its last-seen time */
  private readonly seenWritten = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly prefix: string,
    /** the record's time to live is the idle timeout: every touch starts it again */
    private readonly idleMs: number,
  ) {
    super();
  }

  override get(sid: string, cb: Callback<SessionData | null>): void {
    this.store.getTemp(this.prefix + sid).then(
      (v) => cb(undefined, v ? (JSON.parse(v) as SessionData) : null),
      (e: unknown) => cb(e),
    );
  }

  /** epoch ms of the session's latest use (to the minute), for the console; null before its first touch */
  async lastSeen(sid: string): Promise<number | null> {
    const v = await this.store.getTemp(this.seenKey(sid));
    return v ? Number(v) : null;
  }

  private seenKey(sid: string): string {
    return `seen:${sid}`;
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
    this.store.putTemp(this.seenKey(sid), String(now), this.idleMs).catch(() => undefined);
  }

  override set(sid: string, sess: SessionData, cb?: Callback): void {
    this.store.putTemp(this.prefix + sid, JSON.stringify(sess), this.idleMs).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  /** new records for live sessions, keeping their idle time to live (a directory change is not activity); false where one has ended */
  replace(records: ReadonlyArray<readonly [sid: string, sess: SessionData]>): Promise<boolean[]> {
    return this.store.replaceTemps(records.map(([sid, sess]) => [this.prefix + sid, JSON.stringify(sess)] as const));
  }

  override touch(sid: string, _sess: SessionData, cb?: Callback): void {
    // TTL only: a touch never rewrites the record, so it cannot undo a concurrent token refresh
    this.seen(sid);
    this.store.touchTemp(this.prefix + sid, this.idleMs).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  override destroy(sid: string, cb?: Callback): void {
    this.store.deleteTemp([this.prefix + sid, this.seenKey(sid)]).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }
}

// express-session storage on the store port, for every adapter (embedded, memory, Redis on one
// server, Sentinel or Cluster); the session record stays server-side only.
import session, { type SessionData } from 'express-session';
import type { Store } from '../store/store.ts';

type Callback<T = void> = (err?: unknown, value?: T) => void;

export class PortSessionStore extends session.Store {
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

  /** epoch ms of the session's latest use this store saw (a set or a touch), for the console */
  async lastSeen(sid: string): Promise<number | null> {
    const v = await this.store.getTemp(this.seenKey(sid));
    return v ? Number(v) : null;
  }

  private seenKey(sid: string): string {
    return `seen:${sid}`;
  }

  private seen(sid: string): Promise<unknown> {
    return this.store.putTemp(this.seenKey(sid), String(Date.now()), this.idleMs);
  }

  override set(sid: string, sess: SessionData, cb?: Callback): void {
    Promise.all([this.store.putTemp(this.prefix + sid, JSON.stringify(sess), this.idleMs), this.seen(sid)]).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  /** a new record for a live session, keeping its idle time to live (a directory change is not activity); false when it has ended */
  replace(sid: string, sess: SessionData): Promise<boolean> {
    return this.store.replaceTemp(this.prefix + sid, JSON.stringify(sess));
  }

  override touch(sid: string, _sess: SessionData, cb?: Callback): void {
    // TTL only: a touch never rewrites the record, so it cannot undo a concurrent token refresh
    Promise.all([this.store.touchTemp(this.prefix + sid, this.idleMs), this.seen(sid)]).then(
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

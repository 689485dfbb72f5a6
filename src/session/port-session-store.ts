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

  override set(sid: string, sess: SessionData, cb?: Callback): void {
    this.store.putTemp(this.prefix + sid, JSON.stringify(sess), this.idleMs).then(
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
    this.store.touchTemp(this.prefix + sid, this.idleMs).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  override destroy(sid: string, cb?: Callback): void {
    this.store.deleteTemp([this.prefix + sid]).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }
}

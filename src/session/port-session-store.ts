// express-session storage on the store port (embedded and memory). Redis deployments use
// connect-redis instead (see session.ts); both keep the session record server-side only.
import session, { type SessionData } from 'express-session';
import type { Store } from '../store/store.ts';

type Callback<T = void> = (err?: unknown, value?: T) => void;

function ttlOf(sess: SessionData, fallbackMs: number): number {
  const exp = sess.cookie?.expires ? new Date(sess.cookie.expires).getTime() : NaN;
  const ttl = Number.isFinite(exp) ? exp - Date.now() : fallbackMs;
  return Math.max(1000, ttl);
}

export class PortSessionStore extends session.Store {
  constructor(
    private readonly store: Store,
    private readonly prefix = 'sess:',
    private readonly fallbackTtlMs = 8 * 3600_000,
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
    this.store.putTemp(this.prefix + sid, JSON.stringify(sess), ttlOf(sess, this.fallbackTtlMs)).then(
      () => cb?.(),
      (e: unknown) => cb?.(e),
    );
  }

  override touch(sid: string, sess: SessionData, cb?: Callback): void {
    this.store.touchTemp(this.prefix + sid, ttlOf(sess, this.fallbackTtlMs)).then(
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

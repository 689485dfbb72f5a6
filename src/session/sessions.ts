// Gateway sessions: express-session with an opaque random id in the cookie and everything else
// server-side; a new id at every sign-in; indexes from user and tenant to their sessions so a
// deprovisioning sync ends them all at once.
// Timeouts: the cookie lives for the absolute timeout (forward-auth answers never reach the
// browser, so a rolling cookie would expire under an active user); the idle timeout is the
// server-side record's time to live, restarted by TTL-only touches; the absolute end is checked
// against createdAt.
import session from 'express-session';
import type { Request, RequestHandler } from 'express';
import type { Store } from '../store/store.ts';
import type { DirectoryEffect } from '../directory/directory.ts';
import type { Namespace } from '../directory/model.ts';
import type { Protocol, SessionIdentity, UpstreamTokens } from '../login/identity.ts';
import { PortSessionStore } from './port-session-store.ts';
import { readCookie } from './cookies.ts';

export interface UpstreamSession {
  protocol: Protocol;
  tenantId: string;
  appId?: string;
  tokens?: UpstreamTokens;
}

declare module 'express-session' {
  interface SessionData {
    identity?: SessionIdentity;
    upstream?: UpstreamSession;
    /** epoch ms of sign-in, for the absolute timeout */
    createdAt?: number;
  }
}

export interface SessionSettings {
  idleTimeoutSec: number;
  absoluteTimeoutSec: number;
  /** https public URL: Secure cookies with the __Host- prefix */
  secure: boolean;
  cookieSecret: string;
}

export interface ActiveSession {
  identity: SessionIdentity;
  upstream?: UpstreamSession;
  createdAt: number;
  expiresAt: number;
}

export const SESSION_ENDED_CHANNEL = 'session-ended';

const userIndex = (ns: Namespace, tenantId: string, userName: string) => `idx:user:${ns}:${tenantId}:${userName}`;
const tenantIndex = (ns: Namespace, tenantId: string) => `idx:tenant:${ns}:${tenantId}`;

function promisify(fn: (cb: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

/** a session store the store port cannot reach counts as "no session" only for reads */
export class Sessions {
  readonly middleware: RequestHandler;
  readonly sessionStore: session.Store;
  readonly cookieName: string;

  constructor(
    private readonly store: Store,
    private readonly settings: SessionSettings,
  ) {
    this.cookieName = settings.secure ? '__Host-bridge' : 'bridge.sid';
    const idleMs = settings.idleTimeoutSec * 1000;
    // on the store port for every adapter: single Redis, Sentinel and Cluster alike
    this.sessionStore = new PortSessionStore(store, 'sess:', idleMs);
    this.middleware = session({
      name: this.cookieName,
      secret: settings.cookieSecret,
      store: this.sessionStore,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      unset: 'destroy',
      proxy: undefined, // follows express 'trust proxy'
      cookie: { httpOnly: true, sameSite: 'lax', secure: settings.secure, path: '/', maxAge: settings.absoluteTimeoutSec * 1000 },
    });
  }

  /** the signed-in identity, or null (expired sessions are destroyed here) */
  async current(req: Request): Promise<ActiveSession | null> {
    const s = req.session;
    if (!s?.identity || !s.createdAt) return null;
    const absoluteEnd = s.createdAt + this.settings.absoluteTimeoutSec * 1000;
    if (Date.now() >= absoluteEnd) {
      await this.end(req);
      return null;
    }
    const idleEnd = Date.now() + this.settings.idleTimeoutSec * 1000;
    return { identity: s.identity, ...(s.upstream ? { upstream: s.upstream } : {}), createdAt: s.createdAt, expiresAt: Math.min(idleEnd, absoluteEnd) };
  }

  /**
   * sign-in: a fresh session id (the old session, if any, is gone), the identity, the indexes.
   * The record is written here, once (express-session sees it saved and does not write again):
   * a write the store refuses — down, or not confirmed by BRIDGE_REDIS_WAIT_REPLICAS replicas —
   * throws before any cookie is handed out (express-session would still send the response).
   */
  async establish(req: Request, identity: SessionIdentity, upstream: UpstreamSession): Promise<void> {
    // without a session cookie the id is new and unknown to anyone: nothing to fixate, nothing to delete
    if (readCookie(req, this.cookieName)) await promisify((cb) => req.session.regenerate(cb));
    req.session.identity = identity;
    req.session.upstream = upstream;
    req.session.createdAt = Date.now();
    const ttl = this.settings.absoluteTimeoutSec * 1000;
    const { ns, claims } = identity;
    try {
      await this.store.addMember(userIndex(ns, claims.tenant, claims.user_name), req.sessionID, ttl);
      await this.store.addMember(tenantIndex(ns, claims.tenant), req.sessionID, ttl);
      await this.save(req);
    } catch (e) {
      // back to an empty session: express-session then sets no cookie and saves nothing later
      delete req.session.identity;
      delete req.session.upstream;
      delete req.session.createdAt;
      throw e;
    }
  }

  /** persist changes made to req.session now (e.g. refreshed tokens) */
  save(req: Request): Promise<void> {
    return promisify((cb) => req.session.save(cb));
  }

  reload(req: Request): Promise<void> {
    return promisify((cb) => req.session.reload(cb));
  }

  /** logout: destroy the session; returns what it held */
  async end(req: Request): Promise<ActiveSession | null> {
    const s = req.session;
    if (!s) return null;
    const sid = req.sessionID;
    const held = s.identity && s.createdAt ? { identity: s.identity, ...(s.upstream ? { upstream: s.upstream } : {}), createdAt: s.createdAt, expiresAt: Date.now() } : null;
    await promisify((cb) => s.destroy(cb));
    await this.announceEnded([sid]);
    if (held) await this.store.removeMember(userIndex(held.identity.ns, held.identity.claims.tenant, held.identity.claims.user_name), sid).catch(() => {});
    return held;
  }

  private destroyById(sid: string): Promise<void> {
    return promisify((cb) => this.sessionStore.destroy(sid, cb));
  }

  /** tells every instance's caches (forward-auth, tokens) that these sessions are gone */
  private async announceEnded(sids: string[]): Promise<void> {
    if (sids.length) await this.store.publish(SESSION_ENDED_CHANNEL, JSON.stringify(sids)).catch(() => undefined);
  }

  /** deprovisioning: end every session the effects concern; returns how many */
  async endFor(effects: readonly DirectoryEffect[]): Promise<number> {
    const indexes = new Set<string>();
    for (const e of effects) {
      if (e.kind === 'user-revoked') indexes.add(userIndex(e.ns, e.tenantId, e.userName));
      else if ((e.kind === 'tenant-changed' || e.kind === 'app-changed') && e.removed) indexes.add(tenantIndex(e.ns, e.tenantId));
    }
    const ended: string[] = [];
    for (const idx of indexes) {
      for (const sid of await this.store.members(idx)) {
        await this.destroyById(sid);
        await this.store.removeMember(idx, sid);
        ended.push(sid);
      }
    }
    await this.announceEnded(ended);
    return ended.length;
  }
}

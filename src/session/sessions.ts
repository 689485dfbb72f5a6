// Gateway sessions: express-session with an opaque random id in the cookie and everything else
// server-side; a new id at every sign-in; indexes from user and tenant to their sessions so a
// deprovisioning sync ends them all at once, and a directory change (role, name, tenant rename)
// rewrites the identity of every session it concerns (revise, announced on
// SESSION_CHANGED_CHANNEL so every instance drops its snapshots).
// Timeouts: the cookie lives for the absolute timeout (forward-auth answers never reach the
// browser, so a rolling cookie would expire under an active user); the idle timeout is the
// server-side record's time to live, restarted by TTL-only touches; the absolute end is checked
// against createdAt.
import session, { type SessionData } from 'express-session';
import type { Request, RequestHandler } from 'express';
import type { Store } from '../store/store.ts';
import type { DirectoryEffect } from '../directory/directory.ts';
import type { Namespace } from '../identity/identity.ts';
import type { Protocol, SessionIdentity, UpstreamTokens } from '../identity/identity.ts';
import { PortSessionStore } from './port-session-store.ts';
import { readCookie } from './cookies.ts';

/** what OneAccess said about the person at sign-in: the fallback when the directory has no value */
export interface UpstreamProfile {
  name?: string;
  email?: string;
  mobile?: string;
  orgCode?: string;
}

export interface UpstreamSession {
  protocol: Protocol;
  tenantId: string;
  appId?: string;
  tokens?: UpstreamTokens;
  profile?: UpstreamProfile;
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
/** session ids (JSON array) whose record was rewritten: snapshots of them are stale */
export const SESSION_CHANGED_CHANNEL = 'session-changed';

/** sessions revised per store write and per announcement */
const REVISE_BATCH = 500;

const userIndex = (ns: Namespace, tenantId: string, userName: string) => `idx:user:${ns}:${tenantId}:${userName}`;
const tenantIndex = (ns: Namespace, tenantId: string) => `idx:tenant:${ns}:${tenantId}`;

function promisify(fn: (cb: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

/** a session store the store port cannot reach counts as "no session" only for reads */
export class Sessions {
  readonly middleware: RequestHandler;
  readonly sessionStore: PortSessionStore;
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
      // 'keep': sessions end only through end() (Session.destroy). With 'destroy', a request whose
      // record could not be read (the store late or failing over: req.session never loaded) deleted
      // the record when its error answer ended, once the store took the DEL: a live session lost
      // (test/session/session-read-failed.test.ts, the Sentinel chaos test)
      unset: 'keep',
      proxy: undefined, // follows express 'trust proxy'
      cookie: { httpOnly: true, sameSite: 'lax', secure: settings.secure, path: '/', maxAge: settings.absoluteTimeoutSec * 1000 },
    });
  }

  /** the signed-in identity, or null (expired sessions are destroyed here) */
  async current(req: Request): Promise<ActiveSession | null> {
    const s = req.session;
    if (!s?.identity || !s.createdAt) return null;
    const active = this.active(s);
    if (!active) await this.end(req);
    return active;
  }

  private active(s: SessionData): ActiveSession | null {
    if (!s.identity || !s.createdAt) return null;
    const absoluteEnd = s.createdAt + this.settings.absoluteTimeoutSec * 1000;
    if (Date.now() >= absoluteEnd) return null;
    const idleEnd = Date.now() + this.settings.idleTimeoutSec * 1000;
    return { identity: s.identity, ...(s.upstream ? { upstream: s.upstream } : {}), createdAt: s.createdAt, expiresAt: Math.min(idleEnd, absoluteEnd) };
  }

  /**
   * A session by its id, read from the store (no request needed): for the OIDC provider's token
   * and userinfo endpoints, which must see directory changes as they land. null when it has ended.
   */
  async byId(sid: string): Promise<ActiveSession | null> {
    const s = await this.read(sid);
    return s ? this.active(s) : null;
  }

  private read(sid: string): Promise<SessionData | null> {
    return new Promise((resolve, reject) => this.sessionStore.get(sid, (err, s) => (err ? reject(err) : resolve(s ?? null))));
  }

  /** epoch ms of the session's latest use (sign-in or a request), when known */
  lastSeenAt(sid: string): Promise<number | null> {
    return this.sessionStore.lastSeen(sid);
  }

  /** the ids of the live sessions of a user, or of everyone in a tenant (index entries may outlive their session) */
  sessionIds(ns: Namespace, tenantId: string, userName?: string): Promise<string[]> {
    return this.store.members(userName === undefined ? tenantIndex(ns, tenantId) : userIndex(ns, tenantId, userName));
  }

  /**
   * A directory change: `decide` sees each live session of `sids` and answers a new identity
   * (the session keeps its id, cookie and timeouts, the idle one included), null (the session
   * ends) or undefined (no change). Every instance drops its snapshots of the changed and ended ones.
   */
  async revise(sids: Iterable<string>, decide: (s: ActiveSession) => Promise<SessionIdentity | null | undefined>): Promise<{ changed: number; ended: number }> {
    const all = [...new Set(sids)];
    let changed = 0;
    let ended = 0;
    // in batches: reads in parallel, one write for all the batch's rewrites, one announcement
    for (let i = 0; i < all.length; i += REVISE_BATCH) {
      const batch = all.slice(i, i + REVISE_BATCH);
      const records = await Promise.all(batch.map((sid) => this.read(sid)));
      const rewrites: Array<[string, SessionData]> = [];
      const gone: string[] = [];
      for (const [j, sid] of batch.entries()) {
        const s = records[j];
        const active = s && this.active(s);
        if (!s || !active) continue;
        const next = await decide(active);
        if (next === undefined) continue;
        if (next === null) {
          const { ns, claims } = active.identity;
          await this.destroyById(sid);
          await this.store.removeMember(userIndex(ns, claims.tenant, claims.user_name), sid);
          await this.store.removeMember(tenantIndex(ns, claims.tenant), sid);
          gone.push(sid);
          continue;
        }
        s.identity = next;
        rewrites.push([sid, s]);
      }
      // a session that ended meanwhile stays ended
      const stored = rewrites.length ? await this.sessionStore.replace(rewrites) : [];
      const rewritten = rewrites.filter((_, k) => stored[k]).map(([sid]) => sid);
      if (rewritten.length) await this.store.publish(SESSION_CHANGED_CHANNEL, JSON.stringify(rewritten)).catch(() => undefined);
      await this.announceEnded(gone);
      changed += rewritten.length;
      ended += gone.length;
    }
    return { changed, ended };
  }

  /**
   * sign-in: a fresh session id (the old session, if any, is gone), the identity, the indexes.
   * The record is written here, once (express-session sees it saved and does not write again):
   * a write the store refuses — down, or not confirmed by BRIDGE_REDIS_WAIT_REPLICAS replicas —
   * throws before any cookie is handed out (express-session would still send the response).
   */
  async establish(req: Request, identity: SessionIdentity, upstream: UpstreamSession): Promise<void> {
    // without a session cookie the id is new and unknown to anyone: nothing to fixate, nothing to delete
    if (readCookie(req, this.cookieName)) {
      const previous = req.sessionID;
      await promisify((cb) => req.session.regenerate(cb));
      // the replaced session is over everywhere (forward-auth snapshots, OIDC)
      await this.announceEnded([previous]);
    }
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

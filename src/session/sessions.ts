// Gateway sessions, request-free: a session is named by its id, and every caller (sign-in routes,
// forward-auth, OIDC provider, console, directory changes) uses the same few operations over the
// store port, for every adapter. An opaque random id in the cookie and everything else
// server-side; a new id at every sign-in; indexes from user and tenant to their sessions so a
// deprovisioning sync ends them all at once, and a directory change (role, name, tenant rename)
// rewrites the identity of every session it concerns (revise, announced on
// keyspace.sessionChanged so every instance drops its snapshots).
// Timeouts: the cookie lives for the absolute timeout (forward-auth answers never reach the
// browser, so a rolling cookie would expire under an active user); the idle timeout is the
// server-side record's time to live, restarted by TTL-only touches; the absolute end is checked
// against createdAt (record.ts).
// The browser side (the cookie of a request, one read per request) is the last section.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store } from '../store/store.ts';
import { keyspace, keysOf, type Keyspace, type SetKey } from '../store/keyspace.ts';
import type { DirectoryEffect } from '../directory/directory.ts';
import { nextTurn, SLICE } from '../store/slices.ts';
import type { Namespace, SessionIdentity, UpstreamTokens } from '../identity/identity.ts';
import { SessionCookie } from '../web/cookies.ts';
import { PortSessionStore } from './port-session-store.ts';
import { activeOf, isLive, materialized, newRecord, sessionTokens, type ActiveSession, type SessionRecord, type Timeouts, type UpstreamSession } from './record.ts';

export type { ActiveSession, SessionRecord, UpstreamProfile, UpstreamSession } from './record.ts';

export interface SessionSettings {
  idleTimeoutSec: number;
  absoluteTimeoutSec: number;
  /** https public URL: Secure cookies with the __Host- prefix */
  secure: boolean;
  cookieSecret: string;
}

/**
 * What a directory change says, as far as sessions care (the directory's DirectoryEffect is
 * structurally one of these): a person's or a tenant's sessions may end.
 */
export type SessionEffect =
  | { kind: 'user-revoked' | 'user-changed'; ns: Namespace; tenantId: string; userName: string }
  | { kind: 'tenant-changed' | 'app-changed'; ns: Namespace; tenantId: string; removed: boolean };

/** a sign-in that is stored: its id, record, and the Set-Cookie value that hands it to the browser */
export interface Established {
  sid: string;
  record: SessionRecord;
  session: ActiveSession;
  setCookie: string;
}

/** the channel of ended sessions, for subscribers outside src/session (OIDC back-channel logout) */
export const SESSION_ENDED_CHANNEL = keyspace.sessionEnded.name;

/** sessions revised per store write and per announcement */
const REVISE_BATCH = 500;

const userIndex = (ns: Namespace, tenantId: string, userName: string) => keyspace.userSessions.key(ns, tenantId, userName);
const tenantIndex = (ns: Namespace, tenantId: string) => keyspace.tenantSessions.key(ns, tenantId);

/** express-session's id: 24 random bytes, base64url */
const newSessionId = () => randomBytes(24).toString('base64url');

function callback<T>(fn: (cb: (err?: unknown, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

interface Loaded {
  sid: string;
  record: SessionRecord | null;
}

export class Sessions {
  readonly sessionStore: PortSessionStore;
  readonly cookie: SessionCookie;
  readonly timeouts: Timeouts;
  /** per browser request: its session, read once however many handlers ask */
  private readonly requests = new WeakMap<IncomingMessage, Promise<Loaded | null>>();
  private readonly keys: Keyspace;

  constructor(store: Store, settings: SessionSettings) {
    this.keys = keysOf(store);
    this.timeouts = { idleMs: settings.idleTimeoutSec * 1000, absoluteMs: settings.absoluteTimeoutSec * 1000 };
    this.cookie = new SessionCookie({ secure: settings.secure, secret: settings.cookieSecret, maxAgeMs: this.timeouts.absoluteMs });
    // on the store port for every adapter: single Redis, Sentinel and Cluster alike
    this.sessionStore = new PortSessionStore(store, this.timeouts.idleMs);
  }

  get cookieName(): string {
    return this.cookie.name;
  }

  /** the stored record (one store read); null when there is none */
  async read(sid: string): Promise<SessionRecord | null> {
    return (await callback<SessionRecord | null>((cb) => this.sessionStore.get(sid, cb))) ?? null;
  }

  /** the signed-in session with this id, or null when it has ended (one store read, no touch) */
  async load(sid: string): Promise<ActiveSession | null> {
    return activeOf(await this.read(sid), this.timeouts);
  }

  activeOf(record: SessionRecord | null | undefined): ActiveSession | null {
    return activeOf(record, this.timeouts);
  }

  /** restarts the idle timeout (a TTL-only touch, never a rewrite); not waited for by the caller's answer */
  touch(sid: string, record: SessionRecord): Promise<void> {
    return callback((cb) => this.sessionStore.touch(sid, record, cb)).then(() => undefined);
  }

  /** epoch ms of the session's latest use (sign-in or a request), when known */
  lastSeenAt(sid: string): Promise<number | null> {
    return this.sessionStore.lastSeen(sid);
  }

  /** the ids of the live sessions of a user, or of everyone in a tenant (index entries may outlive their session) */
  sessionIds(ns: Namespace, tenantId: string, userName?: string): Promise<string[]> {
    return this.keys.members(userName === undefined ? tenantIndex(ns, tenantId) : userIndex(ns, tenantId, userName));
  }

  /**
   * Sign-in: a fresh session id (the one it replaces, if any, is gone everywhere), the identity,
   * the indexes, the record, written once. A write the store refuses — down, or not confirmed by
   * BRIDGE_REDIS_WAIT_REPLICAS replicas — throws, and nothing hands out a cookie for it.
   */
  async establish(identity: SessionIdentity, upstream: UpstreamSession, replacing: string | null = null): Promise<Established> {
    if (replacing) {
      await this.destroy(replacing);
      // the replaced session is over everywhere (forward-auth snapshots, OIDC)
      await this.announceEnded([replacing]);
    }
    const sid = newSessionId();
    const attrs = this.cookie.attributes();
    const record = newRecord(identity, upstream);
    const { ns, claims } = identity;
    // the two index entries, then the record, in one putAll: no record is ever stored without
    // both (an index entry may outlive its session; the reverse would hide a session from
    // deprovisioning). One transaction and one fsync on the embedded store instead of three;
    // on Redis the index entries in one round trip, the record in the next.
    await this.keys.putAll([
      this.keys.member(userIndex(ns, claims.tenant, claims.user_name), sid, this.timeouts.absoluteMs),
      this.keys.member(tenantIndex(ns, claims.tenant), sid, this.timeouts.absoluteMs),
      this.sessionStore.putting(sid, record),
    ]);
    return { sid, record, session: activeOf(record, this.timeouts)!, setCookie: this.cookie.setCookie(sid, attrs) };
  }

  /** stores the whole record (its idle time to live starts again) */
  async write(sid: string, record: SessionRecord): Promise<void> {
    await callback((cb) => this.sessionStore.set(sid, record, cb));
  }

  /** new upstream tokens for a live session, keeping its idle time to live; null when it has ended meanwhile */
  async replaceTokens(sid: string, record: SessionRecord, tokens: UpstreamTokens): Promise<SessionRecord | null> {
    const next: SessionRecord = { ...record, upstream: { ...record.upstream!, tokens: sessionTokens(tokens) } };
    const [stored] = await this.sessionStore.replace([[sid, next]]);
    return stored ? next : null;
  }

  /**
   * Ends a session (logout, a refused refresh, single logout): the record is gone and every
   * instance is told. `held`: the session as the caller already read it (saves a read).
   * Returns what it held, or null when there was no signed-in session.
   */
  async end(sid: string, held?: ActiveSession | null): Promise<ActiveSession | null> {
    const was = held !== undefined ? held : activeOf(await this.read(sid).catch(() => null), this.timeouts);
    await this.destroy(sid);
    await this.announceEnded([sid]);
    if (was) await this.keys.remove(userIndex(was.identity.ns, was.identity.claims.tenant, was.identity.claims.user_name), sid).catch(() => {});
    return was ? { ...was, expiresAt: Date.now() } : null;
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
      // a turn of the event loop between batches: thousands of sessions must not hold it in one go
      if (i > 0) await nextTurn();
      const batch = all.slice(i, i + REVISE_BATCH);
      const records = await Promise.all(batch.map((sid) => this.read(sid)));
      const rewrites: Array<[string, SessionRecord]> = [];
      const gone: string[] = [];
      for (const [j, sid] of batch.entries()) {
        const s = records[j];
        const active = activeOf(s, this.timeouts);
        if (!s || !active) continue;
        const next = await decide(active);
        if (next === undefined) continue;
        if (next === null) {
          const { ns, claims } = active.identity;
          await this.destroy(sid);
          await this.keys.remove(userIndex(ns, claims.tenant, claims.user_name), sid);
          await this.keys.remove(tenantIndex(ns, claims.tenant), sid);
          gone.push(sid);
          continue;
        }
        // the profile marker means "the claims signed in with": written out before they change
        const upstream = materialized(active);
        if (upstream) s.upstream = upstream;
        s.identity = next;
        rewrites.push([sid, s]);
      }
      // a session that ended meanwhile stays ended
      const stored = rewrites.length ? await this.sessionStore.replace(rewrites) : [];
      const rewritten = rewrites.filter((_, k) => stored[k]).map(([sid]) => sid);
      if (rewritten.length) await this.keys.publish(keyspace.sessionChanged, rewritten).catch(() => undefined);
      await this.announceEnded(gone);
      changed += rewritten.length;
      ended += gone.length;
    }
    return { changed, ended };
  }

  /** deprovisioning: end every session the effects concern; returns how many */
  async endFor(effects: readonly SessionEffect[]): Promise<number> {
    const indexes = new Map<string, SetKey<string>>();
    const add = (k: SetKey<string>) => indexes.set(k.key, k);
    for (const e of effects) {
      if (e.kind === 'user-revoked') add(userIndex(e.ns, e.tenantId, e.userName));
      else if ((e.kind === 'tenant-changed' || e.kind === 'app-changed') && e.removed) add(tenantIndex(e.ns, e.tenantId));
    }
    const ended: string[] = [];
    let read = 0;
    for (const idx of indexes.values()) {
      // thousands of revoked users: a turn of the event loop every SLICE index reads
      if (++read % SLICE === 0) await nextTurn();
      for (const sid of await this.keys.members(idx)) {
        await this.destroy(sid);
        await this.keys.remove(idx, sid);
        ended.push(sid);
      }
    }
    await this.announceEnded(ended);
    return ended.length;
  }

  private async destroy(sid: string): Promise<void> {
    await callback((cb) => this.sessionStore.destroy(sid, cb));
  }

  /** tells every instance's caches (forward-auth, tokens) that these sessions are gone */
  private async announceEnded(sids: string[]): Promise<void> {
    if (sids.length) await this.keys.publish(keyspace.sessionEnded, sids).catch(() => undefined);
  }

  // ---- the browser side: a request's session cookie ----

  /** the session id a browser request's cookie names, if its signature is valid */
  sidOf(req: IncomingMessage): string | null {
    return this.cookie.sessionId(req.headers.cookie);
  }

  private loaded(req: IncomingMessage): Promise<Loaded | null> {
    let p = this.requests.get(req);
    if (!p) {
      const sid = this.sidOf(req);
      p = sid ? this.read(sid).then((record) => ({ sid, record })) : Promise.resolve(null);
      this.requests.set(req, p);
      // a failed read is not remembered: the next handler asks the store again
      p.catch(() => this.requests.delete(req));
    }
    return p;
  }

  /**
   * The signed-in session of a browser request, or null. Read once per request; its use restarts
   * the idle timeout; a session past its absolute end is ended here.
   */
  async current(req: IncomingMessage): Promise<ActiveSession | null> {
    const l = await this.loaded(req);
    if (!l?.record) return null;
    const active = activeOf(l.record, this.timeouts);
    if (active) {
      this.touch(l.sid, l.record).catch(() => undefined);
      return active;
    }
    if (l.record.identity && l.record.createdAt) {
      this.requests.set(req, Promise.resolve({ sid: l.sid, record: null }));
      await this.end(l.sid, null);
    }
    return null;
  }

  /**
   * The record current() read for this request (the store is not asked again), for a caller that
   * must refresh its upstream tokens; null when the request has no session.
   */
  async loadedRecord(req: IncomingMessage): Promise<SessionRecord | null> {
    return (await this.loaded(req))?.record ?? null;
  }

  /** the request's session id, only when it names a signed-in session */
  async currentId(req: IncomingMessage): Promise<string | null> {
    return (await this.current(req)) ? this.sidOf(req) : null;
  }

  /** sign-in from a browser request: its previous session (if any) is replaced */
  async establishFor(req: IncomingMessage, identity: SessionIdentity, upstream: UpstreamSession): Promise<Established> {
    const e = await this.establish(identity, upstream, this.sidOf(req));
    this.requests.set(req, Promise.resolve({ sid: e.sid, record: e.record }));
    return e;
  }

  /** hands a stored sign-in to the browser; as express-session did, a Secure cookie only over https (req.secure follows 'trust proxy') */
  setCookie(req: IncomingMessage & { secure?: boolean }, res: ServerResponse, e: Established): void {
    if (this.cookie.secure && !(req.socket as { encrypted?: boolean }).encrypted && req.secure !== true) return;
    const prev = res.getHeader('Set-Cookie');
    res.setHeader('Set-Cookie', prev === undefined ? [e.setCookie] : [...(Array.isArray(prev) ? prev : [String(prev)]), e.setCookie]);
  }

  /** logout from a browser request: ends its session; returns what it held */
  async endCurrent(req: IncomingMessage): Promise<ActiveSession | null> {
    const l = await this.loaded(req).catch(() => null);
    const sid = l?.sid ?? this.sidOf(req);
    if (!sid) return null;
    this.requests.set(req, Promise.resolve({ sid, record: null }));
    return this.end(sid, l ? activeOf(l.record, this.timeouts) : undefined);
  }
}

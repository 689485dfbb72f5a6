// The session record (what the store keeps under the session id, in express-session's layout so
// records and cookies of earlier versions stay valid) and the two rules every reader applies to
// it: the absolute timeout, and when the upstream tokens are due for a refresh. Pure.
// What a record keeps is only what is read again (about 0.5 KB): the identity, the upstream
// protocol, tenant, app and profile, of the tokens the refresh token and the access token's
// expiry, and createdAt. Records of earlier versions also hold express-session's `cookie` member
// and the upstream access token; they read as before (nothing reads either).
import type { SessionData } from 'express-session';
import type { Protocol, SessionIdentity, UpstreamTokens } from '../identity/identity.ts';

/** what OneAccess said about the person at sign-in: the fallback when the directory has no value */
export interface UpstreamProfile {
  name?: string;
  email?: string;
  mobile?: string;
  orgCode?: string;
}

/**
 * What a session keeps of the upstream tokens: the refresh token and when the access token
 * expires (the refresh rule). The access token itself is used once, at sign-in (userinfo), and
 * is not kept; records of earlier versions may still carry it.
 */
export type SessionTokens = Pick<UpstreamTokens, 'refreshToken' | 'expiresAt'> & { accessToken?: string };

export interface UpstreamSession {
  protocol: Protocol;
  tenantId: string;
  appId?: string;
  tokens?: SessionTokens;
  profile?: UpstreamProfile;
}

/** the part of upstream tokens a record keeps */
export function sessionTokens(t: UpstreamTokens | SessionTokens): SessionTokens {
  return t.refreshToken === undefined ? { expiresAt: t.expiresAt } : { refreshToken: t.refreshToken, expiresAt: t.expiresAt };
}

/** a new sign-in's record, as it is stored (no express-session `cookie` member: nothing reads it) */
export function newRecord(identity: SessionIdentity, upstream: UpstreamSession, now = Date.now()): SessionRecord {
  return { identity, upstream: upstream.tokens ? { ...upstream, tokens: sessionTokens(upstream.tokens) } : upstream, createdAt: now };
}

declare module 'express-session' {
  interface SessionData {
    identity?: SessionIdentity;
    upstream?: UpstreamSession;
    /** epoch ms of sign-in, for the absolute timeout */
    createdAt?: number;
  }
}

/** express-session's record, whose `cookie` member records of this version no longer carry */
export type SessionRecord = Omit<SessionData, 'cookie'> & { cookie?: SessionData['cookie'] };

export interface ActiveSession {
  identity: SessionIdentity;
  upstream?: UpstreamSession;
  createdAt: number;
  expiresAt: number;
}

export interface Timeouts {
  idleMs: number;
  absoluteMs: number;
}

/** a signed-in record within its absolute timeout (the idle one is the record's time to live) */
export function isLive(s: SessionRecord | null | undefined, absoluteMs: number, now = Date.now()): s is SessionRecord & { identity: SessionIdentity; createdAt: number } {
  return !!s?.identity && !!s.createdAt && now < s.createdAt + absoluteMs;
}

/** the record as a signed-in session, or null (none, not signed in, or past its absolute end) */
export function activeOf(s: SessionRecord | null | undefined, t: Timeouts, now = Date.now()): ActiveSession | null {
  if (!isLive(s, t.absoluteMs, now)) return null;
  const absoluteEnd = s.createdAt + t.absoluteMs;
  return { identity: s.identity, ...(s.upstream ? { upstream: s.upstream } : {}), createdAt: s.createdAt, expiresAt: Math.min(now + t.idleMs, absoluteEnd) };
}

/** the upstream access token expires within `skewMs` */
export function needsRefresh(s: Pick<SessionRecord, 'upstream'>, skewMs: number, now = Date.now()): boolean {
  const t = s.upstream?.tokens;
  return !!t && t.expiresAt - skewMs <= now;
}

// The session record (what the store keeps under the session id, in express-session's layout so
// records and cookies of earlier versions stay valid) and the two rules every reader applies to
// it: the absolute timeout, and when the upstream tokens are due for a refresh. Pure.
import type { SessionData } from 'express-session';
import type { Protocol, SessionIdentity, UpstreamTokens } from '../identity/identity.ts';

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

export type SessionRecord = SessionData;

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

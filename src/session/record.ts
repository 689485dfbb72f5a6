// The session record (what the store keeps under the session id, in express-session's layout so
// records and cookies of earlier versions stay valid) and the two rules every reader applies to
// it: the absolute timeout, and when the upstream tokens are due for a refresh. Pure.
// What a record keeps is only what is read again (about 0.5 KB): the identity, the upstream
// protocol, tenant, app and profile, of the tokens the refresh token and the access token's
// expiry, and createdAt. Records of earlier versions also hold express-session's `cookie` member
// and the upstream access token; they read as before (nothing reads either).
import type { SessionData } from 'express-session';
import { compact, type IdentityClaims, type Protocol, type SessionIdentity, type UpstreamTokens } from '../identity/identity.ts';

/** what OneAccess said about the person at sign-in: the fallback when the directory has no value */
export interface UpstreamProfile {
  name?: string;
  email?: string;
  mobile?: string;
  orgCode?: string;
}

/**
 * How a record stores a profile equal to what its sign-in's claims say (the usual case: the
 * directory and OneAccess agree): a marker instead of the values again (~85 B less per record).
 * A revision of the identity writes the values out first (materialized), so the marker always
 * means "the claims this record was signed in with".
 */
export interface SameAsClaims {
  asClaims: true;
}

const PROFILE_FIELDS = ['name', 'email', 'mobile', 'orgCode'] as const;

/** the profile the claims of a sign-in say */
export function claimsProfile(c: Pick<IdentityClaims, 'name' | 'email' | 'mobile' | 'org_code'>): UpstreamProfile {
  return compact({ name: c.name, email: c.email, mobile: c.mobile, orgCode: c.org_code });
}

/** the session's profile as OneAccess said it, the marker resolved; undefined for records from before profiles were kept */
export function profileOfRecord(s: { identity: SessionIdentity; upstream?: UpstreamSession }): UpstreamProfile | undefined {
  const p = s.upstream?.profile;
  return p && 'asClaims' in p ? claimsProfile(s.identity.claims) : p;
}

/** the record's upstream with the marker written out, for a rewrite of its identity */
export function materialized(s: { identity: SessionIdentity; upstream?: UpstreamSession }): UpstreamSession | undefined {
  const p = s.upstream?.profile;
  return p && 'asClaims' in p ? { ...s.upstream!, profile: claimsProfile(s.identity.claims) } : s.upstream;
}

/** the tenant a session signed in to */
export function upstreamTenant(s: { identity: SessionIdentity; upstream?: UpstreamSession }): string {
  return s.upstream?.tenantId ?? s.identity.claims.tenant;
}

function sameProfile(a: UpstreamProfile, b: UpstreamProfile): boolean {
  return PROFILE_FIELDS.every((k) => a[k] === b[k]);
}

/**
 * What a session keeps of the upstream tokens: the refresh token and when the access token
 * expires (the refresh rule). The access token itself is used once, at sign-in (userinfo), and
 * is not kept; records of earlier versions may still carry it.
 */
export type SessionTokens = Pick<UpstreamTokens, 'refreshToken' | 'expiresAt'> & { accessToken?: string };

export interface UpstreamSession {
  protocol: Protocol;
  /** the tenant signed in to; a stored record leaves it out when it is the claims' tenant (upstreamTenant) */
  tenantId?: string;
  appId?: string;
  tokens?: SessionTokens;
  profile?: UpstreamProfile | SameAsClaims;
}

/** the part of upstream tokens a record keeps */
export function sessionTokens(t: UpstreamTokens | SessionTokens): SessionTokens {
  return t.refreshToken === undefined ? { expiresAt: t.expiresAt } : { refreshToken: t.refreshToken, expiresAt: t.expiresAt };
}

/** a new sign-in's record, as it is stored (no express-session `cookie` member: nothing reads it) */
export function newRecord(identity: SessionIdentity, upstream: UpstreamSession, now = Date.now()): SessionRecord {
  const up: UpstreamSession = { ...upstream };
  if (up.tokens) up.tokens = sessionTokens(up.tokens);
  if (up.tenantId === identity.claims.tenant) delete up.tenantId;
  if (up.profile && !('asClaims' in up.profile) && sameProfile(compact({ ...up.profile }), claimsProfile(identity.claims))) up.profile = { asClaims: true };
  return { identity, upstream: up, createdAt: now };
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

// The shapes every side shares: what OneAccess said about a person (one shape for both
// protocols), the claims the gateway hands on, and what a session holds. Depends on nothing.

/** production data and seller debug data (testFlag 1) never mix */
export type Namespace = 'prod' | 'debug';

export type Protocol = 'oauth' | 'cas';

export interface UpstreamTokens {
  accessToken: string;
  refreshToken?: string;
  /** epoch ms */
  expiresAt: number;
}

/** what OneAccess said about the person, normalised */
export interface UpstreamIdentity {
  protocol: Protocol;
  tenantId: string;
  userName: string;
  name?: string;
  email?: string;
  mobile?: string;
  role?: string;
  orgCode?: string;
  tenantName?: string;
  tokens?: UpstreamTokens;
}

/** the identity claims: the contract's member names; absent values are omitted */
export interface IdentityClaims {
  sub: string;
  tenant: string;
  tenant_code?: string;
  tenant_name?: string;
  user_name: string;
  name?: string;
  email?: string;
  mobile?: string;
  role: 'admin' | 'user';
  org_code?: string;
  idp: 'oneaccess-oauth' | 'oneaccess-cas';
}

export interface SessionIdentity {
  ns: Namespace;
  claims: IdentityClaims;
}

/** drops undefined, null and empty-string members, so claims never carry empty values */
export function compact<T extends object>(o: T): T {
  // a loop, not entries/filter/fromEntries: it runs several times per sign-in (1% of its CPU before)
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (v === undefined || v === null || v === '') continue;
    // an own "__proto__" stays a member, as Object.fromEntries keeps it, instead of setting the prototype
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out as T;
}

import type { RequestHandler, Request } from 'express';
import type { JWTVerifyGetKey } from 'jose';

/** what the gateway can sign identity tokens with */
export declare const GATEWAY_ALGORITHMS: readonly ['ES256', 'RS256', 'EdDSA'];
export type GatewayAlgorithm = (typeof GATEWAY_ALGORITHMS)[number];

/** the identity token's claims (absent values are omitted, never empty) */
export interface BridgeIdentity {
  iss: string;
  aud: string | string[];
  /** the stable local account id: key your own data on it */
  sub: string;
  iat: number;
  exp: number;
  /** the gateway session */
  sid?: string;
  /** the buying company's tenantId */
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
  [claim: string]: unknown;
}

/** the plain X-Auth-Request-* headers, decoded; vouched for by the proxy only */
export interface IdentityHeaders {
  sub?: string;
  tenant?: string;
  user_name?: string;
  name?: string;
  email?: string;
  role?: string;
}

export interface BridgeIdentityOptions {
  /** the gateway's BRIDGE_PUBLIC_URL, exactly (the token's iss) */
  issuer: string;
  /** the gateway's BRIDGE_TOKEN_AUDIENCE (by default its BRIDGE_APP_URL) */
  audience: string;
  /** {BRIDGE_PUBLIC_URL}/.well-known/jwks.json, or the same path on an internal address (required unless `jwks`) */
  jwksUrl?: string;
  /** how soon a token naming a key not in the cache may fetch the key set again; default 30 s */
  jwksCooldownMs?: number;
  /** default: every algorithm the gateway can sign with */
  algorithms?: GatewayAlgorithm[];
  /** let requests without a token through (req.identity stays undefined); a bad token is still 401 */
  optional?: boolean;
  /** a key set of your own instead of fetching jwksUrl (tests) */
  jwks?: JWTVerifyGetKey;
}

export declare function bridgeIdentity(options: BridgeIdentityOptions): RequestHandler;
export declare function requireRole(...roles: Array<'admin' | 'user'>): RequestHandler;
export declare function requireTenant(...tenants: string[]): RequestHandler;
export declare function identityHeaders(req: Request): IdentityHeaders;

declare global {
  namespace Express {
    interface Request {
      /** set by bridgeIdentity: the verified identity token's claims */
      identity?: BridgeIdentity;
      /** set by bridgeIdentity: the plain identity headers, decoded */
      identityHeaders?: IdentityHeaders;
    }
  }
}

// Identity tokens for the app behind the gateway: short-lived JWS with exactly the contract's
// claims. Signed once per session and reused while enough lifetime remains, so the hot path
// (/auth/verify, the proxy) does not sign on every request.
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import type { IdentityClaims } from '../identity/identity.ts';
import type { KeyManager } from './keys.ts';
import { BoundedMap } from '../web/bounded-map.ts';

export interface TokenIssuerOptions {
  issuer: string;
  audience: string;
  ttlSec: number;
  now?: () => number;
  maxCached?: number;
}

interface Cached {
  token: string;
  kid: string;
  /** the claims it was signed for: a changed identity (role, name…) gets a new token */
  claims: string;
  /** the claims object last seen for it (session snapshots are never mutated) */
  claimsRef: IdentityClaims;
  /** epoch ms from which a new one is signed */
  renewAt: number;
}

/** contract claims taken from the identity, in the contract's order */
const IDENTITY_CLAIMS = ['tenant', 'tenant_code', 'tenant_name', 'user_name', 'name', 'email', 'mobile', 'role', 'org_code', 'idp'] as const;

/**
 * The token's `sid`: stable per session, but not the session id, which is the secret part of the
 * cookie. The session id is random, so a one-way hash is enough to hide it.
 */
export function sidFor(sessionKey: string): string {
  return createHash('sha256').update('oneaccess-bridge/sid\0').update(sessionKey).digest('base64url');
}

export class TokenIssuer {
  private readonly cache: BoundedMap<string, Cached>;
  private readonly now: () => number;

  constructor(
    private readonly keys: KeyManager,
    private readonly opts: TokenIssuerOptions,
  ) {
    if (!Number.isInteger(opts.ttlSec) || opts.ttlSec < 1 || opts.ttlSec > 300) throw new Error(`token ttlSec must be an integer from 1 to 300, not ${opts.ttlSec}`);
    if (!opts.issuer || !opts.audience) throw new Error('tokens need an issuer and an audience');
    this.now = opts.now ?? Date.now;
    this.cache = new BoundedMap(opts.maxCached ?? 50_000);
  }

  /** the cached token, if one is still good for these claims; never signs */
  peek(sessionKey: string, claims: IdentityClaims): string | undefined {
    const hit = this.cache.get(sessionKey);
    // the same claims object (a session snapshot) needs no comparison of its contents
    if (!hit || this.now() >= hit.renewAt || hit.kid !== this.keys.signingKey().kid) return undefined;
    if (hit.claimsRef !== claims && hit.claims !== JSON.stringify(contractClaims(claims))) return undefined;
    hit.claimsRef = claims;
    return hit.token;
  }

  async tokenFor(sessionKey: string, claims: IdentityClaims): Promise<string> {
    if (!claims.sub) throw new Error('an identity token needs a sub');
    const cached = this.peek(sessionKey, claims);
    if (cached) return cached;
    const now = this.now();
    const signing = this.keys.signingKey();
    const payload = contractClaims(claims);
    const claimsText = JSON.stringify(payload);
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT({ ...payload, sid: sidFor(sessionKey) })
      .setProtectedHeader({ typ: 'JWT', alg: signing.alg, kid: signing.kid })
      .setIssuer(this.opts.issuer)
      .setAudience(this.opts.audience)
      .setSubject(claims.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.opts.ttlSec)
      .sign(signing.key);
    // reuse while at least a fifth of the lifetime remains (60 s at the default 300 s)
    const renewAt = (iat + this.opts.ttlSec - Math.ceil(this.opts.ttlSec / 5)) * 1000;
    this.cache.set(sessionKey, { token, kid: signing.kid, claims: claimsText, claimsRef: claims, renewAt });
    return token;
  }
}

/** only the contract's names, and no empty values */
function contractClaims(claims: IdentityClaims): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of IDENTITY_CLAIMS) {
    const v = claims[name];
    if (typeof v === 'string' && v !== '') out[name] = v;
  }
  return out;
}

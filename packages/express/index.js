// Express middleware for an app behind oneaccess-bridge. It believes only the signed identity
// token in X-Auth-Request-Jwt: signature (keys from the gateway's JWKS, cached and fetched again
// for a key it has not seen, which is what a key rotation looks like), issuer, audience, expiry,
// the `typ` header and the algorithm (asymmetric ones only, never `none` or a shared secret) are
// checked on every request. The plain X-Auth-Request-* headers are offered decoded, for display;
// only the proxy vouches for them.
import * as jose from 'jose';

/** what the gateway can sign identity tokens with (tokens.alg; ES256 unless changed) */
export const GATEWAY_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

const HEADERS = { subject: 'sub', tenant: 'tenant', user: 'user_name', name: 'name', email: 'email', role: 'role' };

function problem(res, status, error, description) {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}

/**
 * The X-Auth-Request-* identity headers, percent-decoded (the gateway percent-encodes values that
 * are not plain ASCII, such as Chinese names); a value that does not decode is left out.
 */
export function identityHeaders(req) {
  const out = {};
  for (const [header, claim] of Object.entries(HEADERS)) {
    const v = req.get(`x-auth-request-${header}`);
    if (v === undefined) continue;
    try {
      out[claim] = decodeURIComponent(v);
    } catch {
      // not something the gateway sent
    }
  }
  return out;
}

/** verifies X-Auth-Request-Jwt and sets req.identity (the token's claims) and req.identityHeaders */
export function bridgeIdentity(options) {
  const { issuer, audience, jwksUrl } = options ?? {};
  if (!issuer || !audience || (!jwksUrl && !options.jwks)) throw new TypeError('bridgeIdentity needs issuer, audience and jwksUrl');
  const algorithms = options.algorithms ?? GATEWAY_ALGORITHMS;
  if (algorithms.some((a) => !GATEWAY_ALGORITHMS.includes(a))) throw new TypeError(`algorithms must be among ${GATEWAY_ALGORITHMS.join(', ')}`);
  // a token naming a key not in the cache fetches the set again (at most every jwksCooldownMs): the
  // gateway publishes a new key ten minutes before it signs with it
  const jwks = options.jwks ?? jose.createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: options.jwksCooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000 });
  const optional = options.optional === true;

  return async function identity(req, res, next) {
    const token = req.get('x-auth-request-jwt');
    if (!token) {
      if (optional) return next();
      return problem(res, 401, 'unauthenticated', 'no identity token: is the app reached through the gateway?');
    }
    try {
      const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience, typ: 'JWT', algorithms, requiredClaims: ['sub', 'exp', 'tenant'] });
      req.identity = payload;
      req.identityHeaders = identityHeaders(req);
      next();
    } catch (e) {
      if (e instanceof jose.errors.JOSEError) return problem(res, 401, 'invalid_token', e.code);
      // the JWKS could not be fetched, or something else not the token's fault
      next(e);
    }
  };
}

/** 403 unless the person's role is one of `roles` (after bridgeIdentity) */
export function requireRole(...roles) {
  return (req, res, next) => {
    if (!req.identity) return problem(res, 401, 'unauthenticated', 'no verified identity');
    if (roles.includes(req.identity.role)) return next();
    problem(res, 403, 'forbidden', `needs role ${roles.join(' or ')}`);
  };
}

/** 403 unless the person belongs to one of `tenants` (tenantId or tenant code) */
export function requireTenant(...tenants) {
  return (req, res, next) => {
    if (!req.identity) return problem(res, 401, 'unauthenticated', 'no verified identity');
    const { tenant, tenant_code } = req.identity;
    if (tenants.includes(tenant) || (tenant_code !== undefined && tenants.includes(tenant_code))) return next();
    problem(res, 403, 'forbidden', 'not for this company');
  };
}

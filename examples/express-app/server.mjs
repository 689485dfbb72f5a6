// An Express app behind oneaccess-bridge. It believes only the signed identity token in
// X-Auth-Request-Jwt: the signature (keys from the gateway's JWKS), the issuer, the audience and
// the expiry are checked on every request. The plain X-Auth-Request-* headers are conveniences;
// an app that reads them must be reachable through the proxy only.
//
//   npm install express jose
//   BRIDGE_JWKS_URL=https://login.example.com/.well-known/jwks.json \
//   BRIDGE_ISSUER=https://login.example.com BRIDGE_AUDIENCE=https://app.example.com node server.mjs
import express from 'express';
import * as jose from 'jose';

// the gateway's BRIDGE_PUBLIC_URL is the issuer; its JWKS may also be fetched from an internal address
const ISSUER = process.env.BRIDGE_ISSUER ?? 'https://login.example.com';
const JWKS = jose.createRemoteJWKSet(new URL(process.env.BRIDGE_JWKS_URL ?? 'https://login.example.com/.well-known/jwks.json'));
// the gateway's BRIDGE_TOKEN_AUDIENCE (by default its BRIDGE_APP_URL)
const AUDIENCE = process.env.BRIDGE_AUDIENCE ?? 'https://app.example.com';
const PORT = Number(process.env.PORT ?? 3000);

/** req.user = the token's claims, or 401 */
async function identity(req, res, next) {
  const token = req.get('x-auth-request-jwt');
  if (!token) {
    res.status(401).json({ error: 'unauthenticated', error_description: 'no identity token: is the app reached through the gateway?' });
    return;
  }
  try {
    const { payload } = await jose.jwtVerify(token, JWKS, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'JWT',
      // the gateway signs with ES256 unless BRIDGE_TOKEN_ALG says otherwise; never a shared secret
      algorithms: ['ES256', 'RS256', 'EdDSA'],
    });
    req.user = payload;
    next();
  } catch (e) {
    res.status(401).json({ error: 'invalid_token', error_description: e.code ?? 'the identity token does not verify' });
  }
}

/**
 * The plain X-Auth-Request-* headers, decoded: values that are not plain ASCII (Chinese names,
 * internationalised e-mail addresses) arrive percent-encoded UTF-8, and plain ones decode to
 * themselves. Believe them only if nothing but the proxy can reach the app.
 */
function headerIdentity(req) {
  const read = (name) => {
    const v = req.get(`x-auth-request-${name}`);
    if (v === undefined) return undefined;
    try {
      return decodeURIComponent(v);
    } catch {
      return undefined; // not sent by the gateway
    }
  };
  return { sub: read('subject'), tenant: read('tenant'), user_name: read('user'), name: read('name'), email: read('email'), role: read('role') };
}

function requireRole(role) {
  return (req, res, next) => (req.user.role === role ? next() : res.status(403).json({ error: 'forbidden', error_description: `needs role ${role}` }));
}

const app = express();
app.disable('x-powered-by');
app.use(identity);

app.get('/api/me', (req, res) => {
  // sub is the stable account id to key your own data on; tenant is the buying company
  const { sub, tenant, tenant_code, tenant_name, user_name, name, email, role } = req.user;
  res.json({ sub, tenant, tenant_code, tenant_name, user_name, name, email, role });
});

// what the plain headers say, next to the token's word for it
app.get('/api/headers', (req, res) => {
  res.json({ headers: headerIdentity(req), token: { sub: req.user.sub, tenant: req.user.tenant, user_name: req.user.user_name, name: req.user.name, email: req.user.email, role: req.user.role } });
});

app.get('/api/admin', requireRole('admin'), (req, res) => {
  res.json({ ok: true, admin: req.user.user_name });
});

app.listen(PORT, () => console.log(`express example listening on ${PORT}`));

// An Express app behind oneaccess-bridge, with the gateway's Express helper
// (packages/express, @oneaccess-bridge/express). It believes only the signed identity token in
// X-Auth-Request-Jwt: the signature (keys from the gateway's JWKS), the issuer, the audience and
// the expiry are checked on every request. The plain X-Auth-Request-* headers are conveniences;
// an app that reads them must be reachable through the proxy only.
//
//   npm install express @oneaccess-bridge/express   (inside this repository: a workspace, installed)
//   BRIDGE_JWKS_URL=https://login.example.com/.well-known/jwks.json \
//   BRIDGE_ISSUER=https://login.example.com BRIDGE_AUDIENCE=https://app.example.com node server.mjs
import express from 'express';
import { bridgeIdentity, requireRole } from '@oneaccess-bridge/express';

const PORT = Number(process.env.PORT ?? 3000);
const identity = bridgeIdentity({
  // the gateway's BRIDGE_PUBLIC_URL; its JWKS may also be fetched from an internal address
  issuer: process.env.BRIDGE_ISSUER ?? 'https://login.example.com',
  jwksUrl: process.env.BRIDGE_JWKS_URL ?? 'https://login.example.com/.well-known/jwks.json',
  // the gateway's BRIDGE_TOKEN_AUDIENCE (by default its BRIDGE_APP_URL)
  audience: process.env.BRIDGE_AUDIENCE ?? 'https://app.example.com',
});

const app = express();
app.disable('x-powered-by');
app.use(identity);

app.get('/api/me', (req, res) => {
  // sub is the stable account id to key your own data on; tenant is the buying company
  const { sub, tenant, tenant_code, tenant_name, user_name, name, email, role } = req.identity;
  res.json({ sub, tenant, tenant_code, tenant_name, user_name, name, email, role });
});

// what the plain headers say, next to the token's word for it
app.get('/api/headers', (req, res) => {
  res.json({ headers: req.identityHeaders, token: { sub: req.identity.sub, tenant: req.identity.tenant, user_name: req.identity.user_name, name: req.identity.name, email: req.identity.email, role: req.identity.role } });
});

app.get('/api/admin', requireRole('admin'), (req, res) => {
  res.json({ ok: true, admin: req.identity.user_name });
});

app.listen(PORT, () => console.log(`express example listening on ${PORT}`));

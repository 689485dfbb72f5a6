// @oneaccess-bridge/express against a JWKS served over HTTP, with tokens shaped like the
// gateway's: verified claims in req.identity, every forgery refused with 401, key rotation
// picked up from the JWKS, decoded identity headers, requireRole and requireTenant.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { bridgeIdentity, requireRole, requireTenant } from '@oneaccess-bridge/express';

const ISSUER = 'https://login.example.com';
const AUDIENCE = 'https://app.example.com';

interface Key {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(kid: string, alg = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const claims = { sub: 'u_1', tenant: 't-acme', tenant_code: 'acme', user_name: 'zhangsan', name: '张三', role: 'admin', idp: 'oneaccess-oauth' };

function sign(key: Key, over: { payload?: Record<string, unknown>; typ?: string; iss?: string; aud?: string; exp?: string | number } = {}): Promise<string> {
  return new SignJWT({ ...claims, ...over.payload })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: over.typ ?? 'JWT' })
    .setIssuer(over.iss ?? ISSUER)
    .setAudience(over.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(over.exp ?? '5m')
    .sign(key.privateKey);
}

describe('@oneaccess-bridge/express', () => {
  let jwksServer: Server;
  let published: Key[] = [];
  let fetches = 0;
  let app: express.Express;
  let current: Key;

  before(async () => {
    current = await newKey('k1');
    published = [current, await newKey('k-rsa', 'RS256')];
    jwksServer = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as { port: number };
    app = express();
    app.use(bridgeIdentity({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`, jwksCooldownMs: 0 }));
    app.get('/me', (req, res) => {
      res.json({ identity: req.identity, headers: req.identityHeaders });
    });
    app.get('/admin', requireRole('admin'), (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/acme', requireTenant('acme'), (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/other', requireTenant('t-other'), (_req, res) => {
      res.json({ ok: true });
    });
  });
  after(async () => {
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  it('a token the gateway would sign: req.identity holds its claims', async () => {
    const res = await request(app).get('/me').set('x-auth-request-jwt', await sign(current)).expect(200);
    assert.equal(res.body.identity.sub, 'u_1');
    assert.equal(res.body.identity.name, '张三');
    assert.equal(res.body.identity.iss, ISSUER);
    const rsa = await request(app).get('/me').set('x-auth-request-jwt', await sign(published[1]!)).expect(200);
    assert.equal(rsa.body.identity.user_name, 'zhangsan', 'RS256 too');
  });

  it('the plain identity headers come decoded', async () => {
    const res = await request(app)
      .get('/me')
      .set('x-auth-request-jwt', await sign(current))
      .set('x-auth-request-name', encodeURIComponent('王五'))
      .set('x-auth-request-email', encodeURIComponent('zhao@例子.中国'))
      .set('x-auth-request-user', 'wangwu')
      .set('x-auth-request-role', '%E0%A4%A')
      .expect(200);
    assert.deepEqual(res.body.headers, { name: '王五', email: 'zhao@例子.中国', user_name: 'wangwu' }, 'a value that does not decode is left out');
  });

  it('refuses a missing, forged, expired, misaddressed, mistyped or unsigned token with 401', async () => {
    const stranger = await newKey('k1');
    const hs = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'JWT' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(new TextEncoder().encode('a shared secret a shared secret!'));
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url')}.`;
    const cases: Array<[string, string | undefined, string]> = [
      ['missing', undefined, 'unauthenticated'],
      ['another key under the same kid', await sign(stranger), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
      ['expired', await sign(current, { exp: Math.floor(Date.now() / 1000) - 60 }), 'ERR_JWT_EXPIRED'],
      ['another audience', await sign(current, { aud: 'https://other.example.com' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['another issuer', await sign(current, { iss: 'https://evil.example.com' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['a logout token', await sign(current, { typ: 'logout+jwt' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['no tenant', await sign(current, { payload: { tenant: undefined } }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['HS256', await hs, 'ERR_JOSE_ALG_NOT_ALLOWED'],
      ['alg none', none, 'ERR_JOSE_ALG_NOT_ALLOWED'],
      ['garbage', 'not.a.jwt', 'ERR_JWS_INVALID'],
    ];
    for (const [what, token, code] of cases) {
      const req = request(app).get('/me');
      const res = await (token === undefined ? req : req.set('x-auth-request-jwt', token));
      assert.equal(res.status, 401, what);
      assert.equal(res.body.error === 'unauthenticated' ? 'unauthenticated' : res.body.error_description, code, what);
    }
  });

  it('a rotated-in key is fetched when a token first names it; the JWKS is not fetched per request', async () => {
    await request(app).get('/me').set('x-auth-request-jwt', await sign(current)).expect(200);
    const before = fetches;
    for (let i = 0; i < 5; i++) await request(app).get('/me').set('x-auth-request-jwt', await sign(current)).expect(200);
    assert.equal(fetches, before, 'cached');
    const next = await newKey('k2');
    published = [...published, next];
    await request(app).get('/me').set('x-auth-request-jwt', await sign(next)).expect(200);
    assert.equal(fetches, before + 1, 'fetched once for the new kid');
  });

  it('requireRole and requireTenant', async () => {
    await request(app).get('/admin').set('x-auth-request-jwt', await sign(current)).expect(200);
    const user = await request(app).get('/admin').set('x-auth-request-jwt', await sign(current, { payload: { role: 'user' } })).expect(403);
    assert.equal(user.body.error, 'forbidden');
    await request(app).get('/acme').set('x-auth-request-jwt', await sign(current)).expect(200);
    await request(app).get('/other').set('x-auth-request-jwt', await sign(current)).expect(403);
  });

  it('refuses a configuration that would accept other algorithms', () => {
    assert.throws(() => bridgeIdentity({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'https://x/jwks', algorithms: ['HS256' as 'ES256'] }), /algorithms must be among/);
    assert.throws(() => bridgeIdentity({ issuer: ISSUER, audience: '', jwksUrl: 'https://x/jwks' }), /needs issuer, audience and jwksUrl/);
  });
});

// GET /auth/verify over real HTTP, with sessions made by real sign-ins against the sandbox.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { MemoryStore } from '../../src/store/memory.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { buildGateway, type TestGateway } from '../helpers/gateway.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort, requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';

async function signIn(env: LoginEnv, b: Browser, user: string, tenant = 'acme'): Promise<void> {
  const form = last(await b.follow(`${env.base}/login?tenant=${tenant}`));
  const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: user, continue: hiddenInput(form.body, 'continue')! }));
  assert.ok(end.status !== 403 && end.status < 500, end.body.slice(0, 300));
}

function cookieHeader(env: LoginEnv, b: Browser): string {
  return `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`;
}

const users = [
  { userName: 'boss', name: '老板 Boss', role: 'admin' as const },
  { userName: 'staff', name: '员工', role: 'user' as const },
  { userName: 'temp', name: 'Temp' },
];

describe('/auth/verify', () => {
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(new MemoryStore(), {
      app: { url: 'https://app.example.com' },
      access: { rules: [{ pathPrefix: '/admin', role: 'admin' }, { pathPrefix: '/acme-only', tenants: ['t-acme'] }] },
    });
    await env.addTenant('t-acme', 'acme', users);
  });
  after(() => env.close());

  // through the server's listener: the forward-auth fast path, as main.ts serves it
  const verify = (headers: Record<string, string>) => request(env.base).get('/auth/verify').set(headers);

  it('without a session: 401 and the login URL; return_to only from trusted forwarded headers', async () => {
    const bare = await verify({});
    assert.equal(bare.status, 401);
    assert.equal(bare.headers['content-length'], String(Buffer.byteLength(JSON.stringify(bare.body))));
    assert.equal(bare.headers['transfer-encoding'], undefined);
    assert.equal(bare.headers['x-auth-request-login-url'], `${env.base}/login`);
    assert.equal(bare.headers['x-auth-request-user'], undefined);
    // supertest connects from 127.0.0.1, a trusted proxy by default
    const fwd = await verify({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/reports?q=1' });
    assert.equal(fwd.headers['x-auth-request-login-url'], `${env.base}/login?return_to=${encodeURIComponent('https://app.example.com/reports?q=1')}`);
    const nginx = await verify({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-original-uri': '/x' });
    assert.match(nginx.headers['x-auth-request-login-url']!, /return_to=https%3A%2F%2Fapp\.example\.com%2Fx$/);
    // a forwarded host outside the allow-list never becomes a return_to
    const evil = await verify({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example.net', 'x-forwarded-uri': '/phish' });
    assert.equal(evil.headers['x-auth-request-login-url'], `${env.base}/login`);
  });

  it('X-Forwarded-* from a peer that is not a trusted proxy is ignored', async () => {
    const g = await buildGateway(env.gw.store, { publicUrl: env.base, app: { url: 'https://app.example.com' }, trustedProxies: ['10.0.0.0/8'] });
    try {
      const res = await request(g.app).get('/auth/verify').set({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/reports' });
      assert.equal(res.status, 401);
      assert.equal(res.headers['x-auth-request-login-url'], `${env.base}/login`);
    } finally {
      await g.close();
    }
  });

  it('with a session: 200 and the identity headers; the JWT verifies against the JWKS with the contract claims', async () => {
    const b = new Browser();
    await signIn(env, b, 'boss');
    const res = await verify({ cookie: cookieHeader(env, b), 'x-auth-request-user': 'forged', 'x-auth-request-role': 'admin', 'x-forwarded-uri': '/' });
    assert.equal(res.status, 200);
    const h = res.headers;
    // an empty answer with its length, not chunked framing (cheaper for Node and the proxy)
    assert.equal(h['content-length'], '0');
    assert.equal(h['transfer-encoding'], undefined);
    const dirUser = await env.gw.directory.getUser('prod', 't-acme', 'boss');
    assert.equal(h['x-auth-request-subject'], dirUser!.sub);
    assert.equal(h['x-auth-request-tenant'], 't-acme');
    assert.equal(h['x-auth-request-user'], 'boss');
    assert.equal(h['x-auth-request-role'], 'admin');
    assert.equal(h['x-auth-request-email'], 'boss@acme.example.com');
    assert.equal(h['x-auth-request-name'], encodeURIComponent('老板 Boss'));
    assert.equal(decodeURIComponent(h['x-auth-request-name']!), '老板 Boss');
    const jwks = (await request(env.gw.app).get('/.well-known/jwks.json')).body;
    const { payload, protectedHeader } = await jwtVerify(h['x-auth-request-jwt']!, createLocalJWKSet(jwks), { issuer: env.base, audience: 'https://app.example.com' });
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(protectedHeader.alg, 'ES256');
    assert.ok(payload.exp! - payload.iat! <= 300);
    assert.equal(payload.sub, dirUser!.sub);
    assert.equal(payload.user_name, 'boss');
    assert.equal(payload.idp, 'oneaccess-oauth');
    assert.ok(typeof payload.sid === 'string' && !cookieHeader(env, b).includes(payload.sid as string));
    for (const v of Object.values(payload)) assert.notEqual(v, '');
    // signing is not on every request: the same token comes back
    const again = await verify({ cookie: cookieHeader(env, b), 'x-forwarded-uri': '/' });
    assert.equal(again.headers['x-auth-request-jwt'], h['x-auth-request-jwt']);
  });

  it('a tampered or unsigned cookie is refused', async () => {
    const b = new Browser();
    await signIn(env, b, 'staff');
    const good = b.cookie(env.base, 'bridge.sid')!;
    const raw = decodeURIComponent(good);
    const sid = raw.slice(2, raw.indexOf('.'));
    for (const bad of [encodeURIComponent(`s:${sid}.AAAA`), sid, encodeURIComponent(`s:other${raw.slice(2)}`), '%E0%A4%A', '']) {
      assert.equal((await verify({ cookie: `bridge.sid=${bad}` })).status, 401, bad);
    }
  });

  it('per-path rules: admin-only and tenant-only prefixes, path tricks included', async () => {
    const staff = new Browser();
    await signIn(env, staff, 'staff');
    const boss = new Browser();
    await signIn(env, boss, 'boss');
    const at = (b: Browser, uri: string) => verify({ cookie: cookieHeader(env, b), 'x-forwarded-uri': uri, 'x-forwarded-host': 'app.example.com', 'x-forwarded-proto': 'https' });
    assert.equal((await at(staff, '/admin')).status, 403);
    assert.equal((await at(staff, '/admin/users?x=1')).status, 403);
    assert.equal((await at(staff, '/x/../admin/users')).status, 403);
    assert.equal((await at(staff, '/%61dmin/users')).status, 403);
    assert.equal((await at(staff, '/administrator')).status, 200, 'prefix matches on a segment boundary');
    assert.equal((await at(boss, '/admin/users')).status, 200);
    assert.equal((await at(staff, '/acme-only/x')).status, 200);
  });

  it('a client-sent original-path header that disagrees with the proxy\'s is not believed; no path with rules fails closed', async () => {
    const staff = new Browser();
    await signIn(env, staff, 'staff');
    const cookie = cookieHeader(env, staff);
    // nginx sets X-Original-URI and passes the client's X-Forwarded-Uri through
    const forged = await verify({ cookie, 'x-original-uri': '/admin/users', 'x-forwarded-uri': '/dashboard' });
    assert.equal(forged.status, 403);
    const agree = await verify({ cookie, 'x-original-uri': '/dashboard', 'x-forwarded-uri': '/dashboard' });
    assert.equal(agree.status, 200);
    const none = await verify({ cookie });
    assert.equal(none.status, 403, 'rules are configured but the path is unknown');
  });

  it('Envoy ext_authz (HTTP): the original path appended to /auth/verify drives rules and return_to; any method', async () => {
    const staff = new Browser();
    await signIn(env, staff, 'staff');
    const cookie = cookieHeader(env, staff);
    const envoy = (method: 'get' | 'post', path: string, headers: Record<string, string> = {}) =>
      request(env.base)[method](`/auth/verify${path}`).set({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', ...headers });
    assert.equal((await envoy('get', '/dashboard?tab=1', { cookie })).status, 200);
    assert.equal((await envoy('post', '/dashboard', { cookie })).status, 200, 'Envoy sends the original method');
    assert.equal((await envoy('get', '/admin/users', { cookie })).status, 403);
    // the appended path wins over a forwarded-uri header the client may have slipped in
    assert.equal((await envoy('get', '/admin/users', { cookie, 'x-forwarded-uri': '/dashboard' })).status, 403);
    const anon = await envoy('get', '/reports?q=1');
    assert.equal(anon.status, 401);
    assert.equal(anon.headers['x-auth-request-login-url'], `${env.base}/login?return_to=${encodeURIComponent('https://app.example.com/reports?q=1')}`);
  });

  it('an appended path from a peer that is not a trusted proxy is not believed', async () => {
    const g = await buildGateway(env.gw.store, { publicUrl: env.base, trustedProxies: ['10.0.0.0/8'], access: { rules: [{ pathPrefix: '/admin', role: 'admin' }] } });
    try {
      const staff = new Browser();
      await signIn(env, staff, 'staff');
      // rules are set and the path is unknown: refused, whatever the URL claims
      const res = await request(g.app).get('/auth/verify/public').set({ cookie: cookieHeader(env, staff) });
      assert.equal(res.status, 403);
    } finally {
      await g.close();
    }
  });

  it('?redirect=true answers a 302 to the login URL instead of a 401 (Traefik, Caddy)', async () => {
    const res = await request(env.gw.app).get('/auth/verify?redirect=true').set({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/r' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `${env.base}/login?return_to=${encodeURIComponent('https://app.example.com/r')}`);
  });

  it('/metrics answers only the operator network', async () => {
    assert.equal((await request(env.gw.app).get('/metrics')).status, 200);
    const g = await buildGateway(env.gw.store, { ops: { metricsFrom: ['10.0.0.0/8'] } });
    try {
      assert.equal((await request(g.app).get('/metrics')).status, 404);
    } finally {
      await g.close();
    }
  });

  it('deprovisioning ends forward-auth at once, though the snapshot cache is warm', async () => {
    const b = new Browser();
    await signIn(env, b, 'temp');
    assert.equal((await verify({ cookie: cookieHeader(env, b), 'x-forwarded-uri': '/' })).status, 200);
    await env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'temp' }], currentSyncTime: nextTimeStamp(), flag: 0, testFlag: 0, timeStamp: nextTimeStamp() });
    assert.equal((await verify({ cookie: cookieHeader(env, b), 'x-forwarded-uri': '/' })).status, 401);
  });

  it('logout ends forward-auth at once', async () => {
    const b = new Browser();
    await signIn(env, b, 'staff');
    const cookie = cookieHeader(env, b);
    assert.equal((await verify({ cookie, 'x-forwarded-uri': '/' })).status, 200);
    await b.request(`${env.base}/logout`);
    assert.equal((await verify({ cookie, 'x-forwarded-uri': '/' })).status, 401);
  });

  it('an expired upstream token is refreshed on the forward-auth path', async () => {
    env.sandbox.settings.accessTokenTtlSec = 1;
    try {
      const b = new Browser();
      await signIn(env, b, 'staff');
      await new Promise((r) => setTimeout(r, 1100));
      const before = env.sandbox.counters('t-acme').calls.token;
      assert.equal((await verify({ cookie: cookieHeader(env, b), 'x-forwarded-uri': '/' })).status, 200);
      assert.equal(env.sandbox.counters('t-acme').calls.token - before, 1);
    } finally {
      env.sandbox.settings.accessTokenTtlSec = 7200;
    }
  });
});

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('/auth/verify across instances sharing Redis', needRedis, () => {
  let redis: RedisServer | null = null;
  let env: LoginEnv;
  let second: TestGateway;
  let secondServer: Server;
  let secondBase: string;
  before(async () => {
    redis = await startRedis();
    const prefix = `multi:${randomUUID()}:`;
    const storeA = await openRedisStore(redis!.url, { keyPrefix: prefix, commandTimeoutMs: 1000 });
    const storeB = await openRedisStore(redis!.url, { keyPrefix: prefix, commandTimeoutMs: 1000 });
    env = await startLoginEnv(storeA);
    await env.addTenant('t-acme', 'acme', users);
    const port = await freePort();
    secondBase = `http://127.0.0.1:${port}`;
    second = await buildGateway(storeB, { publicUrl: env.base, port });
    secondServer = createServer(second.listener);
    await new Promise<void>((r) => secondServer.listen(port, '127.0.0.1', r));
  });
  after(async () => {
    secondServer.closeAllConnections();
    await new Promise((r) => secondServer.close(r));
    await second.close();
    await second.store.close();
    await env.close();
    await env.gw.store.close();
    await redis?.stop();
  });

  it('a session made on one instance is honoured by the other, with a token that verifies against either JWKS', async () => {
    const b = new Browser();
    await signIn(env, b, 'staff');
    const res = await fetch(`${secondBase}/auth/verify`, { headers: { cookie: cookieHeader(env, b) } });
    assert.equal(res.status, 200);
    const jwksB = await (await fetch(`${secondBase}/.well-known/jwks.json`)).json();
    await jwtVerify(res.headers.get('x-auth-request-jwt')!, createLocalJWKSet(jwksB as Parameters<typeof createLocalJWKSet>[0]));
  });

  it('deprovisioning on one instance ends the session on the other at once', async () => {
    const b = new Browser();
    await signIn(env, b, 'boss');
    const cookie = cookieHeader(env, b);
    assert.equal((await fetch(`${secondBase}/auth/verify`, { headers: { cookie } })).status, 200);
    await env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'boss' }], currentSyncTime: nextTimeStamp(), flag: 3, testFlag: 0, timeStamp: nextTimeStamp() });
    await new Promise((r) => setTimeout(r, 100)); // pub/sub is asynchronous across connections
    assert.equal((await fetch(`${secondBase}/auth/verify`, { headers: { cookie } })).status, 401);
  });

  it('Redis down: forward-auth answers 503 quickly instead of hanging', async () => {
    const b = new Browser();
    await signIn(env, b, 'temp');
    redis!.kill();
    try {
      const started = Date.now();
      // a fresh instance-side cache: use a cookie the second instance has not seen
      const res = await fetch(`${secondBase}/auth/verify`, { headers: { cookie: cookieHeader(env, b) } });
      assert.equal(res.status, 503);
      assert.ok(Date.now() - started < 3000);
    } finally {
      await redis!.restart();
    }
  });
});

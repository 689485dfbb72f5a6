// The console's JSON API, every route, as scripts call it (Authorization: Bearer), on the embedded
// store and on two gateway instances sharing Redis: what one instance ends is over on the other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Store } from '../../src/store/store.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { buildGateway, signedHeaders, type TestGateway } from '../helpers/gateway.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort, requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { tempEmbeddedStore } from '../helpers/stores.ts';
import { twoInstancesOnRedis } from '../helpers/two-instances.ts';
import { ADMIN_TOKEN, api, consoleSettings, cookieOf, signIn, verifyStatus, within2s } from './console-env.ts';

interface Instances {
  env: LoginEnv;
  /** [where the browser signs in, the other instance] (the same one on embedded) */
  bases: [string, string];
  close(): Promise<void>;
}

const users = [
  { userName: 'lisi', name: '李四', role: 'user' as const },
  { userName: 'wangwu', name: '王五', role: 'admin' as const },
];

function apiSuite(name: string, open: () => Promise<Instances>): void {
  describe(`console API (${name})`, () => {
    let inst: Instances;
    let env: LoginEnv;
    let a: string;
    let b: string;
    before(async () => {
      inst = await open();
      env = inst.env;
      [a, b] = inst.bases;
      await env.addTenant('t-acme', 'acme', users);
      await env.sync('allOrgSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', orgInfoList: [{ orgCode: '1', orgName: '总部' }, { orgCode: '10', orgName: '研发部', parentCode: '1' }], testFlag: 0, timeStamp: nextTimeStamp() });
    });
    after(() => inst.close());

    it('GET /admin/api/tenants: status, code, name, domain, app and client id, counts, last push per interface; never the client secret', async () => {
      const res = await api(b, 'GET', '/tenants');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('cache-control') ?? '', /no-store/);
      const t = res.body.tenants.find((x: any) => x.tenantId === 't-acme');
      assert.ok(t, JSON.stringify(res.body));
      assert.deepEqual(
        { tenantCode: t.tenantCode, name: t.name, status: t.status, ns: t.ns, appId: t.appId, clientId: t.clientId, users: t.users },
        { tenantCode: 'acme', name: 'acme Ltd', status: 'active', ns: 'prod', appId: 'app-1', clientId: 'client-t-acme', users: 2 },
      );
      assert.equal(t.domainName, env.origins.get('t-acme'));
      for (const kind of ['tenantSync', 'applicationSync', 'authSync']) assert.equal(t.lastPush[kind]?.resultCode, '000000', kind);
      assert.doesNotMatch(JSON.stringify(res.body), /secret-t-acme/);
    });

    it('GET /admin/api/tenants/{tenantId}/users: role, status, authorization, last sign-in', async () => {
      const browser = new Browser();
      await signIn(env, browser, 'lisi', 'acme');
      const res = await api(b, 'GET', '/tenants/t-acme/users');
      assert.equal(res.status, 200);
      const lisi = res.body.users.find((u: any) => u.userName === 'lisi');
      assert.deepEqual({ name: lisi.name, role: lisi.role, status: lisi.status, enabled: lisi.enabled, authorized: lisi.authorized }, { name: '李四', role: 'user', status: 'enabled', enabled: true, authorized: true });
      assert.ok(Date.parse(lisi.lastSignInAt) > Date.now() - 60_000, lisi.lastSignInAt);
      assert.ok(lisi.sessions >= 1);
      assert.equal((await api(b, 'GET', '/tenants/t-nobody/users')).body.users.length, 0);
    });

    it('GET /admin/api/sessions, DELETE /admin/api/sessions/{id}: ended on the other instance too', async () => {
      const browser = new Browser();
      await signIn(env, browser, 'wangwu', 'acme');
      const cookie = cookieOf(env, browser);
      assert.equal(await verifyStatus(a, cookie), 200);
      assert.equal(await verifyStatus(b, cookie), 200);
      const list = await api(b, 'GET', '/sessions?tenant=t-acme&user=wangwu');
      assert.equal(list.status, 200);
      assert.equal(list.body.sessions.length, 1);
      const s = list.body.sessions[0];
      assert.equal(s.tenantId, 't-acme');
      assert.equal(s.userName, 'wangwu');
      for (const k of ['createdAt', 'lastSeenAt', 'expiresAt']) assert.ok(!Number.isNaN(Date.parse(s[k])), k);
      // last seen: the session's latest use, not only its sign-in
      await new Promise((r) => setTimeout(r, 20));
      await fetch(`${a}/auth/session`, { headers: { cookie, accept: 'application/json' } });
      // the last-seen write is not waited for by the request that caused it
      const seen = await within2s(async () => (await api(b, 'GET', '/sessions?tenant=t-acme&user=wangwu')).body.sessions[0], (x) => Date.parse(x.lastSeenAt) > Date.parse(s.createdAt));
      assert.ok(Date.parse(seen.lastSeenAt) > Date.parse(s.createdAt), `${seen.lastSeenAt} after ${s.createdAt}`);
      assert.equal(seen.id, s.id, 'a session keeps its handle');
      // the handle is not the session id, nor the cookie
      const sid = decodeURIComponent(browser.cookie(env.base, 'bridge.sid')!).slice(2).split('.')[0]!;
      assert.ok(!s.id.includes(sid) && !cookie.includes(s.id));
      // every session of the tenant, and of every tenant
      assert.ok((await api(a, 'GET', '/sessions?tenant=t-acme')).body.sessions.some((x: any) => x.id === s.id));
      assert.ok((await api(a, 'GET', '/sessions')).body.sessions.some((x: any) => x.id === s.id));

      const del = await api(b, 'DELETE', `/sessions/${s.id}`);
      assert.equal(del.status, 204);
      assert.equal(await within2s(() => verifyStatus(a, cookie), (st) => st === 401), 401, 'the instance the browser signed in on');
      assert.equal(await verifyStatus(b, cookie), 401);
      assert.equal((await api(a, 'DELETE', `/sessions/${s.id}`)).status, 404, 'already ended');
      assert.equal((await api(a, 'DELETE', '/sessions/not-a-handle')).status, 404);
      const audit = await api(a, 'GET', '/audit?action=admin.sessions.end');
      assert.ok(audit.body.audit.some((e: any) => e.actor === 'operator:token' && e.target === 'prod/user/t-acme/wangwu'), JSON.stringify(audit.body));
    });

    it('POST /admin/api/tenants/{tenantId}/users/{userName}/end-sessions ends all of them, on every instance', async () => {
      const one = new Browser();
      const two = new Browser();
      await signIn(env, one, 'lisi', 'acme');
      await signIn(env, two, 'lisi', 'acme');
      const other = new Browser();
      await signIn(env, other, 'wangwu', 'acme');
      const res = await api(a, 'POST', '/tenants/t-acme/users/lisi/end-sessions');
      assert.equal(res.status, 200);
      assert.ok(res.body.ended >= 2, JSON.stringify(res.body));
      for (const br of [one, two]) assert.equal(await within2s(() => verifyStatus(b, cookieOf(env, br)), (st) => st === 401), 401);
      assert.equal(await verifyStatus(b, cookieOf(env, other)), 200, 'another user keeps their session');
      assert.deepEqual((await api(b, 'GET', '/sessions?tenant=t-acme&user=lisi')).body.sessions, []);
      // and the whole tenant
      const all = await api(b, 'POST', '/tenants/t-acme/end-sessions');
      assert.equal(all.status, 200);
      assert.ok(all.body.ended >= 1);
      assert.equal(await within2s(() => verifyStatus(a, cookieOf(env, other)), (st) => st === 401), 401);
    });

    it('GET /admin/api/syncs: newest first, with tenant, result, reason, size and duration; failures too; never bodies', async () => {
      await env.sync('authSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'lisi', name: '李四', orgCode: '10', role: 'user', enable: 'false' }], currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
      // a push whose signature is wrong: recorded, without a tenant (nothing unverified is believed)
      const raw = JSON.stringify({ instanceId: 'inst-x', tenantId: 't-forged', tenantCode: 'forged', name: 'x', domainName: 'https://x', flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
      const forged = await fetch(`${a}/produceAPI/v2/tenantSync`, { method: 'POST', headers: signedHeaders(raw, { key: 'not-the-kit-key' }), body: raw });
      assert.equal(((await forged.json()) as { resultCode: string }).resultCode, '000001');

      const res = await api(b, 'GET', '/syncs?limit=5');
      assert.equal(res.status, 200);
      assert.equal(res.body.syncs.length, 5);
      const [newest, previous] = res.body.syncs;
      assert.deepEqual({ interface: newest.interface, resultCode: newest.resultCode, tenantId: newest.tenantId }, { interface: 'tenantSync', resultCode: '000001', tenantId: undefined });
      assert.match(newest.resultMsg, /token is invalid/);
      assert.deepEqual({ interface: previous.interface, resultCode: previous.resultCode, tenantId: previous.tenantId }, { interface: 'authSync', resultCode: '000000', tenantId: 't-acme' });
      assert.ok(previous.bytes > 50 && previous.ms >= 0, JSON.stringify(previous));
      assert.ok(Date.parse(newest.at) >= Date.parse(previous.at));
      const text = JSON.stringify((await api(b, 'GET', '/syncs?limit=100')).body);
      assert.doesNotMatch(text, /secret-t-acme|clientSecret|李四/, 'no body content');
      // filters
      const failed = (await api(b, 'GET', '/syncs?result=failed')).body.syncs;
      assert.ok(failed.length >= 1 && failed.every((s: any) => s.resultCode !== '000000'));
      const acmeAuth = (await api(b, 'GET', '/syncs?tenant=t-acme&interface=authSync')).body.syncs;
      assert.ok(acmeAuth.length >= 2 && acmeAuth.every((s: any) => s.tenantId === 't-acme' && s.interface === 'authSync'));
      assert.equal((await api(b, 'GET', '/syncs?interface=nope')).status, 400);
    });

    it('why would this user be refused now: the sign-in decision, not a copy', async () => {
      const lisi = await api(a, 'GET', '/tenants/t-acme/users/lisi/decision');
      assert.deepEqual({ allowed: lisi.body.allowed, code: lisi.body.code }, { allowed: false, code: 'user_disabled' });
      const wangwu = await api(a, 'GET', '/tenants/t-acme/users/wangwu/decision');
      assert.deepEqual({ allowed: wangwu.body.allowed, role: wangwu.body.role }, { allowed: true, role: 'admin' });
      assert.equal((await api(a, 'GET', '/tenants/t-acme/users/nobody/decision')).body.code, 'not_authorized');
      assert.equal((await api(a, 'GET', '/tenants/t-gone/users/lisi/decision')).body.code, 'tenant_inactive');
      // the audit log says when and by what push lisi lost access
      const deprovisioned = (await api(b, 'GET', '/audit?action=user.deprovisioned&tenant=t-acme')).body.audit;
      assert.ok(deprovisioned.some((e: any) => e.target === 'prod/user/t-acme/lisi' && e.actor === 'marketplace'), JSON.stringify(deprovisioned));
      // and the sign-in agrees: lisi is refused, with the same code
      const browser = new Browser();
      const form = last(await browser.follow(`${env.base}/login?tenant=acme`));
      const end = last(await browser.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! }));
      assert.equal(end.status, 403);
      assert.match(end.body, /user_disabled/);
    });

    it('GET /admin/api/keys and POST /admin/api/keys/rotate: a new key published on every instance', async () => {
      const before = (await api(a, 'GET', '/keys')).body.keys;
      assert.ok(before.some((k: any) => k.state === 'signing'));
      const res = await api(a, 'POST', '/keys/rotate');
      assert.equal(res.status, 200);
      assert.equal(res.body.key.state, 'published');
      const kid = res.body.key.kid;
      const jwks = await within2s(async () => (await (await fetch(`${b}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }, (j) => j.keys.some((k) => k.kid === kid));
      assert.ok(jwks.keys.some((k) => k.kid === kid), 'the other instance publishes it');
      const audit = await api(b, 'GET', '/audit?action=admin.keys.rotate');
      assert.ok(audit.body.audit.some((e: any) => e.target === `key/${kid}`));
    });

    it('GET /admin/api/health and /admin/api/tenants/{id}: the store, the figures, the departments', async () => {
      const h = await api(a, 'GET', '/health');
      assert.equal(h.status, 200);
      assert.equal(h.body.ready, true);
      assert.ok(h.body.figures.some((f: any) => f.metric === 'bridge_sync_calls_total' && f.value > 0));
      const t = await api(a, 'GET', '/tenants/t-acme');
      assert.equal(t.status, 200);
      assert.equal(t.body.tenant.tenantCode, 'acme');
      assert.deepEqual(t.body.orgs.map((o: any) => [o.orgCode, o.parentCode]).sort(), [['1', ''], ['10', '1']]);
      assert.deepEqual((await api(a, 'GET', '/tenants/t-acme/orgs')).body.orgs.length, 2);
      assert.equal((await api(a, 'GET', '/tenants/t-none')).status, 404);
      assert.equal((await api(a, 'GET', '/no-such-route')).status, 404);
      assert.equal((await api(a, 'GET', `/tenants/${'x'.repeat(65)}/users`)).status, 400);
      assert.equal((await api(a, 'GET', '/sessions?user=lisi')).status, 400);
    });
  });
}

apiSuite('embedded', async () => {
  const opened = tempEmbeddedStore('bridge-console');
  const env = await startLoginEnv(opened.store, consoleSettings());
  return {
    env,
    bases: [env.base, env.base],
    async close() {
      await env.close();
      await opened.cleanup();
    },
  };
});

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('on Redis, two gateway instances', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  apiSuite('redis, two instances', async () => {
    return twoInstancesOnRedis(redis!.url, 'console', consoleSettings());
  });
});

describe('console with the store down', needRedis, () => {
  let redis: RedisServer | null = null;
  let gw: TestGateway;
  let server: Server;
  let base: string;
  let store: Store;
  before(async () => {
    redis = await startRedis();
    store = await openRedisStore(redis!.url, { keyPrefix: `console-down:${randomUUID()}:`, commandTimeoutMs: 500 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gw = await buildGateway(store, { publicUrl: base, port, ...consoleSettings() });
    server = createServer(gw.listener);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await gw.close();
    await store.close().catch(() => undefined);
    await redis?.stop();
  });

  it('answers 503 quickly and says why (API and pages); back to 200 when the store returns', async () => {
    assert.equal((await api(base, 'GET', '/tenants')).status, 200);
    redis!.kill();
    const started = Date.now();
    const res = await api(base, 'GET', '/tenants');
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error, 'store_unavailable');
    const health = await api(base, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.ready, false);
    const page = await fetch(`${base}/admin/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'accept-language': 'en' } });
    assert.equal(page.status, 503);
    assert.match(await page.text(), /<html lang="en">/);
    assert.ok(Date.now() - started < 10_000, 'no hang');
    await redis!.restart();
    assert.equal((await within2s(() => api(base, 'GET', '/tenants'), (r) => r.status === 200)).status, 200);
  });
});

// Who may use the console (contract §4): off = 404; the token (bearer or its sign-in form, ≥ 32
// characters); admins of operator tenants through the normal sign-in. Everyone else is turned away:
// no credentials, a wrong token, a signed-in non-admin, an admin of a tenant that is not an
// operator tenant. Plus its page headers, its own rate limit and both languages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadSettings } from '../../src/config/load.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';
import { ADMIN_TOKEN, api, consoleSettings, signIn } from './console-env.ts';

describe('console switched off', () => {
  let opened: OpenedStore;
  let env: LoginEnv;
  before(async () => {
    opened = tempEmbeddedStore('bridge-console-off');
    env = await startLoginEnv(opened.store);
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  it('answers 404 for /admin, its pages and its API, token or not', async () => {
    for (const path of ['/admin', '/admin/', '/admin/login', '/admin/tenants', '/admin/api/tenants']) {
      const res = await fetch(`${env.base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(res.status, 404, path);
    }
  });

  it('a token shorter than 32 characters stops the start-up', () => {
    assert.throws(() => loadSettings({ env: { BRIDGE_ADMIN_TOKEN: 'too-short' }, argv: [], overrides: { store: 'memory' } }), /admin\.token/);
    const ok = loadSettings({ env: { BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN, BRIDGE_ADMIN_OPERATOR_TENANTS: 't-ops, t-two' }, argv: [], overrides: { store: 'memory' } });
    assert.equal(ok.admin.token, ADMIN_TOKEN);
    assert.deepEqual(ok.admin.operatorTenants, ['t-ops', 't-two']);
  });
});

describe('console authorization', () => {
  let opened: OpenedStore;
  let env: LoginEnv;
  before(async () => {
    opened = tempEmbeddedStore('bridge-console-auth');
    env = await startLoginEnv(opened.store, consoleSettings());
    await env.addTenant('t-ops', 'ops', [
      { userName: 'opsadmin', name: '运维管理员', role: 'admin' },
      { userName: 'opsuser', name: '运维用户', role: 'user' },
    ]);
    await env.addTenant('t-acme', 'acme', [{ userName: 'boss', name: '老板', role: 'admin' }]);
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  const get = (b: Browser, path: string, headers: Record<string, string> = {}) => b.request(`${env.base}${path}`, { headers });

  it('no credentials: the API answers 401 JSON, pages send to the console sign-in', async () => {
    const res = await fetch(`${env.base}/admin/api/tenants`);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'unauthenticated');
    const page = await get(new Browser(), '/admin/tenants');
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), `${env.base}/admin/login`);
    const del = await fetch(`${env.base}/admin/api/sessions/x`, { method: 'DELETE' });
    assert.equal(del.status, 401);
  });

  it('a wrong token, another scheme or a token of another length: 401, and nothing is done', async () => {
    for (const authorization of [`Bearer ${ADMIN_TOKEN.slice(0, -1)}x`, `Bearer ${ADMIN_TOKEN}x`, 'Bearer short', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, `Bearer`, `${ADMIN_TOKEN}`]) {
      const res = await fetch(`${env.base}/admin/api/keys/rotate`, { method: 'POST', headers: { authorization } });
      assert.equal(res.status, 401, authorization);
      assert.match(res.headers.get('content-type') ?? '', /json/);
    }
    // positive control
    assert.equal((await api(env.base, 'GET', '/tenants')).status, 200);
  });

  it('a signed-in user who is not an admin, and an admin of a tenant that is not an operator tenant: 403', async () => {
    for (const [user, tenant] of [
      ['opsuser', 'ops'],
      ['boss', 'acme'],
    ] as const) {
      const b = new Browser({ accept: 'application/json' });
      await signIn(env, b, user, tenant);
      const res = await get(b, '/admin/api/tenants');
      assert.equal(res.status, 403, `${user}: ${res.body}`);
      assert.equal(JSON.parse(res.body).error, 'forbidden');
      const page = await get(b, '/admin/tenants', { accept: 'text/html' });
      assert.equal(page.status, 403);
      assert.match(page.body, new RegExp(user));
    }
  });

  it("an operator tenant's admin, through the normal sign-in: pages and API; state changes need the CSRF token", async () => {
    const b = new Browser({ 'accept-language': 'en' });
    await signIn(env, b, 'opsadmin', 'ops', `${env.base}/admin/tenants`);
    const page = await get(b, '/admin/tenants');
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in as 运维管理员 · ops/);
    const who = JSON.parse((await get(b, '/admin/api/whoami')).body);
    assert.equal(who.kind, 'tenant-admin');
    assert.ok(who.csrf);
    // without the token, with a wrong one, with the right one
    assert.equal((await b.request(`${env.base}/admin/api/keys/rotate`, { method: 'POST' })).status, 403);
    assert.equal((await b.request(`${env.base}/admin/api/keys/rotate`, { method: 'POST', headers: { 'x-csrf-token': `${who.csrf}x` } })).status, 403);
    const ok = await b.request(`${env.base}/admin/api/keys/rotate`, { method: 'POST', headers: { 'x-csrf-token': who.csrf } });
    assert.equal(ok.status, 200);
    const audit = (await api(env.base, 'GET', '/audit?action=admin.keys.rotate')).body.audit;
    assert.match(audit[0].actor, /^user:u_/, 'the console action names the operator');
  });

  it("an operator the marketplace demotes loses the console at once (the sign-in's identity follows the directory)", async () => {
    const b = new Browser({ accept: 'application/json' });
    await signIn(env, b, 'opsadmin', 'ops');
    assert.equal((await get(b, '/admin/api/tenants')).status, 200);
    const authSync = (role: string) =>
      env.sync('authSync', { instanceId: 'inst-t-ops', tenantId: 't-ops', appId: 'app-1', userList: [{ userName: 'opsadmin', name: '运维管理员', orgCode: '10', role, enable: 'true' }], currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
    await authSync('user');
    assert.equal((await get(b, '/admin/api/tenants')).status, 403);
    await authSync('admin');
    assert.equal((await get(b, '/admin/api/tenants')).status, 200, 'and back when promoted again');
  });

  it('the token sign-in form: a wrong token is refused and audited; the right one opens the console, whose forms carry the CSRF token', async () => {
    const b = new Browser({ 'accept-language': 'en' });
    const form = await get(b, '/admin/login');
    assert.equal(form.status, 200);
    assert.match(form.body, /name="token"/);
    assert.match(form.body, /Sign in with your company account/);
    const wrong = last(await b.submit(`${env.base}/admin/login`, { token: 'x'.repeat(40) }));
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /not the admin token/);
    assert.ok(!b.cookie(env.base, 'bridge.admin'));
    const refusals = (await api(env.base, 'GET', '/audit?action=admin.login.refused')).body.audit;
    assert.equal(refusals[0].detail.reason, 'wrong_token');

    const hops = await b.submit(`${env.base}/admin/login`, { token: ADMIN_TOKEN });
    assert.equal(hops[0]!.status, 303);
    assert.match(hops[0]!.headers.get('set-cookie') ?? '', /bridge\.admin=.*HttpOnly.*SameSite=Strict/i);
    const keys = last(hops[0]!.headers.get('location')?.endsWith('/admin') ? await b.follow(`${env.base}/admin/keys`) : hops);
    assert.equal(keys.status, 200);
    const csrf = hiddenInput(keys.body, 'csrf');
    assert.ok(csrf);
    assert.equal(last(await b.submit(`${env.base}/admin/keys/rotate`, {})).status, 403, 'no CSRF token');
    const rotated = await b.submit(`${env.base}/admin/keys/rotate`, { csrf: csrf! });
    assert.equal(rotated[0]!.status, 303);
    assert.match(last(rotated).body, /new signing key is published/);
    // sign-out ends the console session
    await b.submit(`${env.base}/admin/logout`, { csrf: csrf! });
    assert.equal((await get(b, '/admin/tenants')).status, 303);
  });

  it('every console page carries the gateway page headers and is in both languages', async () => {
    const b = new Browser();
    await b.submit(`${env.base}/admin/login`, { token: ADMIN_TOKEN });
    for (const p of ['/admin/login', '/admin/tenants', '/admin/tenants/t-ops', '/admin/tenants/t-ops/users/opsadmin', '/admin/sessions', '/admin/syncs', '/admin/audit', '/admin/keys', '/admin/health']) {
      const zh = await get(b, p, { 'accept-language': 'zh-CN,zh;q=0.9' });
      assert.equal(zh.status, 200, p);
      assert.equal(zh.headers.get('x-frame-options'), 'DENY', p);
      assert.match(zh.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, p);
      assert.equal(zh.headers.get('x-content-type-options'), 'nosniff');
      assert.match(zh.headers.get('cache-control') ?? '', /no-store/);
      assert.match(zh.body, /<html lang="zh-CN">/, `${p} in Simplified Chinese`);
      const en = await get(b, `${p}?lang=en`);
      assert.match(en.body, /<html lang="en">/, p);
      const title = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1];
      assert.notEqual(title(zh.body), title(en.body), `${p}: the page is translated`);
    }
    const api401 = await fetch(`${env.base}/admin/api/tenants`);
    assert.equal(api401.headers.get('x-frame-options'), 'DENY');
  });
});

describe('console rate limit', () => {
  let opened: OpenedStore;
  let env: LoginEnv;
  before(async () => {
    opened = tempEmbeddedStore('bridge-console-limit');
    env = await startLoginEnv(opened.store, consoleSettings({ limits: { enabled: true }, admin: { token: ADMIN_TOKEN, perClient: { points: 5, durationSec: 60 } } }));
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  it('its own limit per client: 429 with Retry-After, for the token form too; other routes are not counted', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await api(env.base, 'GET', '/tenants')).status, 200);
    const refused = await api(env.base, 'GET', '/tenants');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(refused.body.error, 'rate_limited');
    const form = await fetch(`${env.base}/admin/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${ADMIN_TOKEN}` });
    assert.equal(form.status, 429, 'guessing the token is limited too');
    // positive control: the gateway's other routes are not held back by the console's limit
    assert.equal((await fetch(`${env.base}/healthz`)).status, 200);
  });
});

describe('console in proxy mode', () => {
  let opened: OpenedStore;
  let env: LoginEnv;
  let app: Server;
  before(async () => {
    app = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`the app: ${req.url}`));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    opened = tempEmbeddedStore('bridge-console-proxy');
    env = await startLoginEnv(opened.store, consoleSettings({ app: { url: `http://127.0.0.1:${(app.address() as AddressInfo).port}`, proxy: true } }));
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
    app.closeAllConnections();
    await new Promise((r) => app.close(r));
  });

  it('/admin is the gateway’s console, with its headers; the app’s other paths are still the app’s', async () => {
    const page = await fetch(`${env.base}/admin/login`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.match(await page.text(), /name="token"/);
    assert.equal((await api(env.base, 'GET', '/tenants')).status, 200);
    const other = await fetch(`${env.base}/administrator`, { headers: { accept: 'application/json' } });
    assert.equal(other.status, 401, 'an app path: sign in first (proxy mode), not the console');
  });
});

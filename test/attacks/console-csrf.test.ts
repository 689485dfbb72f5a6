// Attack: cross-site request forgery against the operator console. Another site makes a signed-in
// operator's browser post "end this session" or "rotate the keys" (the cookies go along when the
// browser sends them), or logs the browser into the console with the attacker's token. Every
// state-changing call made with a session needs that session's CSRF token; the token form only
// takes posts from the console's own origin. Positive control: the console's own forms work.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, hiddenInput } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';
import { ADMIN_TOKEN, api, consoleSettings, cookieOf, signIn, verifyStatus } from '../admin/console-env.ts';

describe('console CSRF', () => {
  let opened: OpenedStore;
  let env: LoginEnv;
  before(async () => {
    opened = tempEmbeddedStore('bridge-console-csrf');
    env = await startLoginEnv(opened.store, consoleSettings());
    await env.addTenant('t-ops', 'ops', [{ userName: 'opsadmin', name: 'Ops', role: 'admin' }]);
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  const post = (b: Browser, path: string, form: Record<string, string>, origin = 'https://evil.example') =>
    b.request(`${env.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body: new URLSearchParams(form).toString() });

  it("a forged form with the operator's cookies ends nothing and rotates nothing; the console's own form does", async () => {
    const victim = new Browser();
    await signIn(env, victim, 'lisi', 'acme');
    const operator = new Browser();
    await signIn(env, operator, 'opsadmin', 'ops');
    const sessions = (await api(env.base, 'GET', '/sessions?tenant=t-acme&user=lisi')).body.sessions;
    assert.equal(sessions.length, 1);
    const keysBefore = (await api(env.base, 'GET', '/keys')).body.keys.length;

    // the forged posts: no token, an empty one, another session's token
    const other = new Browser();
    await signIn(env, other, 'opsadmin', 'ops');
    const otherPage = await other.request(`${env.base}/admin/keys`);
    const othersToken = hiddenInput(otherPage.body, 'csrf')!;
    const forged: Array<Record<string, string>> = [{ id: sessions[0].id }, { id: sessions[0].id, csrf: '' }, { id: sessions[0].id, csrf: othersToken }];
    for (const form of forged) {
      const res = await post(operator, '/admin/sessions/end', form);
      assert.equal(res.status, 403, JSON.stringify(form));
    }
    assert.equal((await post(operator, '/admin/keys/rotate', {})).status, 403);
    assert.equal((await operator.request(`${env.base}/admin/api/sessions/${sessions[0].id}`, { method: 'DELETE' })).status, 403);
    assert.equal((await operator.request(`${env.base}/admin/api/tenants/t-acme/end-sessions`, { method: 'POST' })).status, 403);
    assert.equal(await verifyStatus(env.base, cookieOf(env, victim)), 200, 'the victim session lives on');
    assert.equal((await api(env.base, 'GET', '/keys')).body.keys.length, keysBefore, 'no key was added');

    // positive control: the operator's own page and its token
    const page = await operator.request(`${env.base}/admin/tenants/t-acme/users/lisi`);
    const csrf = hiddenInput(page.body, 'csrf')!;
    assert.notEqual(csrf, othersToken, 'each session has its own token');
    const ok = await post(operator, '/admin/sessions/end', { id: sessions[0].id, csrf, back: '/admin/sessions' }, new URL(env.base).origin);
    assert.equal(ok.status, 303);
    assert.equal(await verifyStatus(env.base, cookieOf(env, victim)), 401);
  });

  it('login CSRF: the token form refuses posts from another origin; a back link never leaves the console', async () => {
    const b = new Browser();
    const forged = await post(b, '/admin/login', { token: ADMIN_TOKEN });
    assert.equal(forged.status, 403);
    assert.equal(b.cookie(env.base, 'bridge.admin'), undefined);
    const own = await post(b, '/admin/login', { token: ADMIN_TOKEN }, new URL(env.base).origin);
    assert.equal(own.status, 303);
    assert.ok(b.cookie(env.base, 'bridge.admin'));
    // an open redirect through `back` is not possible
    const page = await b.request(`${env.base}/admin/keys`);
    const csrf = hiddenInput(page.body, 'csrf')!;
    const res = await post(b, '/admin/sessions/end', { id: 'x'.repeat(60), csrf, back: '//evil.example/admin' }, new URL(env.base).origin);
    assert.equal(res.status, 303);
    assert.equal(new URL(res.headers.get('location')!).origin, new URL(env.base).origin);
  });
});

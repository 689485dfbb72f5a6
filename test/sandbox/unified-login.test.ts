// The KooGallery unified login page stand-in and the direct issueCode helper.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLIENT_ID, location, redeem, REDIRECT_URI, startFixture, str, userinfo, type Fixture } from './helpers.ts';

describe('OneAccess sandbox: unified login page', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
    fx.sandbox.registerApp({ appId: 'app-1', callbackUrl: REDIRECT_URI });
  });
  after(() => fx.sandbox.close());

  const unifiedOrigin = (): string => new URL(fx.sandbox.unifiedLoginUrl).origin;

  test('has its own origin and the real page shape', async () => {
    const url = new URL(fx.sandbox.unifiedLoginUrl);
    assert.equal(url.pathname, '/unified-login/');
    assert.equal(url.hash, '#/portal-login');
    assert.ok(![fx.a.origin, fx.b.origin].includes(url.origin));
    const res = await fetch(fx.sandbox.unifiedLoginUrl);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /location\.hash/);
    assert.match(html, /name="tenant" value="t-b"/);
  });

  test('a pick ends at the app callback with code and tenant, no state; the code is redeemable there', async () => {
    for (const tenantRef of ['t-a', 't-a-code']) {
      const res = await fetch(`${unifiedOrigin()}/unified-login/login`, {
        method: 'POST',
        body: new URLSearchParams({ appId: 'app-1', tenant: tenantRef, user: 'zhangsan01' }),
        redirect: 'manual',
      });
      const to = location(res);
      assert.equal(`${to.origin}${to.pathname}`, REDIRECT_URI);
      assert.deepEqual([...to.searchParams.keys()].sort(), ['code', 'tenant']);
      assert.equal(to.searchParams.get('tenant'), 't-a');
      const token = await redeem(fx.a.origin, str(to.searchParams.get('code')), { redirect_uri: REDIRECT_URI });
      assert.equal(token.status, 200);
      assert.equal((await userinfo(fx.a.origin, str(token.body.access_token))).body.tenant, 't-a');
    }
  });

  test('an unknown app, tenant or user is refused', async () => {
    const post = (form: Record<string, string>): Promise<Response> =>
      fetch(`${unifiedOrigin()}/unified-login/login`, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' });
    assert.equal((await post({ appId: 'nope', tenant: 't-a', user: 'lisi02' })).status, 400);
    assert.equal((await post({ appId: 'app-1', tenant: 't-x', user: 'lisi02' })).status, 400);
    assert.equal((await post({ appId: 'app-1', tenant: 't-a', user: 'ghost' })).status, 400);
  });

  test('issueCode gives a code redeemable once at that tenant, bound to its redirect URI', async () => {
    const code = fx.sandbox.issueCode({ tenantId: 't-b', clientId: CLIENT_ID, userName: 'lisi02', redirectUri: REDIRECT_URI });
    assert.equal((await redeem(fx.b.origin, code, { redirect_uri: 'https://isv.example.com/x' })).body.error, 'invalid_grant');
    const other = fx.sandbox.issueCode({ tenantId: 't-b', clientId: CLIENT_ID, userName: 'lisi02', redirectUri: REDIRECT_URI });
    const ok = await redeem(fx.b.origin, other, { redirect_uri: REDIRECT_URI });
    assert.equal(ok.status, 200);
    assert.throws(() => fx.sandbox.issueCode({ tenantId: 't-b', clientId: CLIENT_ID, userName: 'ghost' }), { name: 'SandboxError', code: 'unknown_user' });
  });
});

// OAuth 2.0 side of the OneAccess sandbox, over real HTTP (spec §3).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  authorizeUrl,
  Browser,
  CLIENT_ID,
  CLIENT_SECRET,
  location,
  pkce,
  redeem,
  REDIRECT_URI,
  signInOAuth,
  startFixture,
  str,
  tokenRequest,
  userinfo,
  type Fixture,
} from './helpers.ts';

describe('OneAccess sandbox: OAuth 2.0', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(() => fx.sandbox.close());

  test('each tenant has its own origin', () => {
    assert.match(fx.a.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(fx.a.origin, fx.b.origin);
  });

  test('full code flow through the login form, state echoed, userinfo without sub', async () => {
    const browser = new Browser();
    const callback = await signInOAuth(browser, fx.a.origin, 'zhangsan01', { state: 'xyz123' });
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
    assert.equal(callback.searchParams.get('state'), 'xyz123');
    const code = str(callback.searchParams.get('code'));

    const token = await redeem(fx.a.origin, code, { redirect_uri: REDIRECT_URI });
    assert.equal(token.status, 200);
    assert.equal(token.body.token_type, 'Bearer');
    assert.equal(token.body.expires_in, 7200);
    assert.equal(token.body.scope, 'get_user_info');
    str(token.body.refresh_token);

    const info = await userinfo(fx.a.origin, str(token.body.access_token));
    assert.equal(info.status, 200);
    assert.deepEqual(info.body, {
      id: 'u-1',
      userName: 'zhangsan01',
      name: '张三',
      email: 'zs@example.com',
      mobile: '13800000000',
      role: 'admin',
      organizationName: '开发部',
      organizationCode: '10000',
      userId: 'u-1',
      projectName: 'Tenant t-a',
      tenant: 't-a',
    });
    assert.equal('sub' in info.body, false);
  });

  test('an SSO session skips the form; state is omitted when not sent', async () => {
    const browser = new Browser();
    await signInOAuth(browser, fx.a.origin, 'lisi02');
    const again = location(await browser.get(authorizeUrl(fx.a.origin)));
    assert.ok(again.searchParams.get('code'));
    assert.equal(again.searchParams.has('state'), false);
    // the cookie of tenant A means nothing to tenant B
    const other = await browser.get(authorizeUrl(fx.b.origin));
    assert.equal(other.status, 200);
    assert.match(await other.text(), /<form/);
  });

  test('a code is single use', async () => {
    const code = fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' });
    assert.equal((await redeem(fx.a.origin, code)).status, 200);
    const replay = await redeem(fx.a.origin, code);
    assert.equal(replay.status, 400);
    assert.deepEqual(replay.body, { error: 'invalid_grant', error_description: 'Invalid authorization code' });
  });

  test('an expired code is rejected', async () => {
    const code = fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' });
    fx.tick(fx.sandbox.settings.codeTtlSec * 1000 + 1);
    assert.equal((await redeem(fx.a.origin, code)).body.error, 'invalid_grant');
  });

  test("a code from tenant A is rejected at tenant B (and still works at A)", async () => {
    const code = fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' });
    const atB = await redeem(fx.b.origin, code);
    assert.equal(atB.status, 400);
    assert.equal(atB.body.error, 'invalid_grant');
    assert.equal((await redeem(fx.a.origin, code)).status, 200);
  });

  test('PKCE S256: matching verifier works, a wrong or missing one fails', async () => {
    const { verifier, challenge } = pkce();
    const pkceParams = { code_challenge: challenge, code_challenge_method: 'S256' };
    const browser = new Browser();
    const first = await signInOAuth(browser, fx.a.origin, 'lisi02', pkceParams);
    const ok = await redeem(fx.a.origin, str(first.searchParams.get('code')), { code_verifier: verifier });
    assert.equal(ok.status, 200);

    const second = location(await browser.get(authorizeUrl(fx.a.origin, pkceParams)));
    const wrong = await redeem(fx.a.origin, str(second.searchParams.get('code')), { code_verifier: pkce().verifier });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');

    const third = location(await browser.get(authorizeUrl(fx.a.origin, pkceParams)));
    assert.equal((await redeem(fx.a.origin, str(third.searchParams.get('code')))).body.error, 'invalid_grant');
  });

  test('PKCE with method plain is refused by redirecting an error', async () => {
    const res = await new Browser().get(authorizeUrl(fx.a.origin, { code_challenge: pkce().challenge, code_challenge_method: 'plain', state: 's1' }));
    const to = location(res);
    assert.equal(to.searchParams.get('error'), 'invalid_request');
    assert.equal(to.searchParams.get('state'), 's1');
  });

  test('authorize refuses an unregistered redirect_uri or client with a page, never a redirect', async () => {
    const badRedirect = await fetch(authorizeUrl(fx.a.origin, { redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' });
    assert.equal(badRedirect.status, 400);
    assert.equal(badRedirect.headers.get('location'), null);
    const badClient = await fetch(authorizeUrl(fx.a.origin, { client_id: 'nope' }), { redirect: 'manual' });
    assert.equal(badClient.status, 400);
  });

  test('without redirect_uri the single registered one is used', async () => {
    const url = new URL(authorizeUrl(fx.a.origin));
    url.searchParams.delete('redirect_uri');
    const form = await new Browser().post(`${fx.a.origin}/sandbox/login`, { userName: 'lisi02', continue: `${url.pathname}${url.search}` });
    const to = location(form);
    assert.equal(`${to.origin}${to.pathname}`, REDIRECT_URI);
    assert.equal((await redeem(fx.a.origin, str(to.searchParams.get('code')), { redirect_uri: REDIRECT_URI })).status, 200);
  });

  test('the login form refuses an unknown user and keeps the interrupted request', async () => {
    const url = new URL(authorizeUrl(fx.a.origin));
    const res = await new Browser().post(`${fx.a.origin}/sandbox/login`, { userName: 'ghost', continue: `${url.pathname}${url.search}` });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /name="continue" value="\/api\/v1\/oauth2\/authorize\?/);
  });

  test('token: redirect_uri must equal the authorize one when sent', async () => {
    const browser = new Browser();
    const cb = await signInOAuth(browser, fx.a.origin, 'lisi02');
    const res = await redeem(fx.a.origin, str(cb.searchParams.get('code')), { redirect_uri: 'https://isv.example.com/other' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
  });

  test('token: bad client credentials, missing grant type, unsupported grant type', async () => {
    const badSecret = await tokenRequest(fx.a.origin, { grant_type: 'authorization_code', code: 'x', client_id: CLIENT_ID, client_secret: 'wrong' });
    assert.equal(badSecret.status, 401);
    assert.deepEqual(badSecret.body, { error: 'invalid_client', error_description: 'Bad client credentials' });
    const noGrant = await tokenRequest(fx.a.origin, { client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    assert.equal(noGrant.status, 400);
    assert.equal(noGrant.body.error, 'invalid_request');
    const password = await tokenRequest(fx.a.origin, { grant_type: 'password', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    assert.equal(password.status, 400);
    assert.equal(password.body.error, 'unsupported_grant_type');
    const noCode = await tokenRequest(fx.a.origin, { grant_type: 'authorization_code', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    assert.equal(noCode.body.error, 'invalid_request');
  });

  test('token: HTTP Basic client authentication works and is counted separately', async () => {
    fx.sandbox.resetCounters();
    const code = fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' });
    const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');
    const res = await tokenRequest(fx.a.origin, { grant_type: 'authorization_code', code }, { authorization: `Basic ${basic}` });
    assert.equal(res.status, 200);
    await redeem(fx.a.origin, fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' }));
    const counters = fx.sandbox.counters('t-a');
    assert.deepEqual(counters.tokenClientAuth, { client_secret_post: 1, client_secret_basic: 1 });
    assert.equal(counters.calls.token, 2);
    assert.equal(fx.sandbox.counters('t-b').calls.token, 0);
  });

  test('refresh rotates: the new refresh token works, the old one is rejected', async () => {
    const code = fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' });
    const first = await redeem(fx.a.origin, code);
    const oldRefresh = str(first.body.refresh_token);
    const refresh = (value: string): ReturnType<typeof tokenRequest> =>
      tokenRequest(fx.a.origin, { grant_type: 'refresh_token', refresh_token: value, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    const second = await refresh(oldRefresh);
    assert.equal(second.status, 200);
    const newRefresh = str(second.body.refresh_token);
    assert.notEqual(newRefresh, oldRefresh);
    assert.equal((await userinfo(fx.a.origin, str(second.body.access_token))).status, 200);
    const replay = await refresh(oldRefresh);
    assert.equal(replay.status, 400);
    assert.deepEqual(replay.body, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
    assert.equal((await refresh(newRefresh)).status, 200);
  });

  test('an expired or foreign access token gets the 401 JSON on userinfo', async () => {
    fx.sandbox.settings.accessTokenTtlSec = 1;
    try {
      const token = await redeem(fx.a.origin, fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' }));
      assert.equal(token.body.expires_in, 1);
      const access = str(token.body.access_token);
      assert.equal((await userinfo(fx.a.origin, access)).status, 200);
      const atB = await userinfo(fx.b.origin, access);
      assert.equal(atB.status, 401);
      fx.tick(1001);
      const expired = await userinfo(fx.a.origin, access);
      assert.equal(expired.status, 401);
      assert.deepEqual(expired.body, { error: 'unauthorized', error_description: 'Full authentication is required to access this resource' });
    } finally {
      fx.sandbox.settings.accessTokenTtlSec = 7200;
    }
  });

  test("the generic userinfo profile releases only the five documented fields", async () => {
    fx.sandbox.settings.userinfoProfile = 'generic';
    try {
      const token = await redeem(fx.a.origin, fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'zhangsan01' }));
      const info = await userinfo(fx.a.origin, str(token.body.access_token));
      assert.deepEqual(Object.keys(info.body).sort(), ['email', 'id', 'mobile', 'name', 'userName']);
    } finally {
      fx.sandbox.settings.userinfoProfile = 'joint-operation';
    }
  });

  test('logout clears the SSO session and redirects to redirect_url', async () => {
    const browser = new Browser();
    await signInOAuth(browser, fx.a.origin, 'lisi02');
    fx.sandbox.resetCounters();
    const out = location(await browser.get(`${fx.a.origin}/api/v1/logout?redirect_url=${encodeURIComponent('https://isv.example.com/bye')}`));
    assert.equal(out.href, 'https://isv.example.com/bye');
    assert.equal(fx.sandbox.counters('t-a').calls.logout, 1);
    const again = await browser.get(authorizeUrl(fx.a.origin));
    assert.equal(again.status, 200, 'the login form is shown again');
    const bare = location(await browser.get(`${fx.a.origin}/api/v1/logout`));
    assert.equal(bare.pathname, '/sandbox/login');
  });

  test('updated users show in userinfo; removed users lose their tokens', async () => {
    const { sandbox } = fx;
    sandbox.addUser('t-a', { userName: 'wangwu03', name: '王五' });
    const token = await redeem(fx.a.origin, sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'wangwu03' }));
    const access = str(token.body.access_token);
    sandbox.updateUser('t-a', 'wangwu03', { role: 'admin' });
    assert.equal((await userinfo(fx.a.origin, access)).body.role, 'admin');
    sandbox.removeUser('t-a', 'wangwu03');
    assert.equal((await userinfo(fx.a.origin, access)).status, 401);
  });
});

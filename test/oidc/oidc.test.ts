// The gateway as an OpenID Connect provider, end to end over real HTTP: openid-client is the
// relying party, a cookie-keeping client walks /oidc/auth -> gateway sign-in -> OneAccess sandbox
// -> back to the app's redirect_uri (which nobody serves: the walk stops at its Location).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { decodeProtectedHeader } from 'jose';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { oidcWalker, type Walk } from './walk.ts';

type Walker = ReturnType<typeof oidcWalker>;

const APP_ORIGIN = 'http://127.0.0.1:9';
const REDIRECT = `${APP_ORIGIN}/cb`;
const SIGNED_OUT = `${APP_ORIGIN}/signed-out`;
const SECRET = 'app-secret-0123456789abcdefghijklmnop';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const paths = (w: Walk) => w.hops.map((h) => new URL(h.url).pathname);

describe('OIDC provider under /oidc', () => {
  let env: LoginEnv;
  let rp: client.Configuration;
  let walk: Walker['walk'], signInAtOneAccess: Walker['signInAtOneAccess'], authRequest: Walker['authRequest'], authorize: Walker['authorize'], signIn: Walker['signIn'];
  const users = [
    { userName: 'zhangsan', name: '张三', role: 'admin' as const },
    { userName: 'lisi', name: '李四' },
    { userName: 'wangwu', name: '王五' },
    { userName: 'zhaoliu', name: '赵六' },
  ];

  before(async () => {
    env = await startLoginEnv(new MemoryStore(), {
      // the contract's default page language: the logout pages are checked in it
      ui: { defaultLanguage: 'zh-CN' },
      oidc: {
        clients: [
          { client_id: 'app', client_secret: SECRET, redirect_uris: [REDIRECT], post_logout_redirect_uris: [SIGNED_OUT], token_endpoint_auth_method: 'client_secret_post' },
          { client_id: 'spa', redirect_uris: [REDIRECT] },
        ],
      },
    });
    await env.addTenant('t-acme', 'acme', users);
    rp = await client.discovery(new URL(`${env.base}/oidc`), 'app', SECRET, undefined, { execute: [client.allowInsecureRequests] });
    ({ walk, signInAtOneAccess, authRequest, authorize, signIn } = oidcWalker(env, rp, REDIRECT));
  });
  after(async () => {
    await env.close();
  });

  const gatewaySession = (b: Browser) => b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });

  it('discovery: the issuer under /oidc, code + S256, end_session, the gateway signing keys', async () => {
    const meta = rp.serverMetadata();
    assert.equal(meta.issuer, `${env.base}/oidc`);
    assert.equal(meta.authorization_endpoint, `${env.base}/oidc/auth`);
    assert.equal(meta.end_session_endpoint, `${env.base}/oidc/session/end`);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.ok((meta.scopes_supported as string[]).includes('tenant'), 'the tenant scope is offered');
    const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as { keys: Array<{ kid: string; d?: string }> };
    assert.deepEqual(jwks.keys.map((k) => k.kid), env.gw.keys.jwks().keys.map((k) => k.kid));
    assert.ok(jwks.keys.every((k) => k.d === undefined), 'no private parts');
  });

  it('code flow with PKCE through the gateway sign-in: ID token claims, userinfo, refresh', async () => {
    const b = new Browser();
    const { hops, callback, tokens } = await signIn(b, 'zhangsan');
    const visited = paths({ hops, page: hops.at(-1)! });
    assert.ok(visited.includes('/login') && visited.includes('/oauth/callback'), visited.join(' '));
    assert.equal(callback.searchParams.get('iss'), `${env.base}/oidc`);

    const dirUser = await env.gw.directory.getUser('prod', 't-acme', 'zhangsan');
    const claims = tokens.claims()!;
    assert.equal(claims.sub, dirUser!.sub);
    assert.equal(claims.iss, `${env.base}/oidc`);
    assert.equal(claims.aud, 'app');
    assert.equal(claims.tenant, 't-acme');
    assert.equal(claims.tenant_code, 'acme');
    assert.equal(claims.tenant_name, 'acme Ltd');
    assert.equal(claims.user_name, 'zhangsan');
    assert.equal(claims.name, '张三');
    assert.equal(claims.email, 'zhangsan@acme.example.com');
    assert.equal(claims.role, 'admin');
    assert.equal(claims.org_code, '10');
    assert.equal(claims.idp, 'oneaccess-oauth');
    assert.ok(!('mobile' in claims), 'absent values are omitted');
    assert.ok(claims.exp - claims.iat <= 300, 'no longer than the gateway identity token');
    const header = decodeProtectedHeader(tokens.id_token!);
    assert.equal(header.alg, 'RS256', 'what OpenID Connect relying parties expect by default');
    assert.equal(header.kid, env.gw.keys.signingKeyFor('RS256').kid);
    assert.equal((await gatewaySession(b)).status, 200, 'the sign-in also made a gateway session');

    const info = await client.fetchUserInfo(rp, tokens.access_token, claims.sub);
    assert.equal(info.tenant, 't-acme');
    assert.equal(info.user_name, 'zhangsan');
    assert.equal(info.role, 'admin');

    assert.ok(tokens.refresh_token, 'a refresh token');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token);
    assert.equal(refreshed.claims()!.sub, claims.sub);
    assert.equal(refreshed.claims()!.role, 'admin');
    assert.ok(refreshed.access_token, 'a new access token');
  });

  it('only the scopes asked for: openid alone gives sub and no identity claims', async () => {
    const { tokens } = await signIn(new Browser(), 'lisi', { scope: 'openid' });
    const claims = tokens.claims()!;
    assert.ok(claims.sub, 'sub is always there');
    assert.equal(claims.tenant, undefined);
    assert.equal(claims.name, undefined);
  });

  it('with a gateway session already, the flow completes without OneAccess; then without any interaction', async () => {
    const b = new Browser();
    const atGateway = await signInAtOneAccess(b, await walk(b, `${env.base}/login?tenant=acme`), 'lisi');
    assert.equal((await gatewaySession(b)).status, 200, atGateway.page.body);
    const oneAccessCalls = env.sandbox.counters('t-acme').calls.authorize;

    const first = await authorize(b, 'lisi');
    const [auth, interaction, resume, ...more] = paths(first);
    assert.equal(auth, '/oidc/auth');
    assert.match(interaction ?? '', /^\/oidc\/interaction\//);
    assert.match(resume ?? '', /^\/oidc\/auth\//);
    assert.deepEqual(more, [], 'no detour through /login');
    assert.equal(env.sandbox.counters('t-acme').calls.authorize, oneAccessCalls, 'OneAccess not visited');
    const tokens = await client.authorizationCodeGrant(rp, first.callback, first.checks);
    assert.equal(tokens.claims()!.user_name, 'lisi');

    const second = await authorize(b, 'lisi', { scope: 'openid profile tenant' });
    assert.deepEqual(paths(second), ['/oidc/auth'], 'provider session + gateway session: straight back to the app');
    // offline_access needs a (screenless) consent step each time: OpenID Connect Core 11
    const offline = await authorize(b, 'lisi');
    assert.equal(paths(offline).length, 3, paths(offline).join(' '));
    assert.ok(!paths(offline).includes('/login'));
  });

  it('the gateway session stays the authority: after gateway logout the provider asks again', async () => {
    const b = new Browser();
    await signIn(b, 'wangwu');
    await walk(b, `${env.base}/logout`);
    assert.equal((await gatewaySession(b)).status, 401);

    const silent = await authorize(b, 'wangwu', { prompt: 'none' });
    assert.equal(silent.callback.searchParams.get('error'), 'login_required');

    const again = await authorize(b, 'wangwu');
    assert.ok(paths(again).includes('/login'), paths(again).join(' '));
    await client.authorizationCodeGrant(rp, again.callback, again.checks);
  });

  it('prompt=login goes through the gateway sign-in again even with a session', async () => {
    const b = new Browser();
    const { tokens } = await signIn(b, 'zhangsan');
    const before = b.cookie(env.base, 'bridge.sid');
    const again = await signIn(b, 'zhangsan', { prompt: 'login' });
    assert.ok(paths(again).includes('/login'), paths(again).join(' '));
    assert.notEqual(b.cookie(env.base, 'bridge.sid'), before, 'a new gateway sign-in');
    assert.equal(again.tokens.claims()!.sub, tokens.claims()!.sub);
  });

  it('an id_token_hint for someone else than the signed-in person: login_required, no loop', async () => {
    const other = await signIn(new Browser(), 'zhangsan');
    const b = new Browser();
    await signIn(b, 'lisi');
    const hinted = await authorize(b, 'lisi', { id_token_hint: other.tokens.id_token! });
    assert.equal(hinted.callback.searchParams.get('error'), 'login_required');
  });

  it('a person switching at the gateway switches at the provider too, and keeps the new gateway session', async () => {
    const b = new Browser();
    const first = await signIn(b, 'lisi');
    await walk(b, `${env.base}/logout`);
    await signInAtOneAccess(b, await walk(b, `${env.base}/login?tenant=acme`), 'zhaoliu');

    const req = await authRequest();
    const w = await walk(b, req.url);
    // the provider ends its session of the previous person with a self-submitting form
    assert.equal(w.page.status, 200, w.page.body.slice(0, 300));
    const xsrf = hiddenInput(w.page.body, 'xsrf');
    const action = /action="([^"]+)"/.exec(w.page.body)?.[1];
    assert.ok(xsrf && action, w.page.body.slice(0, 300));
    const done = await walk(b, action.replace(/&amp;/g, '&'), { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf, logout: 'yes' }) });
    assert.ok(done.callback, done.page.body.slice(0, 300));
    const tokens = await client.authorizationCodeGrant(rp, done.callback, req.checks);
    assert.equal(tokens.claims()!.user_name, 'zhaoliu');
    assert.notEqual(tokens.claims()!.sub, first.tokens.claims()!.sub);
    assert.equal(JSON.parse((await gatewaySession(b)).body).user_name, 'zhaoliu');
  });

  it('RP-initiated logout: confirm page, back to post_logout_redirect_uri with state, gateway session and tokens ended', async () => {
    const b = new Browser();
    const { tokens } = await signIn(b, 'zhangsan');
    const url = client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: SIGNED_OUT, state: 'bye' });
    const ask = await b.request(url.href);
    assert.equal(ask.status, 200);
    assert.match(ask.body, /<html lang="zh-CN">/);
    assert.match(ask.body, /退出登录？/);
    const english = await b.request(url.href, { headers: { 'accept-language': 'en-US,en;q=0.8' } });
    assert.match(english.body, /<html lang="en">/);
    assert.match(english.body, /<title>Sign out\?<\/title>/);
    assert.match(english.body, />Sign out<\/button>/);
    // each visit starts a new confirmation: the latest form counts
    const xsrf = hiddenInput(english.body, 'xsrf');
    assert.ok(xsrf, ask.body.slice(0, 300));
    const done = await walk(b, `${env.base}/oidc/session/end/confirm`, { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf, logout: 'yes' }) });
    assert.equal(done.callback?.href, `${SIGNED_OUT}?state=bye`);
    assert.equal((await gatewaySession(b)).status, 401, 'gateway session ended');
    await assert.rejects(client.refreshTokenGrant(rp, tokens.refresh_token!), (e: unknown) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
    await assert.rejects(client.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub));

    const unregistered = await b.request(client.buildEndSessionUrl(rp, { post_logout_redirect_uri: 'https://evil.example.net/' }).href);
    assert.equal(unregistered.status, 400);
    assert.match(unregistered.body, /post_logout_redirect_uri not registered/);
  });

  it('deprovisioning the person stops refresh and userinfo at once', async () => {
    const b = new Browser();
    const { tokens } = await signIn(b, 'zhaoliu');
    await env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'zhaoliu', name: '赵六', orgCode: '10', role: 'user', enable: 'false' }], currentSyncTime: nextTimeStamp(), flag: 2, testFlag: 0, timeStamp: nextTimeStamp() });
    assert.equal((await gatewaySession(b)).status, 401);
    await assert.rejects(client.refreshTokenGrant(rp, tokens.refresh_token!), (e: unknown) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
    await assert.rejects(client.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub));
  });

  it('refuses a wrong PKCE verifier, and a reused code (revoking what the code gave)', async () => {
    const b = new Browser();
    const wrong = await authorize(b, 'lisi');
    await assert.rejects(
      client.authorizationCodeGrant(rp, wrong.callback, { ...wrong.checks, pkceCodeVerifier: client.randomPKCECodeVerifier() }),
      (e: unknown) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant',
    );

    const a = await authorize(b, 'lisi');
    const tokens = await client.authorizationCodeGrant(rp, a.callback, a.checks);
    await assert.rejects(client.authorizationCodeGrant(rp, a.callback, a.checks), (e: unknown) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
    await assert.rejects(client.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub), 'tokens from a replayed code are revoked');
  });

  it('refuses an unregistered redirect_uri and an unknown client with a page, never a redirect or a stack', async () => {
    const b = new Browser();
    const { url } = await authRequest({ redirect_uri: 'https://evil.example.net/cb' });
    const bad = await b.request(url);
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('location'), null);
    assert.match(bad.headers.get('content-type') ?? '', /html/);
    assert.match(bad.body, /redirect_uri/);
    assert.doesNotMatch(bad.body, /\n\s+at /);

    const unknown = new URL(url);
    unknown.searchParams.set('client_id', 'nobody');
    unknown.searchParams.set('redirect_uri', REDIRECT);
    const res = await b.request(unknown.href);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(res.body, /invalid_client/);

    const token = await fetch(`${env.base}/oidc/token`, { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, client_id: 'nobody', client_secret: 'x' }) });
    assert.equal(token.status, 401);
    assert.equal(((await token.json()) as { error: string }).error, 'invalid_client');
  });

  it('a public client must use PKCE', async () => {
    const spa = await client.discovery(new URL(`${env.base}/oidc`), 'spa', undefined, client.None(), { execute: [client.allowInsecureRequests] });
    const noPkce = client.buildAuthorizationUrl(spa, { redirect_uri: REDIRECT, scope: 'openid', state: 's1' });
    const w = await walk(new Browser(), noPkce.href);
    assert.equal(w.callback?.searchParams.get('error'), 'invalid_request');
    assert.match(w.callback?.searchParams.get('error_description') ?? '', /PKCE/);
  });

  it('after a signing-key rotation: the new key is published at once, and requests begun before finish', async () => {
    const b = new Browser();
    const req = await authRequest();
    const started = await walk(b, req.url);
    const signer = env.gw.keys.signingKeyFor('RS256').kid;
    const added = await env.gw.keys.rotate();
    const w = await signInAtOneAccess(b, started, 'lisi');
    assert.ok(w.callback, w.page.body.slice(0, 300));
    const tokens = await client.authorizationCodeGrant(rp, w.callback, req.checks);
    assert.equal(decodeProtectedHeader(tokens.id_token!).kid, signer, 'the new key signs only after its publication lead');
    const jwks = (await (await fetch(`${env.base}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> };
    assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), env.gw.keys.jwks().keys.map((k) => k.kid).sort());
    assert.ok(jwks.keys.some((k) => k.kid === added), 'the new ES256 key is published');
    assert.equal(jwks.keys.length, 4, 'a new RS256 key too, rotated the same way');
  });

  it('an expired or unknown interaction is a page, not an error dump', async () => {
    const res = await new Browser().request(`${env.base}/oidc/interaction/nope`, { headers: { 'accept-language': 'en' } });
    assert.equal(res.status, 400);
    assert.match(res.body, /expired or was already completed/);
  });
});

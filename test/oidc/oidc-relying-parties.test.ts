// What relying parties expect of the provider with their defaults, and tokens that live and die
// with the gateway session: RS256 unless the client chooses, discovery listing every algorithm,
// offline_access for clients that may refresh, claims read live from the session record, the
// idle timeout, and sign-out pages that never end a session without the person's click.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { SessionRecord } from '../../src/session/record.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore, type OpenedStore } from '../helpers/stores.ts';
import { Browser, hiddenInput } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { waitFor } from '../store/conformance.ts';
import { oidcWalker } from './walk.ts';

const APP_ORIGIN = 'http://127.0.0.1:9';
const REDIRECT = `${APP_ORIGIN}/cb`;
const SIGNED_OUT = `${APP_ORIGIN}/signed-out/`;
const SECRET = 'app-secret-0123456789abcdefghijklmnop';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const users = [
  { userName: 'zhangsan', name: '张三', role: 'admin' as const },
  { userName: 'lisi', name: '李四' },
];
const clients = [
  { client_id: 'plain', client_secret: SECRET, redirect_uris: [REDIRECT], post_logout_redirect_uris: [SIGNED_OUT] },
  { client_id: 'es', client_secret: SECRET, redirect_uris: [REDIRECT], id_token_signed_response_alg: 'ES256' },
  { client_id: 'no-refresh', client_secret: SECRET, redirect_uris: [REDIRECT], grant_types: ['authorization_code'] },
];

async function rpFor(env: LoginEnv, clientId: string): Promise<client.Configuration> {
  return client.discovery(new URL(`${env.base}/oidc`), clientId, SECRET, undefined, { execute: [client.allowInsecureRequests] });
}

/** the gateway session's id from the browser's signed cookie */
function gatewaySid(b: Browser, env: LoginEnv): string {
  const raw = decodeURIComponent(b.cookie(env.base, 'bridge.sid') ?? '');
  return raw.slice(2, raw.lastIndexOf('.'));
}

describe('OIDC provider as relying parties expect it', () => {
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(new MemoryStore(), { oidc: { clients } });
    await env.addTenant('t-acme', 'acme', users);
  });
  after(async () => {
    await env.close();
  });

  it('discovery lists RS256 (and the gateway\'s other algorithm) and back-channel logout', async () => {
    const meta = (await rpFor(env, 'plain')).serverMetadata();
    const algs = meta.id_token_signing_alg_values_supported as string[];
    assert.ok(algs.includes('RS256'), algs.join());
    assert.ok(algs.includes('ES256'), algs.join());
    assert.equal(meta.backchannel_logout_supported, true);
    assert.equal(meta.backchannel_logout_session_supported, true);
    assert.ok((meta.scopes_supported as string[]).includes('offline_access'));
  });

  it('RS256 ID tokens for a client that does not choose, ES256 for one that does; both verify against the JWKS', async () => {
    const jwks = createRemoteJWKSet(new URL(`${env.base}/oidc/jwks`));
    for (const [clientId, alg] of [['plain', 'RS256'], ['es', 'ES256']] as const) {
      const rp = await rpFor(env, clientId);
      const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(new Browser(), 'lisi');
      assert.equal(decodeProtectedHeader(tokens.id_token!).alg, alg, clientId);
      const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: `${env.base}/oidc`, audience: clientId, algorithms: [alg] });
      assert.equal(payload.user_name, 'lisi');
    }
  });

  it('offline_access is granted: refresh re-sending the scope asked for succeeds', async () => {
    const rp = await rpFor(env, 'plain');
    const scope = 'openid profile tenant offline_access';
    const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(new Browser(), 'lisi', { scope });
    assert.equal(tokens.scope, scope);
    assert.ok(tokens.refresh_token);
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token, { scope });
    assert.equal(refreshed.claims()!.user_name, 'lisi');
    assert.ok(refreshed.refresh_token);
  });

  it('a client without the refresh_token grant gets no refresh token, offline_access or not', async () => {
    const rp = await rpFor(env, 'no-refresh');
    const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(new Browser(), 'lisi');
    assert.equal(tokens.refresh_token, undefined);
    assert.doesNotMatch(tokens.scope ?? '', /offline_access/);
    assert.ok(tokens.access_token);
  });

  it('userinfo and the next ID token say what the gateway session record says now', async () => {
    const rp = await rpFor(env, 'plain');
    const b = new Browser();
    const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(b, 'zhangsan');
    assert.equal(tokens.claims()!.role, 'admin');
    // what the directory does to a live session when the marketplace demotes the person
    const store = env.gw.sessions.sessionStore;
    const sid = gatewaySid(b, env);
    const record = await new Promise<SessionRecord>((resolve, reject) => store.get(sid, (e, v) => (e || !v ? reject(e ?? new Error('no session')) : resolve(v))));
    record.identity!.claims = { ...record.identity!.claims, role: 'user', name: '张三丰' };
    await new Promise<void>((resolve, reject) => store.set(sid, record, (e) => (e ? reject(e) : resolve())));

    const info = await client.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub);
    assert.equal(info.role, 'user');
    assert.equal(info.name, '张三丰');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    assert.equal(refreshed.claims()!.role, 'user');
  });

  it('a demotion pushed by the marketplace reaches userinfo and the refreshed ID token', async () => {
    const rp = await rpFor(env, 'plain');
    const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(new Browser(), 'zhangsan');
    assert.equal(tokens.claims()!.role, 'admin');
    await env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'zhangsan', name: '张三', orgCode: '10', role: 'user', enable: 'true' }], currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
    await waitFor('userinfo to say user', async () => (await client.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub)).role === 'user');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    assert.equal(refreshed.claims()!.role, 'user');
  });

  it('GET /oidc/session/end in a browser with a gateway session but no provider session asks first', async () => {
    const b = new Browser();
    const w = oidcWalker(env, await rpFor(env, 'plain'), REDIRECT);
    await w.signInAtOneAccess(b, await w.walk(b, `${env.base}/login?tenant=acme`), 'lisi');
    const session = () => b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });
    assert.equal((await session()).status, 200);

    const ask = await b.request(`${env.base}/oidc/session/end?lang=en`);
    assert.equal(ask.status, 200);
    assert.match(ask.body, /<title>Sign out\?<\/title>/);
    assert.doesNotMatch(ask.body, /\.submit\(\)|onload/, 'nothing submits by itself');
    assert.equal((await session()).status, 200, 'the gateway session is untouched by the visit');

    const xsrf = hiddenInput(ask.body, 'xsrf')!;
    await b.request(`${env.base}/oidc/session/end/confirm`, { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf }) });
    assert.equal((await session()).status, 200, '"stay signed in" keeps it');
    const again = await b.request(`${env.base}/oidc/session/end`);
    const done = await b.request(`${env.base}/oidc/session/end/confirm`, { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf: hiddenInput(again.body, 'xsrf')!, logout: 'yes' }) });
    assert.equal(done.status, 303);
    assert.equal((await session()).status, 401, 'the click ends it');
  });

  it('a post_logout_redirect_uri that differs by a trailing slash: a sign-out page that explains the exact match', async () => {
    const rp = await rpFor(env, 'plain');
    const b = new Browser();
    const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(b, 'lisi');
    const url = client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: SIGNED_OUT.replace(/\/$/, '') });
    for (const [lang, title, words] of [
      ['en', 'Sign-out could not continue', /match a registered post_logout_redirect_uri exactly \(a trailing slash counts\)/],
      ['zh-CN', '无法完成退出登录', /完全一致/],
    ] as const) {
      const res = await b.request(url.href, { headers: { 'accept-language': lang, accept: 'text/html' } });
      assert.equal(res.status, 400);
      assert.match(res.body, new RegExp(`<html lang="${lang}">`));
      assert.match(res.body, new RegExp(`<title>${title}</title>`));
      assert.match(res.body, words);
      assert.doesNotMatch(res.body, /Sign-in could not continue/);
    }
  });
});

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');
let redis: RedisServer | null = null;
after(async () => {
  await redis?.stop();
});

for (const [label, open, skip] of [
  ['memory', async (): Promise<OpenedStore> => ({ store: new MemoryStore(), cleanup: async () => {} }), { skip: false }],
  ['Redis', async (): Promise<OpenedStore> => prefixedRedisStore((redis ??= await startRedis()), 'oidc-idle'), needRedis],
] as const) {
  describe(`OIDC tokens end with the gateway session's idle timeout (${label} store)`, skip, () => {
    let env: LoginEnv;
    let opened: OpenedStore;
    before(async () => {
      opened = await open();
      env = await startLoginEnv(opened.store, { oidc: { clients: clients.slice(0, 1) }, session: { idleTimeoutSec: 1 } });
      await env.addTenant('t-acme', 'acme', users);
    });
    after(async () => {
      await env?.close();
      await opened?.cleanup();
    });

    it('refresh and userinfo work while the session lives and stop once it went idle', async () => {
      const rp = await rpFor(env, 'plain');
      const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(new Browser(), 'lisi');
      const live = await client.refreshTokenGrant(rp, tokens.refresh_token!);
      // refresh is not the person's activity: it does not keep the gateway session alive
      await new Promise((r) => setTimeout(r, 1300));
      await assert.rejects(client.refreshTokenGrant(rp, live.refresh_token!), (e: unknown) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
      await assert.rejects(client.fetchUserInfo(rp, live.access_token, tokens.claims()!.sub));
    });
  });
}

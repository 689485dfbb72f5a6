// OpenID Connect Back-Channel Logout 1.0: a relying party with backchannel_logout_uri receives a
// signed logout token whenever the gateway session its tokens came from ends by RP-initiated
// logout, gateway logout, deprovisioning, the operator console or CAS single logout (timeouts and
// restarts: backchannel-outbox.test.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore, type OpenedStore } from '../helpers/stores.ts';
import { waitFor } from '../store/conformance.ts';
import { oidcWalker } from './walk.ts';
import { APP, clientsFor, FORM, REDIRECT, rpFor, startReceiver, users, verified, type Receiver } from './backchannel.ts';

const ADMIN_TOKEN = 'an-operator-token-of-at-least-32-characters';

function everyWay(label: string, open: () => Promise<OpenedStore>, skip: { skip: false } | { skip: string } = { skip: false }): void {
describe(`back-channel logout for every way a gateway session ends (${label} store)`, skip, () => {
  let env: LoginEnv;
  let receiver: Receiver;
  let opened: OpenedStore;
  before(async () => {
    receiver = await startReceiver();
    opened = await open();
    env = await startLoginEnv(opened.store, { oidc: { clients: clientsFor(receiver), backchannelSweepMs: 100 }, admin: { token: ADMIN_TOKEN }, login: { casSingleLogout: true } });
    await env.addTenant('t-acme', 'acme', users);
  });
  after(async () => {
    await env?.close();
    await opened?.cleanup();
    await receiver?.close();
  });

  /** signs in with with-sid and sub-only in one browser; returns their ID tokens' claims */
  async function signInBoth(b: Browser, userName: string) {
    const withSid = await oidcWalker(env, await rpFor(env, 'with-sid'), REDIRECT).signIn(b, userName);
    const subOnly = await oidcWalker(env, await rpFor(env, 'sub-only'), REDIRECT).signIn(b, userName);
    await oidcWalker(env, await rpFor(env, 'no-backchannel'), REDIRECT).signIn(b, userName);
    return { withSid: withSid.tokens, subOnly: subOnly.tokens };
  }

  async function expectLogoutTokens(from: number, idTokens: Awaited<ReturnType<typeof signInBoth>>) {
    await waitFor('two logout tokens', () => receiver.tokens.length >= from + 2);
    const got = receiver.tokens.slice(from);
    assert.equal(got.length, 2, 'one per relying party with a back-channel URI');
    const byAud = new Map(got.map((t) => [String(decodeJwt(t).aud), t]));
    const withSid = await verified(env, byAud.get('with-sid')!, 'with-sid');
    assert.equal(withSid.sub, idTokens.withSid.claims()!.sub);
    assert.ok(idTokens.withSid.claims()!.sid, 'the ID token carries sid for a client that requires it');
    assert.equal(withSid.sid, idTokens.withSid.claims()!.sid, 'the sid of its ID token');
    const subOnly = await verified(env, byAud.get('sub-only')!, 'sub-only');
    assert.equal(decodeProtectedHeader(byAud.get('sub-only')!).alg, 'ES256', 'signed like its ID tokens');
    assert.equal(subOnly.sub, idTokens.subOnly.claims()!.sub);
    assert.equal(subOnly.sid, undefined, 'no sid for a client that does not require the session');
  }

  it('positive control: nothing is sent while the session lives', async () => {
    const from = receiver.tokens.length;
    await signInBoth(new Browser(), 'lisi');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.tokens.length, from);
  });

  it('RP-initiated logout', async () => {
    const b = new Browser();
    const from = receiver.tokens.length;
    const tokens = await signInBoth(b, 'zhangsan');
    const rp = await rpFor(env, 'with-sid');
    const ask = await b.request(client.buildEndSessionUrl(rp, { id_token_hint: tokens.withSid.id_token!, post_logout_redirect_uri: `${APP}/bye` }).href);
    const done = await b.request(`${env.base}/oidc/session/end/confirm`, { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf: hiddenInput(ask.body, 'xsrf')!, logout: 'yes' }) });
    assert.equal(done.status, 303);
    await expectLogoutTokens(from, tokens);
  });

  it('gateway logout', async () => {
    const b = new Browser();
    const from = receiver.tokens.length;
    const tokens = await signInBoth(b, 'zhangsan');
    await b.request(`${env.base}/logout`);
    await expectLogoutTokens(from, tokens);
  });

  it('deprovisioning by the marketplace', async () => {
    const b = new Browser();
    const from = receiver.tokens.length;
    const tokens = await signInBoth(b, 'zhangsan');
    await env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'zhangsan', name: '张三', orgCode: '10', role: 'user', enable: 'false' }], currentSyncTime: nextTimeStamp(), flag: 2, testFlag: 0, timeStamp: nextTimeStamp() });
    await expectLogoutTokens(from, tokens);
  });

  it('the operator console ending the session', async () => {
    const b = new Browser();
    const from = receiver.tokens.length;
    const tokens = await signInBoth(b, 'wangwu');
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const list = (await (await fetch(`${env.base}/admin/api/sessions?tenant=t-acme&user=wangwu`, { headers: auth })).json()) as { sessions: Array<{ id: string }> };
    assert.equal(list.sessions.length, 1);
    const res = await fetch(`${env.base}/admin/api/sessions/${encodeURIComponent(list.sessions[0]!.id)}`, { method: 'DELETE', headers: auth });
    assert.equal(res.status, 204);
    await expectLogoutTokens(from, tokens);
  });

  it('CAS single logout from OneAccess', async () => {
    const b = new Browser();
    const from = receiver.tokens.length;
    const form = last(await b.follow(`${env.base}/login?tenant=acme&protocol=cas`));
    const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'zhaoliu', continue: hiddenInput(form.body, 'continue')! });
    const ticket = new URL(hops.find((h) => new URL(h.url).pathname === '/cas/callback')!.url).searchParams.get('ticket')!;
    // the apps sign in through the provider on top of the CAS gateway session
    const tokens = await signInBoth(b, 'zhaoliu');
    const logoutRequest = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="LR-2" Version="2.0"><samlp:SessionIndex>${ticket}</samlp:SessionIndex></samlp:LogoutRequest>`;
    const res = await fetch(`${env.base}/cas/callback?tenant=t-acme`, { method: 'POST', headers: FORM, body: new URLSearchParams({ logoutRequest }) });
    assert.deepEqual(await res.json(), { ended: 1 });
    await expectLogoutTokens(from, tokens);
  });
});
}

everyWay('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');
let redis: RedisServer | null = null;
everyWay(
  'Redis',
  async () => {
    redis ??= await startRedis();
    return prefixedRedisStore(redis, 'bcl');
  },
  needRedis,
);
after(async () => {
  await redis?.stop();
});


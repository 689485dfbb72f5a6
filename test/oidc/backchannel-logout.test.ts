// OpenID Connect Back-Channel Logout 1.0: a relying party with backchannel_logout_uri receives a
// signed logout token whenever the gateway session its tokens came from ends — RP-initiated
// logout, gateway logout, deprovisioning, idle and absolute timeouts — from a durable outbox that
// retries and survives a gateway restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { MemoryStore } from '../../src/store/memory.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import type { Store } from '../../src/store/store.ts';
import { Browser, hiddenInput } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort } from '../helpers/redis-server.ts';
import { waitFor } from '../store/conformance.ts';
import { oidcWalker } from './walk.ts';

const APP = 'http://127.0.0.1:9';
const REDIRECT = `${APP}/cb`;
const SECRET = 'bcl-secret-0123456789abcdefghijklmnop';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const users = [
  { userName: 'zhangsan', name: '张三' },
  { userName: 'lisi', name: '李四' },
];

/** the relying party's back-channel endpoint: keeps every logout token; answers `status` */
async function startReceiver(port = 0) {
  const tokens: string[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (status === 200) tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}/backchannel-logout`,
    port: bound,
    tokens,
    setStatus: (s: number) => (status = s),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

function clientsFor(receiver: Receiver) {
  return [
    { client_id: 'with-sid', client_secret: SECRET, redirect_uris: [REDIRECT], post_logout_redirect_uris: [`${APP}/bye`], backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true },
    { client_id: 'sub-only', client_secret: SECRET, redirect_uris: [REDIRECT], backchannel_logout_uri: receiver.url, id_token_signed_response_alg: 'ES256' },
    { client_id: 'no-backchannel', client_secret: SECRET, redirect_uris: [REDIRECT] },
  ];
}

const rpFor = (env: LoginEnv, clientId: string) => client.discovery(new URL(`${env.base}/oidc`), clientId, SECRET, undefined, { execute: [client.allowInsecureRequests] });

async function verified(env: LoginEnv, token: string, audience: string): Promise<JWTPayload> {
  assert.equal(decodeProtectedHeader(token).typ, 'logout+jwt');
  const { payload } = await jwtVerify(token, createLocalJWKSet(env.gw.keys.jwks()), { issuer: `${env.base}/oidc`, audience, typ: 'logout+jwt', maxTokenAge: '5m' });
  assert.deepEqual(payload.events, { [EVENT]: {} });
  assert.equal(payload.nonce, undefined, 'a logout token never carries a nonce');
  assert.ok(payload.jti && payload.iat);
  return payload;
}

describe('back-channel logout for every way a gateway session ends', () => {
  let env: LoginEnv;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    env = await startLoginEnv(new MemoryStore(), { oidc: { clients: clientsFor(receiver), backchannelSweepMs: 100 } });
    await env.addTenant('t-acme', 'acme', users);
  });
  after(async () => {
    await env.close();
    await receiver.close();
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
});

describe('back-channel logout when a session times out', () => {
  let receiver: Receiver;
  const envs: LoginEnv[] = [];
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    for (const env of envs) await env.close();
    await receiver.close();
  });

  for (const [which, session] of [
    ['idle', { idleTimeoutSec: 1 }],
    ['absolute', { idleTimeoutSec: 2, absoluteTimeoutSec: 2 }],
  ] as const) {
    it(`${which} timeout: the sweeper finds the session gone`, async () => {
      const env = await startLoginEnv(new MemoryStore(), { oidc: { clients: clientsFor(receiver).slice(0, 1), backchannelSweepMs: 100 }, session });
      envs.push(env);
      await env.addTenant('t-acme', 'acme', users);
      const from = receiver.tokens.length;
      const b = new Browser();
      const { tokens } = await oidcWalker(env, await rpFor(env, 'with-sid'), REDIRECT).signIn(b, 'lisi');
      if (which === 'absolute') {
        // activity keeps an idle timeout away, never the absolute end
        for (let i = 0; i < 3; i++) {
          await b.request(`${env.base}/auth/session`);
          await new Promise((r) => setTimeout(r, 400));
        }
      }
      await waitFor('a logout token', () => receiver.tokens.length > from, 5000);
      const payload = await verified(env, receiver.tokens.at(-1)!, 'with-sid');
      assert.equal(payload.sid, tokens.claims()!.sid);
    });
  }
});

describe('back-channel logout survives a failing relying party and a gateway restart', () => {
  let dir: string;
  let store: Store | undefined;
  let env: LoginEnv | undefined;
  let receiver: Receiver | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridge-bcl-'));
  });
  after(async () => {
    await env?.close();
    await store?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('queued while the relying party fails, delivered by the next gateway on the same store', async () => {
    const port = await freePort();
    receiver = await startReceiver(port);
    receiver.setStatus(503);
    const overrides = { oidc: { clients: clientsFor(receiver).slice(0, 1), backchannelSweepMs: 100 } };
    store = openEmbeddedStore(dir);
    env = await startLoginEnv(store, overrides);
    await env.addTenant('t-acme', 'acme', users);
    const b = new Browser();
    const { tokens } = await oidcWalker(env, await rpFor(env, 'with-sid'), REDIRECT).signIn(b, 'lisi');
    await b.request(`${env.base}/logout`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.tokens.length, 0, 'the relying party refused it');
    await env.close();
    await store.close();
    env = undefined;

    receiver.setStatus(200);
    store = openEmbeddedStore(dir);
    env = await startLoginEnv(store, overrides);
    await waitFor('the logout token after the restart', () => receiver!.tokens.length === 1, 5000);
    const payload = await verified(env, receiver.tokens[0]!, 'with-sid');
    assert.equal(payload.sid, tokens.claims()!.sid);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.tokens.length, 1, 'delivered once');
  });
});

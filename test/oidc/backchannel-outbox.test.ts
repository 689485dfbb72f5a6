// Back-channel logout from the durable outbox when nothing announces the end: idle and absolute
// timeouts (the sweeper finds the session gone), a relying party that fails, a gateway restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/store/memory.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import type { Store } from '../../src/store/store.ts';
import { Browser } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort } from '../helpers/redis-server.ts';
import { waitFor } from '../store/conformance.ts';
import { oidcWalker } from './walk.ts';
import { clientsFor, REDIRECT, rpFor, startReceiver, users, verified, type Receiver } from './backchannel.ts';

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
    assert.match(env.gw.metrics.render(), /bridge_oidc_backchannel_logouts_total\{outcome="retry"\} [1-9]/, 'operators see the retries');
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
    assert.match(env.gw.metrics.render(), /bridge_oidc_backchannel_logouts_total\{outcome="delivered"\} 1/);
  });
});

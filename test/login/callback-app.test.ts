// The callback signs in with the tenant app the sign-in started with: its client is the one
// OneAccess issued the code to. A newer app bound meanwhile (an applicationSync between /login
// and the callback) must not take over the code exchange; an app removed meanwhile is refused.
// Real HTTP between the gateway and the sandbox OneAccess, a real embedded store on disk.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encryptClientSecret } from '../../src/marketplace/client-secret.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { nextTimeStamp, PUBLIC_KEY_PEM, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';

describe('the callback uses the app its sign-in started with', () => {
  let opened: OpenedStore;
  let env: LoginEnv;
  before(async () => {
    opened = tempEmbeddedStore('callback-app');
    env = await startLoginEnv(opened.store);
    await env.addTenant('t-acme', 'acme', [{ userName: 'staff', name: 'Staff' }]);
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  const bindApp = (appId: string, clientId: string, flag: 0 | 1) =>
    env.sync('applicationSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', appId, clientId, clientSecret: encryptClientSecret(PUBLIC_KEY_PEM, `secret-of-${appId}-0123456789`), flag, testFlag: 0, timeStamp: nextTimeStamp() });

  /** /login up to the sandbox's form, then (after `meanwhile`) the form posted and the callback followed */
  async function signIn(meanwhile: () => Promise<void>) {
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    const cont = hiddenInput(form.body, 'continue');
    assert.ok(cont, `expected the OneAccess form, got ${form.status}: ${form.body.slice(0, 200)}`);
    await meanwhile();
    const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'staff', continue: cont });
    return { b, callback: hops.find((h) => h.url.includes('/oauth/callback')) };
  }

  it('positive control: with nothing bound meanwhile the sign-in completes', async () => {
    const { b, callback } = await signIn(async () => {});
    assert.equal(callback?.status, 303, callback?.body.slice(0, 300));
    assert.ok(b.cookie(env.base, 'bridge.sid'));
  });

  it('a newer app bound between /login and the callback: the code is exchanged by the first app\'s client, and the sign-in completes', async () => {
    const tokenCalls = env.sandbox.counters('t-acme').calls.token;
    // app-2's client is unknown to this OneAccess: had the callback used it, the token call would fail
    const { b, callback } = await signIn(() => bindApp('app-2', 'client-unknown-to-oneaccess', 1));
    assert.equal(callback?.status, 303, callback?.body.slice(0, 300));
    assert.ok(b.cookie(env.base, 'bridge.sid'));
    assert.equal(env.sandbox.counters('t-acme').calls.token - tokenCalls, 1);
    // a sign-in started now goes to the newest app, app-2 (and fails at OneAccess, which does not know its client)
    const b2 = new Browser();
    const start = last(await b2.follow(`${env.base}/login?tenant=acme`));
    assert.match(start.body, /client-unknown-to-oneaccess/, 'the newest app is the one new sign-ins use');
  });

  it('the app the sign-in started with removed before the callback: refused as not bound, no session', async () => {
    await bindApp('app-2', 'client-unknown-to-oneaccess', 0);
    const { b, callback } = await signIn(() => bindApp('app-1', 'client-t-acme', 0));
    assert.ok(callback && callback.status >= 400, `${callback?.status}: ${callback?.body.slice(0, 300)}`);
    assert.match(callback.body, /app_not_bound|not yet set up|尚未为贵公司配置/, callback.body.slice(0, 300));
    assert.equal(b.cookie(env.base, 'bridge.sid'), undefined);
  });
});

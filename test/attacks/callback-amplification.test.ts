// Attack: junk `GET /oauth/callback?code=x&tenant=t` (and CAS tickets). Each one used to make a
// client-authenticated call to the tenant's OneAccess, which could get the seller's client
// throttled there. Now unsolicited callbacks reach OneAccess only within the per-client and
// per-tenant limits; sign-ins started here (with `state`) are not held back by the tenant's limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { from, LIMITS_ON } from '../helpers/limits.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore, tempEmbeddedStore } from '../helpers/stores.ts';

function amplificationSuite(open: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  let env: LoginEnv;
  let cleanup: () => Promise<void>;

  before(async () => {
    const opened = await open();
    cleanup = opened.cleanup;
    env = await startLoginEnv(opened.store, {
      limits: { ...LIMITS_ON, callback: { perClient: { points: 5, durationSec: 60 }, perTenant: { points: 8, durationSec: 60 } } },
    });
    await env.addTenant('t-acme', 'acme', [{ userName: 'zhangsan', name: '张三' }]);
    await env.addTenant('t-beta', 'beta', [{ userName: 'beta1', name: 'Beta One' }]);
  });
  after(async () => {
    await env.close();
    await cleanup();
  });

  const tokenCalls = (tenantId: string) => env.sandbox.counters(tenantId).calls.token;
  const junk = async (path: string, ip: string) => (await new Browser().request(`${env.base}${path}`, { headers: { ...from(ip), accept: 'application/json' } })).status;

  it('junk callbacks from one address reach OneAccess only up to the per-client limit', async () => {
    const before = tokenCalls('t-acme');
    const got: number[] = [];
    for (let i = 0; i < 15; i++) got.push(await junk(`/oauth/callback?code=junk-${i}&tenant=t-acme`, '198.51.100.7'));
    assert.equal(got.filter((s) => s === 429).length, 10, got.join(' '));
    assert.equal(tokenCalls('t-acme') - before, 5, 'one token call per admitted callback, none for the refused');
  });

  it('junk from many addresses stops at the tenant limit; CAS tickets count too; other tenants are unaffected', async () => {
    const got: number[] = [];
    // 5 were used above; 3 more fit the tenant's 8
    for (let i = 0; i < 6; i++) got.push(await junk(`/oauth/callback?code=junk&tenant=t-acme`, `203.0.113.${i + 1}`));
    got.push(await junk(`/cas/callback?tenant=t-acme&ticket=ST-1-junk`, '203.0.113.99'));
    assert.deepEqual(got.map((s) => s === 429), [false, false, false, true, true, true, true], got.join(' '));
    assert.equal(tokenCalls('t-acme'), 8);
    assert.equal(env.sandbox.counters('t-acme').calls['cas-validate'], 0);
    // beta's budget is its own
    assert.notEqual(await junk(`/oauth/callback?code=junk&tenant=t-beta`, '203.0.113.1'), 429);
  });

  it('positive control: a sign-in started here (with state) still completes while the tenant is over its limit', async () => {
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    assert.equal(form.status, 200, form.body.slice(0, 200));
    const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'zhangsan', continue: hiddenInput(form.body, 'continue')! });
    const cb = hops.find((h) => new URL(h.url).pathname === '/oauth/callback');
    assert.equal(cb?.status, 303, cb?.body);
    const s = await b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });
    assert.equal(JSON.parse(s.body).user_name, 'zhangsan');
  });

  it('a refused callback says so: 429, Retry-After, and a page for browsers', async () => {
    const res = await new Browser().request(`${env.base}/oauth/callback?code=junk&tenant=t-acme`, { headers: from('203.0.113.200') });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.body, /rate_limited/);
  });
}

describe('callback amplification (embedded store)', () => amplificationSuite(async () => tempEmbeddedStore('amplify')));

describe('callback amplification (redis store)', requireBinary('redis-server', 'apt-get install -y redis-server'), () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  amplificationSuite(() => prefixedRedisStore(redis, 'amplify'));
  // after the suite's own clean-up, which still talks to Redis
  after(() => redis?.stop());
});

// Session cookie policy and timeouts, through the real sign-in against the sandbox.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { buildGateway } from '../helpers/gateway.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore, type OpenedStore } from '../helpers/stores.ts';

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

async function signIn(env: LoginEnv, b: Browser, user: string): Promise<void> {
  const form = last(await b.follow(`${env.base}/login?tenant=acme`));
  const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: user, continue: hiddenInput(form.body, 'continue')! }));
  assert.notEqual(end.status, 403, end.body);
}

const session = (env: LoginEnv, b: Browser) => b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });

function timeoutSuite(name: string, open: () => Promise<OpenedStore>): void {
  describe(`session timeouts (${name} store)`, () => {
    let env: LoginEnv;
    let opened: OpenedStore;
    before(async () => {
      opened = await open();
      env = await startLoginEnv(opened.store, { session: { idleTimeoutSec: 1, absoluteTimeoutSec: 3 } });
      await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
    });
    after(async () => {
      await env.close();
      await opened.cleanup();
    });

    it('an idle session ends after the idle timeout; activity keeps it alive until the absolute timeout', async () => {
      const idle = new Browser();
      await signIn(env, idle, 'lisi');
      const busy = new Browser();
      await signIn(env, busy, 'lisi');
      const start = Date.now();
      // keep one busy every 400 ms; leave the other alone
      while (Date.now() - start < 1800) {
        assert.equal((await session(env, busy)).status, 200);
        await new Promise((r) => setTimeout(r, 400));
      }
      assert.equal((await session(env, idle)).status, 401, 'idle session must have ended');
      assert.equal((await session(env, busy)).status, 200, 'active session is still alive');
      while (Date.now() - start < 3300) {
        await session(env, busy);
        await new Promise((r) => setTimeout(r, 400));
      }
      assert.equal((await session(env, busy)).status, 401, 'absolute timeout ends even an active session');
    });
  });
}

timeoutSuite('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

// connect-redis took the cookie's expiry (the absolute timeout) as the record's TTL: idle sessions lived on
describe('on Redis', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());
  timeoutSuite('redis', () => prefixedRedisStore(redis, 'timeouts'));
});

describe('cookies behind an https public URL', () => {
  it('uses the __Host- prefix, Secure and Path=/ without Domain', async () => {
    const store = new MemoryStore();
    const gw = await buildGateway(store, { publicUrl: 'https://login.example.com' });
    // the unified-login start sets the pre-login cookie without needing a tenant
    const g2 = await buildGateway(store, { publicUrl: 'https://login.example.com', login: { appId: 'app-1' } });
    const res = await request(g2.app).get('/login').set('x-forwarded-proto', 'https');
    const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!;
    assert.match(cookie, /^__Host-bridge-tx=/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Domain=/i);
    assert.equal(gw.sessions.cookieName, '__Host-bridge');
  });
});

describe('tenant from the host name', () => {
  it('{tenantCode}.app.example.com selects the tenant', async () => {
    const env = await startLoginEnv(new MemoryStore(), { login: { tenantHosts: ['{tenantCode}.app.example.com'] } });
    try {
      await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
      const res = await request(env.gw.app).get('/login').set('host', 'acme.app.example.com');
      assert.equal(res.status, 303);
      assert.equal(new URL(res.headers.location!).origin, env.origins.get('t-acme'));
      const none = await request(env.gw.app).get('/login').set('host', 'nosuch.app.example.com');
      assert.equal(none.status, 200);
      assert.match(none.text, /Company code/);
    } finally {
      await env.close();
    }
  });
});

// A request whose session record cannot be read (the store does not answer in time, as during a
// Redis failover) is answered with an error, and the session stays: the request knew nothing of
// the session, so it must not end it. With express-session mounted and `unset: 'destroy'`, such a
// request deleted the record when its error answer ended (req.session was never loaded), and the
// DEL reached Redis once it answered again: the Sentinel chaos test's "acknowledged but lost"
// session. Sessions no longer go through express-session's middleware; this keeps it so.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openRedisStore, type RedisStore } from '../../src/store/redis.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { redisCli } from '../helpers/redis-topologies.ts';
import { Sessions } from '../../src/session/sessions.ts';
import { SessionCache } from '../../src/session/session-cache.ts';

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');
const COMMAND_TIMEOUT_MS = 300;
const PAUSE_MS = 1200;

describe('session read failed', needRedis, () => {
  let redis: RedisServer | null = null;
  let store: RedisStore;
  let env: LoginEnv;
  before(async () => {
    redis = await startRedis();
    store = await openRedisStore(redis!.url, { keyPrefix: 'readfail:', commandTimeoutMs: COMMAND_TIMEOUT_MS });
    env = await startLoginEnv(store);
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env?.close();
    await store?.close();
    await redis?.stop();
  });

  async function signIn(): Promise<Browser> {
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
    assert.equal(hops.find((h) => h.url.includes('/oauth/callback'))?.status, 303);
    return b;
  }

  const session = (b: Browser) => b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });

  it('a request that timed out reading the session leaves it alive once the store answers again', async () => {
    const b = await signIn();
    assert.equal((await session(b)).status, 200, 'positive control: the session works');
    // every command of every client waits while Redis is paused: the session read hits its deadline,
    // and whatever the gateway sends after it is carried out when the pause ends
    await redisCli(redis!.port, 'CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    const t0 = Date.now();
    const during = await session(b);
    assert.ok(during.status >= 500, `answered ${during.status} while the store did not answer`);
    assert.ok(Date.now() - t0 < PAUSE_MS, 'answered within the store deadline, not after the pause');
    await new Promise((r) => setTimeout(r, PAUSE_MS + 300));
    const afterwards = await session(b);
    assert.equal(afterwards.status, 200, `the session survived the failed read: ${afterwards.status} ${afterwards.body.slice(0, 200)}`);
  });

  it('the snapshot cache closes while the store does not answer (its unsubscribe times out)', async () => {
    const own = await openRedisStore(redis!.url, { keyPrefix: 'readfail-close:', commandTimeoutMs: COMMAND_TIMEOUT_MS });
    try {
      const sessions = new Sessions(own, { idleTimeoutSec: 600, absoluteTimeoutSec: 3600, secure: false, cookieSecret: 'close-secret' });
      const cache = new SessionCache(own, sessions.sessionStore, sessions.cookie, { touchEveryMs: 60_000 });
      await cache.start();
      await redisCli(redis!.port, 'CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
      const t0 = Date.now();
      await cache.close();
      assert.ok(Date.now() - t0 < PAUSE_MS, 'closed within the store deadline, not after the pause');
    } finally {
      await new Promise((r) => setTimeout(r, PAUSE_MS + 300));
      await own.close();
    }
  });
});

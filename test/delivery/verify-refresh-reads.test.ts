// /auth/verify with the upstream token due for a refresh reads the session record exactly once:
// counted at the store port of a real embedded store (on disk), on the forward-auth fast path,
// on the express route and with concurrent checks of one session (which share one refresh);
// and so does /auth/session.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Store } from '../../src/store/store.ts';
import { keyspace } from '../../src/store/keyspace.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';

/** the store, with every read of a session record counted */
function countingReads(store: Store): { store: Store; reads: () => number; reset(): void } {
  let reads = 0;
  const prefix = keyspace.session.prefix;
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === 'getTemp' || prop === 'takeTemp') {
        return (key: string, ...rest: unknown[]) => {
          if (key.startsWith(prefix)) reads += 1;
          return (v as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { store: counted, reads: () => reads, reset: () => void (reads = 0) };
}

async function signIn(env: LoginEnv, b: Browser, user: string): Promise<void> {
  const form = last(await b.follow(`${env.base}/login?tenant=acme`));
  const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: user, continue: hiddenInput(form.body, 'continue')! }));
  assert.ok(end.status !== 403 && end.status < 500, end.body.slice(0, 300));
}

describe('/auth/verify with a refresh due', () => {
  let opened: OpenedStore;
  let counter: ReturnType<typeof countingReads>;
  let env: LoginEnv;
  before(async () => {
    opened = tempEmbeddedStore('verify-reads');
    counter = countingReads(opened.store);
    env = await startLoginEnv(counter.store, { session: { refreshSkewSec: 0 } });
    await env.addTenant('t-acme', 'acme', [{ userName: 'staff', name: 'Staff' }]);
    env.sandbox.settings.accessTokenTtlSec = 1;
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  /** a signed-in browser whose access token has just expired, and a cold snapshot cache */
  async function dueSession(): Promise<string> {
    const b = new Browser();
    await signIn(env, b, 'staff');
    await new Promise((r) => setTimeout(r, 1100));
    counter.reset();
    return `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`;
  }

  const tokenCalls = () => env.sandbox.counters('t-acme').calls.token;

  it('the fast path: one session read, one refresh, 200', async () => {
    const cookie = await dueSession();
    const calls = tokenCalls();
    const res = await request(env.base).get('/auth/verify').set({ cookie, 'x-forwarded-uri': '/' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-auth-request-user'], 'staff');
    assert.equal(tokenCalls() - calls, 1, 'refreshed once');
    assert.equal(counter.reads(), 1, 'the session record is read once');
    // the refreshed record is the snapshot: the next check reads nothing and refreshes nothing
    assert.equal((await request(env.base).get('/auth/verify').set({ cookie })).status, 200);
    assert.equal(counter.reads(), 1);
    assert.equal(tokenCalls() - calls, 1);
  });

  it('the express route (?redirect=true): one session read', async () => {
    const cookie = await dueSession();
    const calls = tokenCalls();
    const res = await request(env.gw.app).get('/auth/verify?redirect=true').set({ cookie });
    assert.equal(res.status, 200);
    assert.equal(tokenCalls() - calls, 1);
    assert.equal(counter.reads(), 1);
  });

  it('eight concurrent checks of one session: one read, one refresh', async () => {
    const cookie = await dueSession();
    const calls = tokenCalls();
    const answers = await Promise.all(Array.from({ length: 8 }, () => request(env.base).get('/auth/verify').set({ cookie })));
    assert.deepEqual(answers.map((r) => r.status), Array(8).fill(200));
    assert.equal(tokenCalls() - calls, 1);
    assert.equal(counter.reads(), 1);
  });

  it('/auth/session (the JSON of the signed-in person): one session read, one refresh', async () => {
    const cookie = await dueSession();
    const calls = tokenCalls();
    const res = await request(env.base).get('/auth/session').set({ cookie, accept: 'application/json' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.user_name, 'staff');
    assert.equal(tokenCalls() - calls, 1, 'refreshed once');
    assert.equal(counter.reads(), 1, 'the session record is read once (it was twice before)');
  });

  it('positive control: the counter sees reads (a cold cache reads the record of a session it has not seen)', async () => {
    env.sandbox.settings.accessTokenTtlSec = 7200;
    try {
      const b = new Browser();
      await signIn(env, b, 'staff');
      counter.reset();
      assert.equal((await request(env.base).get('/auth/verify').set({ cookie: `bridge.sid=${b.cookie(env.base, 'bridge.sid')}` })).status, 200);
      assert.equal(counter.reads(), 1);
    } finally {
      env.sandbox.settings.accessTokenTtlSec = 1;
    }
  });
});

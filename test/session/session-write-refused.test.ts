// A sign-in whose session record the store refuses (down, or not confirmed by the replicas that
// BRIDGE_REDIS_WAIT_REPLICAS asks for) shows the retry page and hands out no cookie: the record
// is written before the response, not by express-session after it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore } from '../../src/store/memory.ts';
import { StoreNotReplicatedError } from '../../src/store/store.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';

const refused = () => new StoreNotReplicatedError('redis: 0 of 1 replica(s) confirmed the change within 1000 ms');

/** the memory store, except that session records or session indexes are refused on request */
class RefusingStore extends MemoryStore {
  refuse: 'record' | 'index' | null = null;
  /** session records written so far */
  readonly written: string[] = [];
  override async putTemp(key: string, value: string, ttlMs: number, opts?: { ifAbsent?: boolean }): Promise<boolean> {
    if (this.refuse === 'record' && key.startsWith('sess:')) throw refused();
    if (key.startsWith('sess:')) this.written.push(key);
    return super.putTemp(key, value, ttlMs, opts);
  }
  override async addMember(setKey: string, member: string, ttlMs: number): Promise<void> {
    if (this.refuse === 'index' && setKey.startsWith('idx:')) throw refused();
    return super.addMember(setKey, member, ttlMs);
  }
}

describe('session write refused at sign-in', () => {
  const store = new RefusingStore();
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(store);
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(() => env.close());

  async function signIn(b: Browser) {
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    return b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
  }

  for (const what of ['record', 'index'] as const) it(`the session ${what} refused: retry page, no cookie, nothing saved later`, async () => {
    const b = new Browser();
    const before = store.written.length;
    store.refuse = what;
    try {
      const hops = await signIn(b);
      const cb = hops.find((h) => h.url.includes('/oauth/callback'))!;
      assert.equal(cb.status, 503, cb.body.slice(0, 300));
      assert.match(cb.body, /try again/i);
      assert.equal(cb.headers.getSetCookie().filter((c) => c.startsWith('bridge.sid=')).length, 0);
      assert.equal(b.cookie(env.base, 'bridge.sid'), undefined);
    } finally {
      store.refuse = null;
    }
    // express-session does not write the half-made session once the store accepts writes again
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(store.written.length, before);
  });

  it('positive control: the same sign-in with the store accepting it gets a working session', async () => {
    const b = new Browser();
    const hops = await signIn(b);
    assert.equal(hops.find((h) => h.url.includes('/oauth/callback'))?.status, 303);
    const s = await b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });
    assert.equal(s.status, 200);
  });
});

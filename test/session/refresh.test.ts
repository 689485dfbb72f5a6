// Refresh (src/session/refresh.ts) over a real memory store and the real session API. The grant
// is the connector's refresh capability; here a function that records its calls and answers as
// the test says (the OAuth connector against the sandbox is covered by test/delivery/verify*).
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.ts';
import { keyspace, keysOf } from '../../src/store/keyspace.ts';
import { Sessions } from '../../src/session/sessions.ts';
import { SessionCache } from '../../src/session/session-cache.ts';
import { Refresher, type RefreshGrant } from '../../src/session/refresh.ts';
import { SessionError } from '../../src/session/errors.ts';
import { LoginError } from '../../src/login/errors.ts';
import type { SessionIdentity, UpstreamTokens } from '../../src/identity/identity.ts';
import { msg } from '../../src/web/i18n.ts';

const identity = (role: 'admin' | 'user' = 'user'): SessionIdentity => ({ ns: 'prod', claims: { sub: 'sub-lisi', tenant: 't-1', user_name: 'lisi', role, idp: 'oneaccess-oauth' } });
const expired = (): UpstreamTokens => ({ accessToken: 'old', refreshToken: 'rt-1', expiresAt: Date.now() - 1000 });
const fresh = (n: number): UpstreamTokens => ({ accessToken: `new-${n}`, refreshToken: `rt-${n + 1}`, expiresAt: Date.now() + 3_600_000 });

describe('Refresher', () => {
  let store: MemoryStore;
  let sessions: Sessions;
  let cache: SessionCache;
  let calls: Array<Parameters<RefreshGrant>[0]>;
  let answer: (n: number) => Promise<UpstreamTokens>;
  let refresher: Refresher;
  const grant: RefreshGrant = (r) => {
    calls.push(r);
    return answer(calls.length);
  };
  beforeEach(async () => {
    store = new MemoryStore();
    sessions = new Sessions(store, { idleTimeoutSec: 600, absoluteTimeoutSec: 3600, secure: false, cookieSecret: 'refresh-secret' });
    cache = new SessionCache(store, sessions.sessionStore, sessions.cookie, { touchEveryMs: 60_000 });
    await cache.start();
    calls = [];
    answer = async (n) => fresh(n);
    refresher = new Refresher({ store, sessions, skewMs: 60_000, grant, changes: cache, waitMs: 600 });
  });
  afterEach(async () => {
    await cache.close();
    await store.close();
  });

  const signIn = (tokens: UpstreamTokens = expired()) => sessions.establish(identity(), { protocol: 'oauth', tenantId: 't-1', tokens });

  it('tokens not due: the record as it is, no grant', async () => {
    const e = await signIn(fresh(0));
    assert.equal(refresher.due(e.record), false);
    assert.equal(await refresher.ensureFresh(e.sid, e.record), e.record);
    assert.equal(calls.length, 0);
  });

  it('due within the skew: one grant with the tenant and refresh token; only the tokens change, in the store too', async () => {
    const e = await signIn({ accessToken: 'old', refreshToken: 'rt-1', expiresAt: Date.now() + 30_000 });
    assert.equal(refresher.due(e.record), true);
    const next = await refresher.ensureFresh(e.sid, e.record);
    assert.deepEqual(calls, [{ protocol: 'oauth', ns: 'prod', tenantId: 't-1', refreshToken: 'rt-1' }]);
    assert.equal(next.upstream?.tokens?.refreshToken, 'rt-2');
    assert.deepEqual(next.identity, identity());
    const stored = await sessions.read(e.sid);
    assert.equal(stored?.upstream?.tokens?.refreshToken, 'rt-2');
    assert.equal(stored?.createdAt, e.record.createdAt);
    assert.equal(await keysOf(store).get(keyspace.refreshLock.key(e.sid)), null, 'the lock is released');
  });

  it('concurrent callers in one process share one grant and its result', async () => {
    const e = await signIn();
    let release!: () => void;
    answer = (n) => new Promise((r) => (release = () => r(fresh(n))));
    const all = Promise.all(Array.from({ length: 6 }, () => refresher.ensureFresh(e.sid, e.record)));
    await new Promise((r) => setTimeout(r, 20));
    release();
    const results = await all;
    assert.equal(calls.length, 1);
    assert.ok(results.every((r) => r.upstream?.tokens?.refreshToken === 'rt-2'));
  });

  it('OneAccess refuses the refresh token: the session ends, SessionError session_expired', async () => {
    const e = await signIn();
    answer = async () => {
      throw new LoginError('session_expired', msg('refusal.sessionEnded'));
    };
    await assert.rejects(refresher.ensureFresh(e.sid, e.record), (err: unknown) => err instanceof SessionError && err.code === 'session_expired' && err.status === 401);
    assert.equal(await sessions.load(e.sid), null);
  });

  it('another typed failure (OneAccess down) ends the session as "refresh failed"; a fault is passed on as it is', async () => {
    const e = await signIn();
    answer = async () => {
      throw new LoginError('upstream_error', msg('refusal.serviceTrouble'));
    };
    await assert.rejects(refresher.ensureFresh(e.sid, e.record), (err: unknown) => err instanceof SessionError && err.code === 'session_expired' && err.shown.key === 'refusal.refreshFailed' && err.cause instanceof LoginError);
    assert.equal(await sessions.load(e.sid), null);
    const f = await signIn();
    const fault = new TypeError('boom');
    answer = async () => {
      throw fault;
    };
    await assert.rejects(refresher.ensureFresh(f.sid, f.record), (err: unknown) => err === fault);
    assert.equal(await sessions.load(f.sid), null);
  });

  it('a session that ended during the grant stays ended', async () => {
    const e = await signIn();
    answer = async (n) => {
      await sessions.end(e.sid);
      return fresh(n);
    };
    await assert.rejects(refresher.ensureFresh(e.sid, e.record), (err: unknown) => err instanceof SessionError && err.code === 'session_expired');
    assert.equal(await sessions.read(e.sid), null, 'not written back');
  });

  it('a directory change announced during the grant is kept: the tokens go onto the revised record', async () => {
    const e = await signIn();
    answer = async (n) => {
      await sessions.revise([e.sid], async () => identity('admin'));
      await new Promise((r) => setTimeout(r, 20)); // the announcement arrives
      return fresh(n);
    };
    const next = await refresher.ensureFresh(e.sid, e.record);
    assert.equal(next.identity?.claims.role, 'admin');
    const stored = await sessions.read(e.sid);
    assert.equal(stored?.identity?.claims.role, 'admin');
    assert.equal(stored?.upstream?.tokens?.refreshToken, 'rt-2');
  });

  it('without word of changes the refresh would overwrite that change (why `changes` is passed)', async () => {
    const blind = new Refresher({ store, sessions, skewMs: 60_000, grant });
    const e = await signIn();
    answer = async (n) => {
      await sessions.revise([e.sid], async () => identity('admin'));
      return fresh(n);
    };
    await blind.ensureFresh(e.sid, e.record);
    assert.equal((await sessions.read(e.sid))?.identity?.claims.role, 'user');
  });

  it('another instance holds the lock: wait for its result in the store, no grant here', async () => {
    const e = await signIn();
    await keysOf(store).put(keyspace.refreshLock.key(e.sid), 'other', 15_000, { ifAbsent: true });
    setTimeout(() => void sessions.replaceTokens(e.sid, e.record, fresh(9)), 120);
    const next = await refresher.ensureFresh(e.sid, e.record);
    assert.equal(next.upstream?.tokens?.refreshToken, 'rt-10');
    assert.equal(calls.length, 0);
  });

  it('another instance holds the lock and never finishes: upstream_timeout after waitMs', async () => {
    const e = await signIn();
    await keysOf(store).put(keyspace.refreshLock.key(e.sid), 'other', 15_000, { ifAbsent: true });
    await assert.rejects(refresher.ensureFresh(e.sid, e.record), (err: unknown) => err instanceof SessionError && err.code === 'upstream_timeout' && err.status === 504);
  });

  it('an ended or unknown session: SessionError, no grant', async () => {
    const e = await signIn();
    await sessions.end(e.sid);
    await assert.rejects(refresher.ensureFresh(e.sid), SessionError);
    await assert.rejects(refresher.ensureFresh('unknown'), SessionError);
    assert.equal(calls.length, 0);
  });
});

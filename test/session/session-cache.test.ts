// The forward-auth snapshot cache (src/session/session-cache.ts) over a real memory store and the
// real session storage: what it reads, what it serves from memory, and what drops a snapshot.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { keyspace } from '../../src/store/keyspace.ts';
import { Sessions } from '../../src/session/sessions.ts';
import { SessionCache } from '../../src/session/session-cache.ts';
import type { SessionIdentity } from '../../src/identity/identity.ts';

const identity = (user: string): SessionIdentity => ({ ns: 'prod', claims: { sub: `sub-${user}`, tenant: 't-1', user_name: user, role: 'user', idp: 'oneaccess-oauth' } });

/** a memory store whose session record reads and touches are counted */
function counted(store: MemoryStore) {
  const n = { reads: 0, touches: 0 };
  const s = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const key = args[0];
        if (typeof key === 'string' && key.startsWith(keyspace.session.prefix)) {
          if (prop === 'getTemp') n.reads += 1;
          if (prop === 'touchTemp') n.touches += 1;
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  return { store: s, n };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('SessionCache', () => {
  let memory: MemoryStore;
  let c: ReturnType<typeof counted>;
  let sessions: Sessions;
  let cache: SessionCache;
  const make = async (opts: { ttlMs?: number; touchEveryMs?: number } = {}) => {
    cache = new SessionCache(c.store, sessions.sessionStore, sessions.cookie, { ttlMs: opts.ttlMs ?? 5_000, touchEveryMs: opts.touchEveryMs ?? 60_000 });
    await cache.start();
  };
  beforeEach(async () => {
    memory = new MemoryStore();
    c = counted(memory);
    sessions = new Sessions(c.store, { idleTimeoutSec: 600, absoluteTimeoutSec: 3600, secure: false, cookieSecret: 'cache-secret' });
    await make();
  });
  afterEach(async () => {
    await cache.close();
    await memory.close();
  });

  it('a miss reads the store once; later gets within the ttl read nothing', async () => {
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    c.n.reads = 0;
    assert.equal(cache.peek(e.sid), undefined, 'nothing is known before the first read');
    assert.deepEqual((await cache.get(e.sid))?.identity, identity('lisi'));
    for (let i = 0; i < 5; i++) await cache.get(e.sid);
    assert.deepEqual(cache.peek(e.sid)?.identity, identity('lisi'));
    assert.equal(c.n.reads, 1);
  });

  it('concurrent misses for one session share one read; an absent session is remembered as absent', async () => {
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    c.n.reads = 0;
    const all = await Promise.all(Array.from({ length: 10 }, () => cache.get(e.sid)));
    assert.ok(all.every((s) => s?.identity?.claims.user_name === 'lisi'));
    assert.equal(c.n.reads, 1);
    assert.equal(await cache.get('nobody'), null);
    assert.equal(cache.peek('nobody'), null);
    assert.equal(c.n.reads, 2);
  });

  it('the snapshot expires after ttlMs', async () => {
    await cache.close();
    await make({ ttlMs: 50 });
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    c.n.reads = 0;
    await cache.get(e.sid);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(cache.peek(e.sid), undefined);
    await cache.get(e.sid);
    assert.equal(c.n.reads, 2);
  });

  it('an end or a change announced anywhere drops the snapshot at once and changes its version', async () => {
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    const other = await sessions.establish(identity('wang'), { protocol: 'oauth', tenantId: 't-1' });
    const told: string[] = [];
    cache.onDropped((sid) => told.push(sid));
    await cache.get(e.sid);
    await cache.get(other.sid);
    const v0 = cache.version(e.sid);
    await sessions.revise([e.sid], async () => ({ ...identity('lisi'), claims: { ...identity('lisi').claims, role: 'admin' } }));
    await settle();
    assert.equal(cache.peek(e.sid), undefined, 'the changed session must be read again');
    assert.notEqual(cache.version(e.sid), v0);
    assert.equal((await cache.get(e.sid))?.identity?.claims.role, 'admin');
    assert.ok(cache.peek(other.sid), 'other sessions keep their snapshot');
    await sessions.end(e.sid);
    await settle();
    assert.equal(await cache.get(e.sid), null);
    assert.deepEqual(told, [e.sid, e.sid]);
  });

  it('a read that overlapped an invalidation is answered but not kept', async () => {
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    const pending = cache.get(e.sid);
    cache.invalidate('someone-else');
    assert.ok(await pending);
    assert.equal(cache.peek(e.sid), undefined);
  });

  it('remember makes a record this instance wrote the snapshot, without a read', async () => {
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    c.n.reads = 0;
    cache.remember(e.sid, e.record);
    assert.equal((await cache.get(e.sid))?.identity?.claims.user_name, 'lisi');
    assert.equal(c.n.reads, 0);
  });

  it('gets restart the idle timeout at most every touchEveryMs', async () => {
    await cache.close();
    await make({ touchEveryMs: 100 });
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    c.n.touches = 0;
    await cache.get(e.sid);
    for (let i = 0; i < 5; i++) cache.peek(e.sid);
    assert.equal(c.n.touches, 0, 'not within touchEveryMs of the read');
    await new Promise((r) => setTimeout(r, 120));
    cache.peek(e.sid);
    cache.peek(e.sid);
    assert.equal(c.n.touches, 1);
  });

  it('sessionId accepts only a cookie signed with the secret', async () => {
    const e = await sessions.establish(identity('lisi'), { protocol: 'oauth', tenantId: 't-1' });
    const cookie = e.setCookie.split(';')[0]!;
    assert.equal(cache.sessionId(`other=1; ${cookie}`), e.sid);
    assert.equal(cache.sessionId(cookie.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A'))), null);
    assert.equal(cache.sessionId(`bridge.sid=${e.sid}`), null, 'unsigned');
    assert.equal(cache.sessionId('bridge.sid=%E0%A4%A'), null);
    assert.equal(cache.sessionId(undefined), null);
  });
});

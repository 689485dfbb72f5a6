// The store conformance suite, the sync suite and the sign-in suite on a Redis Sentinel set (one
// primary, two replicas, three sentinels), started once for this file, with
// BRIDGE_REDIS_WAIT_REPLICAS=1 so that every acknowledgement goes through WAIT.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { openStore } from '../../src/store/index.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import type { RedisLink } from '../../src/store/redis-link.ts';
import { needRedisTopologies, redisCli, startRedisSentinel, type RedisSentinelDeployment } from '../helpers/redis-topologies.ts';
import { prefixedRedisStore } from '../helpers/stores.ts';
import { syncSuite } from '../marketplace/sync-suite.ts';
import { loginSuite } from '../login/login-suite.ts';
import { storeConformance } from './conformance.ts';

describe('redis sentinel (primary, two replicas, three sentinels)', needRedisTopologies, () => {
  let set: RedisSentinelDeployment | null = null;
  before(async () => {
    set = await startRedisSentinel();
  });
  after(() => set?.stop());

  // First, while the new set's sentinels still learn of each other (their hello messages, every
  // 2 s): node-redis reports the new sentinel lists, and the primary connection stays. Changes in
  // flight must not be answered "retry" for it (they were, when every topology event counted as
  // a connection change).
  it('a change of the sentinel list alone does not fail changes waiting for their replicas', { timeout: 60_000 }, async () => {
    const store = await openRedisStore(set!.url, { keyPrefix: 'list:', waitReplicas: 1 });
    const link = (store as unknown as { link: { sentinel: { on(e: string, l: (x: { type: string }) => void): void } } }).link;
    const events: string[] = [];
    link.sentinel.on('topology-change', (e) => events.push(e.type));
    const failures: string[] = [];
    try {
      const started = Date.now();
      for (let n = 0; Date.now() - started < 15_000 && !(events.includes('SENTINE_LIST_CHANGE') && Date.now() - started > 5000); n++) {
        await store.putTemp(`k${n}`, 'v', 60_000).catch((e: unknown) => failures.push(String(e)));
      }
      assert.ok(events.includes('SENTINE_LIST_CHANGE'), `node-redis saw the sentinel list change: ${events.join(', ')}`);
      assert.ok(!events.includes('MASTER_CHANGE'), 'the primary stayed');
      assert.deepEqual(failures, []);
    } finally {
      await store.close();
    }
  });

  const wait = { waitReplicas: 1 };
  storeConformance('redis sentinel, WAIT 1', () => prefixedRedisStore(set, 'test', wait));
  syncSuite('redis sentinel, WAIT 1', () => prefixedRedisStore(set, 'sync', wait));
  loginSuite('redis sentinel, WAIT 1', () => prefixedRedisStore(set, 'login', wait));

  it('openStore opens a redis-sentinel:// spec and writes to the primary, which replicates', async () => {
    const store = await openStore(set!.url, { redis: { keyPrefix: 'spec:' } });
    try {
      assert.equal(store.kind, 'redis');
      await store.putTemp('k', 'v', 60_000);
      const [primary, ...replicas] = set!.dataPorts;
      assert.equal(await set!.primary(), primary);
      assert.equal(await redisCli(primary!, 'GET', 'spec:temp:k'), 'v');
      for (const r of replicas) {
        for (let i = 0; i < 20 && (await redisCli(r, 'GET', 'spec:temp:k')) !== 'v'; i++) await new Promise((res) => setTimeout(res, 50));
        assert.equal(await redisCli(r, 'GET', 'spec:temp:k'), 'v');
      }
    } finally {
      await store.close();
    }
  });

  it("a store call's deadline reaches the commands on Sentinel too: an aborted one is never sent (redis-link.ts bound())", async () => {
    const store = await openRedisStore(set!.url, { keyPrefix: 'abort:' });
    try {
      const link = (store as unknown as { link: RedisLink }).link;
      const abort = new AbortController();
      abort.abort();
      await assert.rejects(link.bound(abort.signal).set('abort:temp:dropped', 'x'), /aborted/);
      // the view without an aborted signal still works, and the client's own options are untouched
      assert.equal(await link.bound(new AbortController().signal).set('abort:temp:kept', 'y'), 'OK');
      assert.equal(await store.getTemp('dropped'), null);
      assert.equal(await store.getTemp('kept'), 'y');
    } finally {
      await store.close();
    }
  });

  it('start-up warnings: WAIT 1 is met by two replicas; WAIT 0 is named as losing changes on a failover', async () => {
    const waiting = await openRedisStore(set!.url, { keyPrefix: 'warn:', waitReplicas: 1 });
    const async = await openRedisStore(set!.url, { keyPrefix: 'warn:' });
    try {
      const w1 = await waiting.durabilityWarnings();
      assert.ok(!w1.some((w) => /connected replica/.test(w)), w1.join('\n'));
      assert.ok(w1.some((w) => /appendonly no/.test(w)), w1.join('\n'));
      assert.ok((await async.durabilityWarnings()).some((w) => /WAIT_REPLICAS=0: a change acknowledged just before a failover can be lost/.test(w)));
    } finally {
      await waiting.close();
      await async.close();
    }
  });

  it('start-up warnings: WAIT 2 or min-replicas-to-write 2 with two replicas is named as refusing every change after a failover', async () => {
    const two = await openRedisStore(set!.url, { keyPrefix: 'warn:', waitReplicas: 2 });
    const primary = await set!.primary();
    await redisCli(primary, 'CONFIG', 'SET', 'min-replicas-to-write', '2');
    try {
      const w = await two.durabilityWarnings();
      assert.ok(w.some((x) => /WAIT_REPLICAS=2 with 2 replica\(s\) per primary: after a failover the new primary has 1/.test(x)), w.join('\n'));
      assert.ok(w.some((x) => /min-replicas-to-write 2 with 2 replica\(s\) per primary: after a failover the new primary has 1/.test(x)), w.join('\n'));
      assert.ok(!w.some((x) => /connected replica/.test(x)), w.join('\n'));
    } finally {
      await redisCli(primary, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
      await two.close();
    }
  });

  it('a database number in the spec selects that database', async () => {
    const store = await openStore(`${set!.url}/3`, { redis: { keyPrefix: 'db:' } });
    try {
      await store.putTemp('k', 'three', 60_000);
      assert.equal(await redisCli(set!.dataPorts[0]!, 'GET', 'db:temp:k'), '', 'not in database 0');
      const db3 = createClient({ url: `redis://127.0.0.1:${set!.dataPorts[0]}/3` });
      await db3.connect();
      assert.equal(await db3.get('db:temp:k'), 'three');
      db3.destroy();
    } finally {
      await store.close();
    }
  });
});

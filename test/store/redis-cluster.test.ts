// The store conformance suite, the sync suite and the sign-in suite on a local three-master
// Redis Cluster, started once for this file; and what is particular to a cluster.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import { needRedisTopologies, redisCli, startRedisCluster, type RedisClusterDeployment } from '../helpers/redis-topologies.ts';
import { prefixedRedisStore } from '../helpers/stores.ts';
import { syncSuite } from '../marketplace/sync-suite.ts';
import { loginSuite } from '../login/login-suite.ts';
import { storeConformance } from './conformance.ts';

describe('redis cluster (three masters)', needRedisTopologies, () => {
  let cluster: RedisClusterDeployment | null = null;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(() => cluster?.stop());

  storeConformance('redis cluster', () => prefixedRedisStore(cluster, 'test'));
  syncSuite('redis cluster', () => prefixedRedisStore(cluster, 'sync'));
  loginSuite('redis cluster', () => prefixedRedisStore(cluster, 'login'));

  it('openStore opens a redis-cluster:// spec', async () => {
    const store = await openStore(cluster!.url, { redis: { keyPrefix: 'spec:' } });
    try {
      assert.equal(store.kind, 'redis');
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it('the directory and audit share one hash tag; temps spread over every master', async () => {
    const store = await openRedisStore(cluster!.url, { keyPrefix: 'spread:' });
    try {
      assert.equal(store.durablePrefix, '{spread}:');
      await store.write(
        [
          { col: 'tenants', id: 't-1', version: '1', value: '"t"' },
          { col: 'users', id: 'u-1', version: '1', value: '"u"' },
        ],
        [{ at: new Date().toISOString(), actor: 'test', action: 'x', target: 'y' }],
      );
      const docMaster = await cluster!.masterOf('{spread}:doc:tenants');
      assert.equal(await cluster!.masterOf('{spread}:doc:users'), docMaster);
      assert.equal(await cluster!.masterOf('{spread}:audit'), docMaster);
      assert.equal(await redisCli(docMaster, 'HGET', '{spread}:doc:users', 'u-1'), JSON.stringify({ v: '1', val: '"u"' }));

      const keys = Array.from({ length: 30 }, (_, i) => `sess:${i}`);
      for (const k of keys) await store.putTemp(k, 'v', 60_000);
      const owners = new Set(await Promise.all(keys.map((k) => cluster!.masterOf(`spread:temp:${k}`))));
      assert.equal(owners.size, 3, 'thirty keys should land on all three masters');
      // a multi-key delete across masters
      await store.deleteTemp(keys);
      for (const k of keys) assert.equal(await store.getTemp(k), null);
    } finally {
      await store.close();
    }
  });

  it('start-up warnings read every master: no replica for WAIT 1, appendonly no', async () => {
    const store = await openRedisStore(cluster!.url, { keyPrefix: 'warn:', waitReplicas: 1 });
    try {
      const warnings = await store.durabilityWarnings();
      assert.ok(warnings.some((w) => /WAIT_REPLICAS=1 but a primary has 0 connected replica/.test(w)), warnings.join('\n'));
      assert.ok(warnings.some((w) => /appendonly no/.test(w)), warnings.join('\n'));
    } finally {
      await store.close();
    }
  });

  it('a prefix that already carries a hash tag is kept as it is', async () => {
    const store = await openRedisStore(cluster!.url, { keyPrefix: '{mine}:' });
    try {
      assert.equal(store.durablePrefix, '{mine}:');
    } finally {
      await store.close();
    }
  });

  it('pub/sub reaches a subscriber on another connection of the cluster', async () => {
    const a = await openRedisStore(cluster!.url, { keyPrefix: 'ps:' });
    const b = await openRedisStore(cluster!.url, { keyPrefix: 'ps:' });
    try {
      const got: string[] = [];
      await b.subscribe('news', (m) => got.push(m));
      for (let i = 0; i < 50 && got.length === 0; i++) {
        await a.publish('news', 'hello');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(got[0], 'hello');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

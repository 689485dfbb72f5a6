import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { openRedisStore } from '../../src/store/redis.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore } from '../helpers/stores.ts';
import { redisCli } from '../helpers/redis-topologies.ts';
import { buildGateway, signedHeaders, timeStampAt } from '../helpers/gateway.ts';
import { syncSuite } from './sync-suite.ts';

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('sync on redis', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  syncSuite(
    'redis',
    () => prefixedRedisStore(redis, 'sync'),
    // the store goes away: its server killed (-9) while a big write is being staged; a server of
    // its own, fsyncing every write, so that what was acknowledged before is still there after
    async () => {
      const own = await startRedis({ appendonly: true });
      if (!own) throw new Error('redis-server did not start');
      await redisCli(own.port, 'CONFIG', 'SET', 'appendfsync', 'always');
      const prefix = `outage:${randomUUID()}:`;
      const store = await openRedisStore(own.url, { keyPrefix: prefix, commandTimeoutMs: 1000 });
      return {
        store,
        breakNow: () => own.kill(),
        reopen: async () => {
          await own.restart();
          return openRedisStore(own.url, { keyPrefix: prefix });
        },
        cleanup: async () => {
          await store.close();
          await own.stop();
        },
      };
    },
  );

  it('Redis down: a sync answers a non-success code within seconds, then recovers by itself', async () => {
    const store = await openRedisStore(redis!.url, { keyPrefix: `outage:${randomUUID()}:`, commandTimeoutMs: 1000 });
    const gw = await buildGateway(store);
    const body = (tenantId: string) =>
      JSON.stringify({ instanceId: 'i', tenantId, tenantCode: tenantId, name: 'n', domainName: 'https://x.example.com', flag: 1, testFlag: 0, timeStamp: timeStampAt(Date.now()) });
    try {
      redis!.kill();
      const started = Date.now();
      const raw = body('t-outage');
      const res = await request(gw.app).post('/produceAPI/v2/tenantSync').set(signedHeaders(raw)).send(raw);
      assert.equal(res.status, 200);
      assert.equal(res.body.resultCode, '000005');
      assert.match(res.body.resultMsg, /nothing was saved/);
      assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
      const ready = await request(gw.app).get('/readyz');
      assert.equal(ready.status, 503);

      await redis!.restart();
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        const again = body('t-outage');
        const r = await request(gw.app).post('/produceAPI/v2/tenantSync').set(signedHeaders(again)).send(again);
        ok = r.body.resultCode === '000000';
        if (!ok) await new Promise((res) => setTimeout(res, 200));
      }
      assert.ok(ok, 'the gateway did not recover after Redis came back');
      assert.equal((await gw.directory.getTenant('prod', 't-outage'))?.tenantCode, 't-outage');
    } finally {
      await gw.close();
      await store.close();
    }
  });
});

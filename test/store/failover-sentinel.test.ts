// Chaos: kill -9 the Sentinel set's primary under a stream of pushes and sign-ins on two
// gateways with BRIDGE_REDIS_WAIT_REPLICAS=1. Nothing acknowledged may be lost, nothing may hang,
// and the gateways must follow the new primary by themselves within 10 s.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFailover, HUNG_MS } from '../helpers/failover.ts';
import { needRedisTopologies, startRedisSentinel, type RedisSentinelDeployment } from '../helpers/redis-topologies.ts';

describe('failover: kill -9 the Sentinel primary', needRedisTopologies, () => {
  let set: RedisSentinelDeployment | null = null;
  before(async () => {
    set = await startRedisSentinel({ quorum: true });
  });
  after(() => set?.stop());

  // The sessions this test once lost (about 1 run in 4) were not lost by Redis: the sign-in's
  // record was confirmed by both replicas, then the next request of the same browser, whose
  // session read timed out during the failover, deleted it (express-session's unset: 'destroy',
  // test/session/session-read-failed.test.ts). Kept strict: zero loss, no hang, recovery in 10 s.
  it('no acknowledged push or session is lost, no request hangs, recovery within 10 s', async (t) => {
    const old = await set!.primary();
    const figures = await runFailover({
      spec: set!.url,
      store: { keyPrefix: 'chaos:', waitReplicas: 1 },
      kill: () => set!.kill(old),
    });
    t.diagnostic(`sentinel failover figures: ${JSON.stringify(figures)}`);
    assert.notEqual(await set!.primary(), old, 'a replica was promoted');
    assert.ok(figures.pushesAcknowledged > 0 && figures.signInsCompleted > 0, JSON.stringify(figures));
    assert.equal(figures.pushesLost, 0, 'acknowledged pushes lost');
    assert.equal(figures.sessionsLost, 0, 'sessions handed out but lost');
    assert.equal(figures.hung, 0, `answers slower than ${HUNG_MS} ms`);
    assert.ok(figures.recoveryMs <= 10_000, `recovered after ${figures.recoveryMs} ms`);
    assert.ok(figures.pubsubRecoveryMs <= 10_000, `pub/sub between the gateways came back after ${figures.pubsubRecoveryMs} ms`);
  });
});

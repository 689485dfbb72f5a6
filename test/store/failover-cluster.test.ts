// Chaos: kill -9 the Cluster master that holds the directory (and a third of the sessions) under
// a stream of pushes and sign-ins on two gateways with BRIDGE_REDIS_WAIT_REPLICAS=1. One of its
// replicas takes over; each master has two, so that WAIT 1 can still be met after the failover
// (as on the Sentinel set). Nothing acknowledged may be lost, nothing may hang, recovery within 10 s.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFailover, HUNG_MS } from '../helpers/failover.ts';
import { needRedisTopologies, startRedisCluster, type RedisClusterDeployment } from '../helpers/redis-topologies.ts';

describe('failover: kill -9 a Cluster master with replicas', needRedisTopologies, () => {
  let cluster: RedisClusterDeployment | null = null;
  before(async () => {
    cluster = await startRedisCluster({ replicas: 2 });
  });
  after(() => cluster?.stop());

  it('no acknowledged push or session is lost, no request hangs, recovery within 10 s', async (t) => {
    const victim = await cluster!.masterOf('{chaos}:audit');
    const figures = await runFailover({
      spec: cluster!.url,
      store: { keyPrefix: 'chaos:', waitReplicas: 1 },
      kill: () => cluster!.kill(victim),
    });
    t.diagnostic(`cluster failover figures: ${JSON.stringify(figures)}`);
    assert.notEqual(await cluster!.masterOf('{chaos}:audit'), victim, 'the replica took the slots over');
    assert.ok(figures.pushesAcknowledged > 0 && figures.signInsCompleted > 0, JSON.stringify(figures));
    assert.equal(figures.pushesLost, 0, 'acknowledged pushes lost');
    assert.equal(figures.sessionsLost, 0, 'sessions handed out but lost');
    assert.equal(figures.hung, 0, `answers slower than ${HUNG_MS} ms`);
    assert.ok(figures.recoveryMs <= 10_000, `recovered after ${figures.recoveryMs} ms`);
    assert.ok(figures.pubsubRecoveryMs <= 10_000, `pub/sub between the gateways came back after ${figures.pubsubRecoveryMs} ms`);
  });
});

// Chaos: kill -9 the Sentinel set's primary under a stream of pushes and sign-ins on two
// gateways with BRIDGE_REDIS_WAIT_REPLICAS=1. Nothing acknowledged may be lost, nothing may hang,
// and the gateways must follow the new primary by themselves within 10 s (todo below).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFailover, HUNG_MS, type FailoverFigures } from '../helpers/failover.ts';
import { needRedisTopologies, startRedisSentinel, type RedisSentinelDeployment } from '../helpers/redis-topologies.ts';

describe('failover: kill -9 the Sentinel primary', needRedisTopologies, () => {
  let set: RedisSentinelDeployment | null = null;
  let figures: FailoverFigures | undefined;
  before(async () => {
    set = await startRedisSentinel({ quorum: true });
  });
  after(() => set?.stop());

  // The sessions this test once lost (about 1 run in 4) were not lost by Redis: the sign-in's
  // record was confirmed by both replicas, then the next request of the same browser, whose
  // session read timed out during the failover, deleted it (express-session's unset: 'destroy',
  // test/session/session-read-failed.test.ts). Kept strict: zero loss, no hang.
  it('no acknowledged push or session is lost, no request hangs', { timeout: 180_000 }, async (t) => {
    const old = await set!.primary();
    const f = await runFailover({
      spec: set!.url,
      store: { keyPrefix: 'chaos:', waitReplicas: 1 },
      kill: () => set!.kill(old),
    });
    figures = f;
    t.diagnostic(`sentinel failover figures: ${JSON.stringify(f)}`);
    assert.notEqual(await set!.primary(), old, 'a replica was promoted');
    assert.ok(f.pushesAcknowledged > 0 && f.signInsCompleted > 0, JSON.stringify(f));
    assert.equal(f.pushesLost, 0, 'acknowledged pushes lost');
    assert.equal(f.sessionsLost, 0, 'sessions handed out but lost');
    assert.equal(f.hung, 0, `answers slower than ${HUNG_MS} ms`);
  });

  // Known gap (issue 11, left open): in about 1 run in 3 on a quiet host the gateways take ~19 s,
  // not ~4 s, to acknowledge a push again, although the sentinels report the new primary after
  // ~2.2 s in every run (measured 8 of 8): the delay is in the gateway's following of the new
  // primary (node-redis's sentinel client), not in Sentinel. Still asserted, reported as todo.
  it('the gateways follow the new primary within 10 s', { todo: 'sometimes ~19 s: see the comment' }, () => {
    assert.ok(figures, 'the failover ran');
    assert.ok(figures.recoveryMs <= 10_000, `recovered after ${figures.recoveryMs} ms`);
    assert.ok(figures.pubsubRecoveryMs <= 10_000, `pub/sub between the gateways came back after ${figures.pubsubRecoveryMs} ms`);
  });
});

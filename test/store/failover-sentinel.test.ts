// Chaos: kill -9 the Sentinel set's primary under a stream of pushes and sign-ins on two
// gateways with BRIDGE_REDIS_WAIT_REPLICAS=1. Nothing acknowledged may be lost, nothing may hang,
// and the gateways must follow the new primary by themselves within 10 s.
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

  // About 1 run in 3 (quiet host) once took ~19 s here, not ~4 s: traced (bench/failover-trace.ts),
  // that was a second failover, not the gateways. With down-after-milliseconds 1000 a sentinel
  // could judge the just-promoted primary down before it had even reconnected to it (Sentinel
  // reconnects at most once a second after +switch-master), demote it, and leave it reporting
  // itself a primary for ~10 s before turning it into a replica that resyncs in full: WAIT 1 had
  // no replica for ~20 s. The set now runs with SENTINEL_DOWN_AFTER_MS (2000, as the README
  // recommends at least); the gateways then follow in ~5-7 s, 2-3 s after +switch-master, which
  // is node-redis's rediscovery (a fixed 1 s pause between looks at one sentinel; see
  // src/store/redis-link.ts).
  it('the gateways follow the new primary within 10 s', () => {
    assert.ok(figures, 'the failover ran');
    assert.ok(figures.recoveryMs <= 10_000, `recovered after ${figures.recoveryMs} ms`);
    assert.ok(figures.pubsubRecoveryMs <= 10_000, `pub/sub between the gateways came back after ${figures.pubsubRecoveryMs} ms`);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerifyPool } from '../../src/marketplace/verify-pool.ts';
import { RESULT, SyncError } from '../../src/marketplace/errors.ts';
import { KIT_KEY, signedHeaders, timeStampAt } from '../helpers/gateway.ts';

/** a signed allOrgSync of `n` departments, as the pool is handed it */
function bigPush(n: number, tag: string) {
  const orgInfoList = Array.from({ length: n }, (_, d) => ({ orgCode: `d${d}`, orgName: `部门${d}${tag}`, parentCode: d === 0 ? '' : `d${Math.floor((d - 1) / 10)}` }));
  const raw = Buffer.from(JSON.stringify({ instanceId: 'i-big', tenantId: `t-${tag}`, orgInfoList, testFlag: 0, timeStamp: timeStampAt(Date.now()) }));
  const h = signedHeaders(raw);
  return { raw, headers: { timestamp: h['x-timestamp']!, nonce: h['x-nonce']!, sign: h['x-sign']! } };
}

const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' && r.reason instanceof SyncError ? r.reason.resultCode : r.status);

describe('verify pool', () => {
  it('warm() starts a verifier and the checker before any push; a long list comes back whole and in order, in slices', async () => {
    const pool = new VerifyPool(KIT_KEY, { concurrency: 2, queue: 4 });
    try {
      const internals = pool as unknown as { checker: { worker: unknown }; slots: Array<{ worker: unknown }> };
      assert.equal(internals.checker.worker, null);
      pool.warm();
      assert.ok(internals.checker.worker, 'the checker runs');
      assert.ok(internals.slots[0]!.worker, 'a verifier runs');
      const push = bigPush(1_234, 'warm');
      const lease = await pool.acquire();
      const checked = await lease.verify(push.raw, push.headers, 1_000_000, 'allOrgSync');
      lease.release();
      assert.ok(checked.ok);
      const list = (checked.data as { orgInfoList: Array<{ orgCode: string }> }).orgInfoList;
      assert.deepEqual(
        list.map((o) => o.orgCode),
        Array.from({ length: 1_234 }, (_, d) => `d${d}`),
      );
    } finally {
      await pool.close();
    }
    pool.warm(); // closed: starts nothing
    assert.equal((pool as unknown as { checker: { worker: unknown } }).checker.worker, null);
  });

  it('a checker that dies fails the push it was checking as too costly, and asks the others waiting on it to retry', async () => {
    // two pushes verified side by side reach the one checker together; it dies on the first.
    // The second was never looked at: it is not "invalid" (the marketplace would not send it
    // again), it is a retry. Tried a few times: both must be waiting on the checker at once.
    for (let attempt = 0; attempt < 8; attempt++) {
      const pool = new VerifyPool(KIT_KEY, { concurrency: 2, queue: 4 });
      try {
        const checker = (pool as unknown as { checker: { worker: { terminate(): Promise<number> } | null; pending: Map<number, unknown> } }).checker;
        const a = bigPush(10_000, `a${attempt}`);
        const b = bigPush(10_000, `b${attempt}`);
        const [la, lb] = [await pool.acquire(), await pool.acquire()];
        const runs = [la.verify(a.raw, a.headers, 1_000_000, 'allOrgSync'), lb.verify(b.raw, b.headers, 1_000_000, 'allOrgSync')];
        const settled = Promise.allSettled(runs);
        let both = false;
        const deadline = Date.now() + 30_000;
        while (!both && Date.now() < deadline) {
          if (checker.pending.size === 2 && checker.worker) both = true;
          else if ((await Promise.race([settled.then(() => true), new Promise((r) => setImmediate(() => r(false)))])) === true) break;
        }
        if (!both) {
          await settled;
          continue; // the first was checked before the second arrived: try again
        }
        await checker.worker!.terminate();
        const results = await settled;
        la.release();
        lb.release();
        assert.deepEqual(results.map(codeOf).sort(), [RESULT.invalidParam, RESULT.innerError].sort());
        return;
      } finally {
        await pool.close();
      }
    }
    assert.fail('the two pushes never waited on the checker at the same time');
  });
});

// The console's small parts on their own: session handles, the sync log over a real store, the
// constant-time secret comparison, and the metrics figures in words.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SessionHandles } from '../../src/admin/session-handles.ts';
import { sameSecret } from '../../src/admin/operator.ts';
import { figures } from '../../src/admin/console.ts';
import { SyncLog } from '../../src/marketplace/sync-log.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import { isGatewayPath } from '../../src/delivery/proxy-mode.ts';
import { tempEmbeddedStore } from '../helpers/stores.ts';

describe('session handles', () => {
  const handles = new SessionHandles(randomBytes(32));
  const sid = 'Vx3pX0oQ1JbqH0ZrKxGmUqH7yS2nC9aE';

  it('the same session always has the same handle, which opens to its id and shows nothing of it', () => {
    const h = handles.handleOf(sid);
    assert.equal(handles.handleOf(sid), h);
    assert.equal(handles.sessionId(h), sid);
    assert.ok(!h.includes(sid));
    assert.notEqual(handles.handleOf(`${sid}x`), h);
  });

  it('a changed, foreign or malformed handle opens to nothing', () => {
    const h = handles.handleOf(sid);
    const flipped = h.slice(0, 30) + (h[30] === 'A' ? 'B' : 'A') + h.slice(31);
    for (const bad of [flipped, new SessionHandles(randomBytes(32)).handleOf(sid), '', 'x', 'a'.repeat(60), h + '!', 'A'.repeat(500)]) assert.equal(handles.sessionId(bad), null, bad);
  });
});

describe('secret comparison', () => {
  it('equal only for the same secret; never for an empty expected one', () => {
    const token = 'x'.repeat(40);
    assert.equal(sameSecret(token, token), true);
    assert.equal(sameSecret(`${token}x`, token), false);
    assert.equal(sameSecret(token.slice(1), token), false);
    assert.equal(sameSecret('', ''), false);
  });
});

describe('sync log', () => {
  const opened = tempEmbeddedStore('bridge-synclog');
  after(() => opened.cleanup());

  it('newest first, filtered by tenant, interface and result; other audit records are not pushes', async () => {
    const log = new SyncLog(opened.store);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    await log.record({ interface: 'tenantSync', tenantId: 't-1', ns: 'prod', resultCode: '000000', resultMsg: 'success.', bytes: 100, ms: 3 }, at(1));
    await log.record({ interface: 'authSync', tenantId: 't-1', ns: 'debug', resultCode: '000002', resultMsg: 'param is invalid: userList', bytes: 50, ms: 1 }, at(2));
    await opened.store.write([], [{ at: at(3).toISOString(), actor: 'browser', action: 'login.success', target: 'prod/user/t-1/a' }]);
    await log.record({ interface: 'authSync', resultCode: '000001', resultMsg: 'token is invalid', bytes: 10, ms: 0 }, at(4));
    const all = await log.list();
    assert.deepEqual(all.map((r) => r.resultCode), ['000001', '000002', '000000']);
    assert.equal(all[0]!.tenantId, undefined);
    assert.deepEqual({ ns: all[1]!.ns, tenantId: all[1]!.tenantId }, { ns: 'debug', tenantId: 't-1' });
    assert.deepEqual((await log.list({ tenantId: 't-1' })).map((r) => r.interface), ['authSync', 'tenantSync']);
    assert.deepEqual((await log.list({ interface: 'authSync', failed: true })).map((r) => r.resultCode), ['000001', '000002']);
    assert.deepEqual((await log.list({ resultCode: '000000' })).map((r) => r.bytes), [100]);
    assert.equal((await log.list({}, 1)).length, 1);
  });
});

describe('figures', () => {
  it('the metrics text as totals: counters and histogram counts, no buckets or sums', () => {
    const m = new Metrics();
    m.syncCalls.inc({ interface: 'authSync', result: '000000' }, 3);
    m.syncSeconds.observe({ interface: 'authSync' }, 0.01);
    const f = figures(m.render());
    assert.deepEqual(f.find((x) => x.metric === 'bridge_sync_calls_total'), { metric: 'bridge_sync_calls_total', label: 'interface="authSync",result="000000"', value: 3 });
    assert.ok(f.some((x) => x.metric === 'bridge_sync_duration_seconds_count' && x.value === 1));
    assert.ok(!f.some((x) => x.metric.endsWith('_bucket') || x.metric.endsWith('_sum')));
    assert.ok(f.some((x) => x.metric === 'bridge_uptime_seconds'));
  });
});

describe('proxy mode and the console', () => {
  it('/admin is the gateway’s only while the console is on', () => {
    assert.equal(isGatewayPath('/admin', '', true), true);
    assert.equal(isGatewayPath('/admin/api/tenants', '', true), true);
    assert.equal(isGatewayPath('/administrator', '', true), false);
    assert.equal(isGatewayPath('/admin/users', '', false), false, 'console off: the app’s own /admin');
  });
});

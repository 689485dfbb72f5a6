// The directory's apply logic on the memory store: ordering by version, tombstones, stable
// account ids, full snapshots, and the effects that end sessions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.ts';
import { Directory } from '../../src/directory/directory.ts';

const key = Buffer.alloc(32, 7);
const user = (userName: string, over: Record<string, unknown> = {}) => ({ userName, name: userName, orgCode: '1', role: 'user' as const, enabled: true, ...over });

describe('directory', () => {
  it('account ids are stable, distinct per tenant and namespace, and do not depend on the store', () => {
    const a = new Directory(new MemoryStore(), key);
    const b = new Directory(new MemoryStore(), key);
    assert.equal(a.accountId('prod', 't1', 'zs'), b.accountId('prod', 't1', 'zs'));
    assert.notEqual(a.accountId('prod', 't1', 'zs'), a.accountId('prod', 't2', 'zs'));
    assert.notEqual(a.accountId('prod', 't1', 'zs'), a.accountId('debug', 't1', 'zs'));
    assert.notEqual(a.accountId('prod', 't1', 'zs'), new Directory(new MemoryStore(), Buffer.alloc(32, 8)).accountId('prod', 't1', 'zs'));
  });

  it('users: per-user ordering inside one batch, revocation effects, cancel keeps the profile', async () => {
    const d = new Directory(new MemoryStore(), key);
    const r1 = await d.applyUsers('prod', 't', 'a', '20260101000000002', [{ op: 'upsert', user: user('u1') }, { op: 'upsert', user: user('u2', { enabled: false }) }], {});
    assert.deepEqual(r1.effects.map((e) => [e.kind, 'userName' in e ? e.userName : '']), [['user-changed', 'u1'], ['user-revoked', 'u2']]);
    // an older batch is ignored for the users it would move back, applied for new ones
    const r2 = await d.applyUsers('prod', 't', 'a', '20260101000000001', [{ op: 'delete', userName: 'u1' }, { op: 'upsert', user: user('u3') }], {});
    assert.equal(r2.stale, 1);
    assert.equal(r2.applied, 1);
    assert.ok(await d.getUser('prod', 't', 'u1'));
    await d.applyUsers('prod', 't', 'a', '20260101000000003', [{ op: 'cancel', userName: 'u1' }], {});
    const cancelled = await d.getUser('prod', 't', 'u1');
    assert.equal(cancelled?.cancelled, true);
    assert.equal(cancelled?.name, 'u1');
  });

  it('allOrgSync snapshot removes unlisted departments but not one a newer singleOrgSync added', async () => {
    const d = new Directory(new MemoryStore(), key);
    await d.upsertOrg('prod', { tenantId: 't', orgCode: 'old', orgName: 'Old', parentCode: '', version: '20260101000000001' }, {});
    await d.upsertOrg('prod', { tenantId: 't', orgCode: 'newer', orgName: 'Newer', parentCode: '', version: '20260101000000009' }, {});
    await d.replaceOrgs('prod', 't', [{ tenantId: 't', orgCode: 'keep', orgName: 'Keep', parentCode: '', version: '20260101000000005' }], '20260101000000005', {});
    assert.deepEqual((await d.listOrgs('prod', 't')).map((o) => o.orgCode).sort(), ['keep', 'newer']);
  });

  it('tenants: by id or code; a deleted tenant is gone for both, and an older add cannot bring it back', async () => {
    const d = new Directory(new MemoryStore(), key);
    const t = { tenantId: 't1', tenantCode: 'acme', name: 'ACME', domainName: 'https://x', instanceId: 'i', orderId: 'o', version: '20260101000000001' };
    const up = await d.upsertTenant('prod', t, {});
    assert.deepEqual(up.effects, [{ kind: 'tenant-changed', ns: 'prod', tenantId: 't1', removed: false }]);
    assert.equal((await d.findTenant('prod', 'acme'))?.tenantId, 't1');
    const del = await d.deleteTenant('prod', 't1', '20260101000000003', {});
    assert.deepEqual(del.effects, [{ kind: 'tenant-changed', ns: 'prod', tenantId: 't1', removed: true }]);
    const late = await d.upsertTenant('prod', { ...t, version: '20260101000000002' }, {});
    assert.equal(late.stale, 1);
    assert.equal(await d.findTenant('prod', 'acme'), null);
  });
});

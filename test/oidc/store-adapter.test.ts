// The oidc-provider adapter on the store port (MemoryStore, the port's reference semantics).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from 'oidc-provider';
import { MemoryStore } from '../../src/store/memory.ts';
import { StoreAdapter } from '../../src/oidc/store-adapter.ts';

function setup() {
  let now = Date.UTC(2026, 5, 1);
  const store = new MemoryStore({ now: () => now });
  const opts = { grantIndexTtlSec: 3600, defaultTtlSec: 3600 };
  return {
    store,
    adapter: (model: string) => new StoreAdapter(model, store, opts),
    advance: (ms: number) => (now += ms),
  };
}

describe('oidc-provider adapter on the store port', () => {
  it('upsert and find, with expiresIn as the time to live', async () => {
    const { adapter, advance } = setup();
    const codes = adapter('AuthorizationCode');
    await codes.upsert('c1', { accountId: 'sub-1', exp: 1 }, 60);
    assert.deepEqual(await codes.find('c1'), { accountId: 'sub-1', exp: 1 });
    assert.equal(await adapter('AccessToken').find('c1'), undefined, 'models do not share ids');
    advance(61_000);
    assert.equal(await codes.find('c1'), undefined);
  });

  it('findByUid and findByUserCode', async () => {
    const { adapter } = setup();
    const sessions = adapter('Session');
    await sessions.upsert('s1', { uid: 'u1', accountId: 'sub-1' }, 600);
    assert.equal((await sessions.findByUid('u1'))?.accountId, 'sub-1');
    assert.equal(await sessions.findByUid('nope'), undefined);
    const devices = adapter('DeviceCode');
    await devices.upsert('d1', { userCode: 'ABCD-EFGH' }, 600);
    assert.equal((await devices.findByUserCode('ABCD-EFGH'))?.userCode, 'ABCD-EFGH');
    await sessions.destroy('s1');
    assert.equal(await sessions.findByUid('u1'), undefined, 'destroy drops the uid index');
  });

  it('consume marks once: a second redemption fails with invalid_grant', async () => {
    const { adapter } = setup();
    const codes = adapter('AuthorizationCode');
    await codes.upsert('c1', { exp: Math.floor(Date.UTC(2026, 5, 1) / 1000) + 60 }, 60);
    await codes.consume('c1');
    assert.equal(typeof (await codes.find('c1'))?.consumed, 'number');
    await assert.rejects(codes.consume('c1'), (e: unknown) => e instanceof errors.InvalidGrant);
  });

  it('revokeByGrantId removes every token of the grant and nothing else', async () => {
    const { adapter, advance } = setup();
    const refresh = adapter('RefreshToken');
    const access = adapter('AccessToken');
    await refresh.upsert('r1', { grantId: 'g1' }, 3000);
    // a shorter token added later must not shorten the grant's index
    await access.upsert('a1', { grantId: 'g1' }, 60);
    await access.upsert('a2', { grantId: 'g2' }, 60);
    advance(120_000);
    await access.revokeByGrantId('g1');
    assert.equal(await refresh.find('r1'), undefined);
    // back in time: a1 would be live again had it only expired, not been deleted
    advance(-120_000);
    assert.equal(await access.find('a1'), undefined);
    assert.ok(await access.find('a2'));
  });
});

// The decision that rewrites a live session's identity after a directory change (live-identity.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Directory } from '../../src/directory/directory.ts';
import type { TenantRecord, UserRecord } from '../../src/directory/model.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { reviseIdentity, upstreamOf } from '../../src/login/live-identity.ts';
import type { ActiveSession, UpstreamProfile } from '../../src/session/sessions.ts';

const directory = new Directory(new MemoryStore(), Buffer.alloc(32, 7));
const tenant: TenantRecord = { tenantId: 't1', tenantCode: 'acme', name: 'Acme Ltd', domainName: 'x', instanceId: 'i', orderId: 'o', version: '1' };
const sub = directory.accountId('prod', 't1', 'lisi');
const user: UserRecord = { tenantId: 't1', appId: 'a', userName: 'lisi', sub, name: '李四', orgCode: '10', role: 'admin', enabled: true, cancelled: false, version: '1' };
const session = (profile?: UpstreamProfile): ActiveSession => ({
  identity: { ns: 'prod', claims: { sub, tenant: 't1', tenant_code: 'acme', tenant_name: 'Acme Ltd', user_name: 'lisi', name: '李四', email: 'old@acme.example.com', role: 'admin', org_code: '10', idp: 'oneaccess-cas' } },
  upstream: { protocol: 'cas', tenantId: 't1', ...(profile ? { profile } : {}) },
  createdAt: 0,
  expiresAt: 0,
});
const policy = { justInTimeAccounts: false };

describe('reviseIdentity', () => {
  it('takes role, name and department from the directory and the rest from what OneAccess said at sign-in', () => {
    const next = reviseIdentity(session({ email: 'oa@acme.example.com', mobile: '139' }), { ...tenant, name: 'Acme Renamed' }, { ...user, role: 'user', name: '李四四', orgCode: '20' }, directory, policy);
    assert.deepEqual(next?.claims, { sub, tenant: 't1', tenant_code: 'acme', tenant_name: 'Acme Renamed', user_name: 'lisi', name: '李四四', email: 'oa@acme.example.com', mobile: '139', role: 'user', org_code: '20', idp: 'oneaccess-cas' });
    assert.equal(next?.ns, 'prod');
  });

  it('a directory e-mail wins over the one OneAccess gave', () => {
    assert.equal(reviseIdentity(session({ email: 'oa@acme.example.com' }), tenant, { ...user, email: 'dir@acme.example.com' }, directory, policy)?.claims.email, 'dir@acme.example.com');
  });

  it('sessions made before profiles were kept fall back to their own claims', () => {
    assert.equal(upstreamOf(session()).email, 'old@acme.example.com');
    assert.equal(upstreamOf(session()).protocol, 'cas');
  });

  it('null when the person may no longer sign in: disabled, cancelled, not synced, or the tenant is gone', () => {
    assert.equal(reviseIdentity(session(), tenant, { ...user, enabled: false }, directory, policy), null);
    assert.equal(reviseIdentity(session(), tenant, { ...user, cancelled: true }, directory, policy), null);
    assert.equal(reviseIdentity(session(), tenant, null, directory, policy), null);
    assert.equal(reviseIdentity(session(), null, user, directory, policy), null);
  });

  it('just-in-time accounts stay signed in as users', () => {
    assert.equal(reviseIdentity(session(), tenant, null, directory, { justInTimeAccounts: true })?.claims.role, 'user');
  });
});

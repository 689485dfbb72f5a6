// The sign-in decision (decideSignIn) and the console's "would they be let in" (checkAccess):
// pure functions over the directory's records and what OneAccess said.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppRecord, TenantRecord, UserRecord } from '../../src/directory/model.ts';
import type { UpstreamIdentity } from '../../src/identity/identity.ts';
import { LoginError } from '../../src/login/errors.ts';
import { checkAccess, decideSignIn } from '../../src/login/policy.ts';

const tenant: TenantRecord = { tenantId: 't1', tenantCode: 'acme', name: 'Acme Ltd', domainName: 'idp.acme.example.com', instanceId: 'i', orderId: 'o', version: '1' };
const app: AppRecord = { tenantId: 't1', appId: 'a1', clientId: 'c', clientSecretSealed: 'v1.x.y.z', instanceId: 'i', version: '1' };
const user: UserRecord = { tenantId: 't1', appId: 'a1', userName: 'lisi', sub: 'sub-lisi', name: '李四', orgCode: '10', role: 'admin', enabled: true, cancelled: false, version: '1' };
const said: UpstreamIdentity = { protocol: 'oauth', tenantId: 't1', userName: 'lisi', name: 'Li Si (OA)', email: 'oa@acme.example.com', mobile: '139', orgCode: '99' };
const accountId = (u: string) => `jit-${u}`;
const strict = { justInTimeAccounts: false };

const refusal = (f: () => unknown): LoginError => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof LoginError, `a LoginError, not ${String(e)}`);
    return e;
  }
  assert.fail('no refusal');
};

describe('decideSignIn', () => {
  it('a synced person: the directory wins for role, name and department; OneAccess fills what it lacks', () => {
    assert.deepEqual(decideSignIn(tenant, user, said, accountId, strict), {
      sub: 'sub-lisi',
      tenant: 't1',
      tenant_code: 'acme',
      tenant_name: 'Acme Ltd',
      user_name: 'lisi',
      name: '李四',
      email: 'oa@acme.example.com',
      mobile: '139',
      role: 'admin',
      org_code: '10',
      idp: 'oneaccess-oauth',
    });
  });

  it('the idp claim names the protocol; empty directory values do not blank OneAccess ones', () => {
    const c = decideSignIn(tenant, { ...user, name: '', orgCode: '' }, { ...said, protocol: 'cas' }, accountId, strict);
    assert.equal(c.idp, 'oneaccess-cas');
    assert.equal(c.name, 'Li Si (OA)');
    assert.equal(c.org_code, '99');
  });

  it('claims never carry empty members', () => {
    const c = decideSignIn({ ...tenant, name: '' }, { ...user, email: '' }, { protocol: 'oauth', tenantId: 't1', userName: 'lisi' }, accountId, strict);
    assert.ok(!('email' in c));
    assert.ok(!('tenant_name' in c));
    assert.ok(!('mobile' in c));
  });

  it('nobody listed by authSync: refused, unless just-in-time accounts are on (then a user with a local id)', () => {
    const e = refusal(() => decideSignIn(tenant, null, said, accountId, strict));
    assert.equal(e.code, 'not_authorized');
    assert.equal(e.status, 403);
    const c = decideSignIn(tenant, null, { ...said, role: 'admin' }, accountId, { justInTimeAccounts: true });
    assert.equal(c.sub, 'jit-lisi');
    assert.equal(c.role, 'user', 'what OneAccess calls the role does not grant it');
    assert.equal(c.name, 'Li Si (OA)');
  });

  it('a cancelled authorization and a disabled user are refused, each saying so (cancelled first)', () => {
    assert.equal(refusal(() => decideSignIn(tenant, { ...user, cancelled: true, enabled: false }, said, accountId, strict)).code, 'authorization_cancelled');
    assert.equal(refusal(() => decideSignIn(tenant, { ...user, enabled: false }, said, accountId, { justInTimeAccounts: true })).code, 'user_disabled');
  });
});

describe('checkAccess', () => {
  const base: Parameters<typeof checkAccess>[0] = { tenant, app, user, id: said, accountId, policy: strict, allowInsecureIdp: false };

  it('allowed: the same claims as the sign-in would give', () => {
    const a = checkAccess(base);
    assert.ok(a.allowed);
    assert.deepEqual(a.claims, decideSignIn(tenant, user, said, accountId, strict));
  });

  it('in the sign-in\'s order: tenant, bound app, usable OneAccess, then the person', () => {
    const code = (r: Partial<typeof base>) => {
      const a = checkAccess({ ...base, ...r });
      assert.ok(!a.allowed);
      return a.refusal.code;
    };
    assert.equal(code({ tenant: null, app: null, user: null }), 'tenant_inactive');
    assert.equal(code({ app: null, user: null }), 'app_not_bound');
    assert.equal(code({ tenant: { ...tenant, domainName: 'http://idp.acme.example.com' }, user: null }), 'insecure_idp');
    assert.equal(code({ user: { ...user, enabled: false } }), 'user_disabled');
    assert.equal(code({ user: null }), 'not_authorized');
  });

  it('an http:// OneAccess is fine where allowed (tests, the sandbox)', () => {
    assert.ok(checkAccess({ ...base, tenant: { ...tenant, domainName: 'http://127.0.0.1:9' }, allowInsecureIdp: true }).allowed);
  });

  it('the refusal carries the page\'s message', () => {
    const a = checkAccess({ ...base, user: { ...user, cancelled: true } });
    assert.ok(!a.allowed);
    assert.deepEqual(a.refusal.shown, { key: 'refusal.authorizationCancelled' });
  });
});

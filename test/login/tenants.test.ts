// Tenant resolution and per-tenant clients (src/login/tenants.ts): the pure pieces, then one
// Tenants per namespace over a real directory on the memory store.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Directory } from '../../src/directory/directory.ts';
import { appAad, type AppRecord, type TenantRecord } from '../../src/directory/model.ts';
import { SecretBox } from '../../src/directory/secret-box.ts';
import { LoginError } from '../../src/login/errors.ts';
import { checkTenantName, hostPattern, idpBaseUrl, tenantNamesInHost, Tenants } from '../../src/login/tenants.ts';
import { MemoryStore } from '../../src/store/memory.ts';

const tenant: TenantRecord = { tenantId: 't-1001', tenantCode: 'acme', name: 'Acme Ltd', domainName: 'acme.idp.example.com', instanceId: 'i', orderId: 'o', version: '20260101000000000' };

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof LoginError);
    return e.code;
  }
  assert.fail('no refusal');
};

describe('idpBaseUrl', () => {
  it('https:// is added to a bare domainName; a path is kept, trailing slashes are not', () => {
    assert.equal(idpBaseUrl(tenant, false), 'https://acme.idp.example.com');
    assert.equal(idpBaseUrl({ ...tenant, domainName: 'https://acme.idp.example.com/oa//' }, false), 'https://acme.idp.example.com/oa');
    assert.equal(idpBaseUrl({ ...tenant, domainName: 'HTTPS://Acme.Idp.Example.com:8443' }, false), 'https://acme.idp.example.com:8443');
  });

  it('http:// only where allowed; anything else is insecure_idp', () => {
    assert.equal(code(() => idpBaseUrl({ ...tenant, domainName: 'http://acme.idp.example.com' }, false)), 'insecure_idp');
    assert.equal(idpBaseUrl({ ...tenant, domainName: 'http://127.0.0.1:8080' }, true), 'http://127.0.0.1:8080');
    assert.equal(code(() => idpBaseUrl({ ...tenant, domainName: 'ftp://acme.idp.example.com' }, true)), 'insecure_idp');
  });
});

describe('tenant names in a Host header', () => {
  const patterns = ['{tenantCode}.app.example.com', 'login-{tenantId}.example.com'].map(hostPattern);

  it('by code or id, case-insensitively, with or without the port', () => {
    assert.deepEqual(tenantNamesInHost('ACME.app.example.com', patterns), ['acme']);
    assert.deepEqual(tenantNamesInHost('acme.app.example.com:8443', patterns), ['acme']);
    assert.deepEqual(tenantNamesInHost('login-t-1001.example.com', patterns), ['t-1001']);
    assert.equal(patterns[1]!.key, 'tenantId');
    assert.equal(patterns[0]!.key, 'tenantCode');
  });

  it('nothing for other hosts, nested names or a pattern look-alike', () => {
    assert.deepEqual(tenantNamesInHost('app.example.com', patterns), []);
    assert.deepEqual(tenantNamesInHost('a.b.app.example.com', patterns), []);
    assert.deepEqual(tenantNamesInHost('acmexapp.example.com', patterns), [], 'the dots are literal');
    assert.deepEqual(tenantNamesInHost('-acme.app.example.com', patterns), []);
  });

  it('a browser-given name is refused before any lookup when it cannot be one', () => {
    assert.equal(checkTenantName('acme'), 'acme');
    assert.equal(code(() => checkTenantName('x'.repeat(65))), 'unknown_tenant');
    assert.equal(code(() => checkTenantName('ac\nme')), 'unknown_tenant');
  });
});

describe('Tenants', async () => {
  const store = new MemoryStore();
  const directory = new Directory(store, Buffer.alloc(32, 3));
  const atRest = new SecretBox(Buffer.alloc(32, 9));
  const app = (ns: 'prod' | 'debug', appId: string, secret: string, version: string): AppRecord => ({
    tenantId: tenant.tenantId,
    appId,
    clientId: `client-${appId}`,
    clientSecretSealed: atRest.seal(secret, appAad(ns, tenant.tenantId, appId)),
    instanceId: 'i',
    version,
  });
  await directory.upsertTenant('prod', tenant, {});
  await directory.upsertApp('prod', app('prod', 'a-old', 'secret-old', '20260101000000000'), {});
  await directory.upsertApp('prod', app('prod', 'a-new', 'secret-new', '20260102000000000'), {});
  await directory.upsertTenant('debug', { ...tenant, tenantCode: 'acme-debug', name: 'Acme (debug)' }, {});
  await directory.upsertApp('debug', app('debug', 'a-dbg', 'secret-debug', '20260101000000000'), {});

  const prod = new Tenants(directory, atRest, { ns: 'prod', appId: '', allowInsecureIdp: false, tenantHosts: ['{tenantCode}.app.example.com'] });
  const debug = new Tenants(directory, atRest, { ns: 'debug', appId: '', allowInsecureIdp: false, tenantHosts: ['{tenantCode}.app.example.com'] });

  it('finds a tenant by query (id or code), else by Host; unknown names refused, no name null', async () => {
    assert.equal((await prod.fromRequest('acme', undefined))?.tenantId, 't-1001');
    assert.equal((await prod.fromRequest(' t-1001 ', undefined))?.tenantId, 't-1001');
    assert.equal((await prod.fromRequest(undefined, 'acme.app.example.com'))?.tenantId, 't-1001');
    assert.equal(await prod.fromRequest(undefined, 'nobody.app.example.com'), null);
    assert.equal(await prod.fromRequest('', undefined), null);
    await assert.rejects(prod.fromRequest('nobody', undefined), (e) => e instanceof LoginError && e.code === 'unknown_tenant');
  });

  it('the namespace is a value: each Tenants sees only its own', async () => {
    assert.equal(prod.ns, 'prod');
    assert.equal((await debug.lookup('acme-debug')).name, 'Acme (debug)');
    await assert.rejects(prod.lookup('acme-debug'), (e) => e instanceof LoginError && e.code === 'unknown_tenant');
    assert.equal((await debug.client(await debug.active('t-1001'))).clientSecret(), 'secret-debug');
    assert.notEqual(prod.accountId('t-1001', 'lisi'), debug.accountId('t-1001', 'lisi'));
    assert.equal(prod.accountId('t-1001', 'lisi'), directory.accountId('prod', 't-1001', 'lisi'));
  });

  it('the client: the newest app unless login.appId names one; the sealed secret opened', async () => {
    const t = await prod.active('t-1001');
    const c = await prod.client(t);
    assert.deepEqual({ appId: c.appId, clientId: c.clientId, clientSecret: c.clientSecret(), baseUrl: c.baseUrl }, { appId: 'a-new', clientId: 'client-a-new', clientSecret: 'secret-new', baseUrl: 'https://acme.idp.example.com' });
    assert.match(c.key, /\|t-1001\|a-new\|/);
    const pinned = new Tenants(directory, atRest, { ns: 'prod', appId: 'a-old', allowInsecureIdp: false, tenantHosts: [] });
    assert.equal((await pinned.client(t)).clientSecret(), 'secret-old');
  });

  it('the client of the app a sign-in started with, even when a newer one is bound; gone: not bound', async () => {
    const t = await prod.active('t-1001');
    const c = await prod.client(t, 'a-old');
    assert.deepEqual({ appId: c.appId, clientId: c.clientId, clientSecret: c.clientSecret() }, { appId: 'a-old', clientId: 'client-a-old', clientSecret: 'secret-old' });
    await assert.rejects(prod.client(t, 'a-gone'), (e) => e instanceof LoginError && e.code === 'app_not_bound', 'not another app in its place');
    await assert.rejects(debug.client(await debug.active('t-1001'), 'a-old'), (e) => e instanceof LoginError && e.code === 'app_not_bound', 'only in its own namespace');
  });

  it('a tenant never synced is inactive; one without an app is not bound', async () => {
    await assert.rejects(prod.active('t-none'), (e) => e instanceof LoginError && e.code === 'tenant_inactive');
    assert.equal(await prod.find('t-none'), null);
    await directory.upsertTenant('prod', { ...tenant, tenantId: 't-2002', tenantCode: 'bare' }, {});
    await assert.rejects(prod.client(await prod.active('t-2002')), (e) => e instanceof LoginError && e.code === 'app_not_bound');
  });
});

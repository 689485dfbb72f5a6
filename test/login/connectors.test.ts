// The two connectors behind the one Connector interface (src/identity/connector.ts): what each
// can do is found by its capabilities, and the URLs each builds (the router builds none).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Directory } from '../../src/directory/directory.ts';
import { appAad, type TenantRecord } from '../../src/directory/model.ts';
import { SecretBox } from '../../src/directory/secret-box.ts';
import { canRefresh, hasLogoutUrl, hasSingleLogout, hasTenantChooser, type RefreshRequest } from '../../src/identity/connector.ts';
import { refreshGrant } from '../../src/login/connectors.ts';
import { CasConnector } from '../../src/login/cas-connector.ts';
import { CasLogoutError } from '../../src/login/cas-logout.ts';
import { CasError } from '../../src/login/cas-response.ts';
import { LoginError } from '../../src/login/errors.ts';
import { OAuthConnector, pkceChallenge } from '../../src/login/oauth-connector.ts';
import { Tenants } from '../../src/login/tenants.ts';
import { MemoryStore } from '../../src/store/memory.ts';

const PUBLIC = 'https://gw.example.com';
const limits = { timeoutMs: 1000, maxBodyBytes: 65536 };
const tenant: TenantRecord = { tenantId: 't-1', tenantCode: 'acme', name: 'Acme', domainName: 'acme.idp.example.com/oa/', instanceId: 'i', orderId: 'o', version: '1' };

describe('connectors', async () => {
  const directory = new Directory(new MemoryStore(), Buffer.alloc(32, 1));
  const atRest = new SecretBox(Buffer.alloc(32, 2));
  await directory.upsertTenant('prod', tenant, {});
  await directory.upsertApp('prod', { tenantId: 't-1', appId: 'a-1', clientId: 'client-1', clientSecretSealed: atRest.seal('s3cret', appAad('prod', 't-1', 'a-1')), instanceId: 'i', version: '1' }, {});
  const tenants = new Tenants(directory, atRest, { ns: 'prod', appId: '', allowInsecureIdp: false, tenantHosts: [] });
  const oauth = (unified = { url: 'https://oa.example.com/unified', appId: '' }) => new OAuthConnector(tenants, { limits, allowInsecure: false, publicUrl: PUBLIC, unifiedLogin: unified });
  const cas = new CasConnector(tenants, { limits, publicUrl: PUBLIC });

  it('capabilities: OAuth refreshes, has a logout URL and a tenant chooser; CAS has a logout URL and single logout', () => {
    const o = oauth();
    assert.deepEqual([o.protocol, canRefresh(o), hasLogoutUrl(o), hasTenantChooser(o), hasSingleLogout(o)], ['oauth', true, true, true, false]);
    assert.deepEqual([cas.protocol, canRefresh(cas), hasLogoutUrl(cas), hasTenantChooser(cas), hasSingleLogout(cas)], ['cas', false, true, false, true]);
  });

  it('OAuth start: the authorize URL with a fresh state and an S256 challenge of the verifier it hands back', async () => {
    const o = oauth();
    const a = await o.start(tenant);
    const b = await o.start(tenant);
    const u = new URL(a.url);
    assert.equal(`${u.origin}${u.pathname}`, 'https://acme.idp.example.com/oa/api/v1/oauth2/authorize');
    assert.equal(u.searchParams.get('client_id'), 'client-1');
    assert.equal(u.searchParams.get('redirect_uri'), `${PUBLIC}/oauth/callback`);
    assert.equal(u.searchParams.get('response_type'), 'code');
    assert.equal(u.searchParams.get('scope'), 'get_user_info');
    assert.equal(u.searchParams.get('state'), a.state);
    assert.match(a.state, /^[A-Za-z0-9]{32}$/);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(u.searchParams.get('code_challenge'), createHash('sha256').update(a.codeVerifier).digest('base64url'));
    assert.notEqual(a.state, b.state);
    assert.notEqual(a.codeVerifier, b.codeVerifier);
    assert.ok(!u.searchParams.has('client_secret'), 'the secret never goes to the browser');
  });

  it('the S256 challenge is RFC 7636\'s (its appendix B vector) and openid-client\'s', async () => {
    assert.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    const { calculatePKCECodeChallenge, randomPKCECodeVerifier } = await import('openid-client');
    for (let i = 0; i < 20; i++) {
      const v = randomPKCECodeVerifier();
      assert.equal(pkceChallenge(v), await calculatePKCECodeChallenge(v));
    }
  });

  it('the sealed client secret is opened once per app record, not on every sign-in; a changed app opens its new one', async () => {
    const dir = new Directory(new MemoryStore(), Buffer.alloc(32, 1));
    let opened = 0;
    const counting = new (class extends SecretBox {
      override open(sealed: string, aad: string): string {
        opened += 1;
        return super.open(sealed, aad);
      }
    })(Buffer.alloc(32, 2));
    const app = (version: string, secret: string) => ({ tenantId: 't-1', appId: 'a-1', clientId: 'client-1', clientSecretSealed: counting.seal(secret, appAad('prod', 't-1', 'a-1')), instanceId: 'i', version });
    await dir.upsertTenant('prod', tenant, {});
    await dir.upsertApp('prod', app('1', 'first'), {});
    const o = new OAuthConnector(new Tenants(dir, counting, { ns: 'prod', appId: '', allowInsecureIdp: false, tenantHosts: [] }), { limits, allowInsecure: false, publicUrl: PUBLIC, unifiedLogin: { url: '', appId: '' } });
    for (let i = 0; i < 5; i++) await o.start(tenant);
    assert.equal(opened, 1);
    await dir.upsertApp('prod', app('2', 'second'), {});
    await o.start(tenant);
    await o.start(tenant);
    assert.equal(opened, 2);
  });

  it('OAuth start refuses a tenant whose OneAccess is not https', async () => {
    await assert.rejects(oauth().start({ ...tenant, domainName: 'http://acme.idp.example.com' }), (e) => e instanceof LoginError && e.code === 'insecure_idp');
  });

  it('OAuth logout URL: OneAccess signs out, then sends the browser on', () => {
    assert.equal(oauth().logoutUrl(tenant, `${PUBLIC}/signed-out`), `https://acme.idp.example.com/oa/api/v1/logout?redirect_url=${encodeURIComponent(`${PUBLIC}/signed-out`)}`);
  });

  it('the unified login page only when an app id is configured; its parameters after a fragment\'s query when it has one', () => {
    assert.equal(oauth().startWithoutTenant(), null);
    assert.equal(oauth({ url: 'https://oa.example.com/unified', appId: 'app 1' }).startWithoutTenant()?.url, 'https://oa.example.com/unified?ind=UNOP&appId=app%201');
    assert.equal(oauth({ url: 'https://oa.example.com/#/login', appId: 'a' }).startWithoutTenant()?.url, 'https://oa.example.com/#/login?ind=UNOP&appId=a');
    assert.equal(oauth({ url: 'https://oa.example.com/#/login?x=1', appId: 'a' }).startWithoutTenant()?.url, 'https://oa.example.com/#/login?x=1&ind=UNOP&appId=a');
  });

  it('an OAuth callback with OneAccess\'s refusal or without a code fails before any network call', async () => {
    await assert.rejects(oauth().handleCallback(tenant, { query: { error: 'access_denied' } }), (e) => e instanceof LoginError && e.code === 'not_authorized');
    await assert.rejects(oauth().handleCallback(tenant, { query: { error: 'server_error' } }), (e) => e instanceof LoginError && e.code === 'upstream_refused');
    await assert.rejects(oauth().handleCallback(tenant, { query: {} }), (e) => e instanceof LoginError && e.code === 'invalid_request');
  });

  it('a refresh for a session of another namespace is refused as an ended session, without a network call', async () => {
    await assert.rejects(oauth().refresh({ protocol: 'oauth', ns: 'debug', tenantId: 't-1', refreshToken: 'r' }), (e) => e instanceof LoginError && e.code === 'session_expired');
  });

  it('the session\'s refresh grant goes to its protocol\'s connector; a protocol without refresh ends the session', async () => {
    const asked: RefreshRequest[] = [];
    const real = oauth();
    // the real connector's sign-in, a recording refresh (the real one needs OneAccess: test/login/login-suite.ts)
    const fake = { protocol: 'oauth' as const, start: (t: TenantRecord) => real.start(t), handleCallback: real.handleCallback.bind(real), refresh: async (r: RefreshRequest) => (asked.push(r), { accessToken: 'a2', expiresAt: 1 }) };
    const grant = refreshGrant({ oauth: fake, cas });
    assert.deepEqual(await grant({ protocol: 'oauth', ns: 'prod', tenantId: 't-1', refreshToken: 'r1' }), { accessToken: 'a2', expiresAt: 1 });
    assert.deepEqual(asked, [{ protocol: 'oauth', ns: 'prod', tenantId: 't-1', refreshToken: 'r1' }]);
    await assert.rejects(grant({ protocol: 'cas', ns: 'prod', tenantId: 't-1', refreshToken: 'r1' }), (e) => e instanceof LoginError && e.code === 'session_expired');
    assert.equal(asked.length, 1);
  });

  it('CAS start and logout: the tenant\'s service URL on both; no state (the pre-login cookie finds the transaction)', async () => {
    const service = `${PUBLIC}/cas/callback?tenant=t-1`;
    const s = await cas.start(tenant);
    assert.equal(s.url, `https://acme.idp.example.com/oa/api/v1/cas/login?service=${encodeURIComponent(service)}`);
    assert.equal(s.state, undefined);
    assert.equal(cas.logoutUrl(tenant), `https://acme.idp.example.com/oa/api/v1/cas/logout?service=${encodeURIComponent(service)}`);
  });

  it('CAS single logout: a sign-in is named by its ticket; a logoutRequest names it back', async () => {
    assert.equal(cas.logoutHandle({ query: { tenant: 't-1', ticket: 'ST-abc' } }), 'ST-abc');
    assert.equal(cas.logoutHandle({ query: { ticket: ['ST-a', 'ST-b'] } }), undefined);
    const body = '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="1" Version="2.0"><samlp:SessionIndex>ST-abc</samlp:SessionIndex></samlp:LogoutRequest>';
    assert.equal(await cas.readLogoutRequest(body), 'ST-abc');
    await assert.rejects(cas.readLogoutRequest('<x/>'), CasLogoutError);
  });

  it('a CAS callback with a malformed ticket fails before any network call', async () => {
    await assert.rejects(cas.handleCallback(tenant, { query: { ticket: 'not-a-ticket' } }), (e) => e instanceof CasError && e.code === 'INVALID_TICKET_SYNTAX');
  });
});

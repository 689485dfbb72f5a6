// Interop: openid-client 6 (panva's certified relying party) with its defaults: discovery, code
// flow with PKCE, userinfo, refresh with the scope it asked for, RP-initiated logout. This is
// docs/oidc.md's snippet.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { MemoryStore } from '../../../src/store/memory.ts';
import { Browser } from '../../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../../helpers/login-env.ts';
import { confirmSignOut, follow, visitSigningIn } from './person.ts';

/** nobody serves it: the walk stops at the redirect there */
const APP = 'https://app.example.com';
const SECRET = 'oc-secret-0123456789abcdefghijklmnop';

describe('interop: openid-client with its defaults', () => {
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(new MemoryStore(), {
      oidc: { clients: [{ client_id: 'saas-app', client_secret: SECRET, redirect_uris: [`${APP}/auth/callback`], post_logout_redirect_uris: [`${APP}/`] }] },
    });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env.close();
  });

  it('signs in, reads userinfo, refreshes and logs out', async () => {
    const b = new Browser();
    // --- docs/oidc.md: openid-client ---
    const config = await client.discovery(new URL(`${env.base}/oidc`), 'saas-app', SECRET, undefined, { execute: [client.allowInsecureRequests] }); // http only in this test
    const scope = 'openid profile email tenant offline_access';
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${APP}/auth/callback`,
      scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    // ... the browser signs in and comes back to the callback:
    const hops = await visitSigningIn(b, url.href, 'lisi');
    const currentUrl = new URL(hops.at(-1)!.headers.get('location')!);
    const tokens = await client.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: verifier, expectedState: state });
    const claims = tokens.claims()!; // sub, tenant, user_name, role, ...
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, { scope });
    const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: refreshed.id_token!, post_logout_redirect_uri: `${APP}/` });
    // --- end of snippet ---
    assert.equal(currentUrl.origin + currentUrl.pathname, `${APP}/auth/callback`);
    assert.equal(claims.user_name, 'lisi');
    assert.equal(claims.tenant, 't-acme');
    assert.equal(info.name, '李四');
    assert.equal(refreshed.claims()!.sub, claims.sub);
    const out = await confirmSignOut(b, await follow(b, logoutUrl.href));
    assert.equal(out.at(-1)!.headers.get('location'), `${APP}/`);
    await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token!), (e: unknown) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
  });
});

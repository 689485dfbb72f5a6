// Interop: Apache httpd with mod_auth_openidc (Debian's libapache2-mod-auth-openidc) as the
// relying party, with its defaults: sign-in, userinfo (it calls the endpoint after sign-in),
// refresh (its refresh hook), logout (its logout hook, RP-initiated logout at the gateway).
// This is docs/oidc.md's snippet.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../src/store/memory.ts';
import { Browser } from '../../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../../helpers/login-env.ts';
import { freePort } from '../../helpers/redis-server.ts';
import { requireApache, startApache, type Apache } from '../../helpers/apache.ts';
import { confirmSignOut, follow, visitSigningIn } from './person.ts';
import { waitFor } from '../../store/conformance.ts';

const SECRET = 'apache-secret-0123456789abcdefghijklmnop';
const needApache = requireApache(['headers', 'auth_openidc']);

interface Info {
  access_token: string;
  refresh_token?: string;
  id_token: Record<string, unknown>;
  userinfo: Record<string, unknown>;
}

describe('interop: Apache mod_auth_openidc with its defaults', needApache, () => {
  let env: LoginEnv;
  let apache: Apache | undefined;
  let site: string;

  before(async () => {
    const port = await freePort();
    site = `http://127.0.0.1:${port}`;
    env = await startLoginEnv(new MemoryStore(), {
      oidc: {
        clients: [
          {
            client_id: 'apache',
            client_secret: SECRET,
            redirect_uris: [`${site}/protected/redirect_uri`],
            post_logout_redirect_uris: [`${site}/signed-out.html`],
            // mod_auth_openidc's own back-channel logout endpoint
            backchannel_logout_uri: `${site}/protected/redirect_uri?logout=backchannel`,
            backchannel_logout_session_required: true,
          },
        ],
        backchannelSweepMs: 100,
      },
    });
    await env.addTenant('t-acme', 'acme', [{ userName: 'wangwu', name: '王五' }]);
    // --- docs/oidc.md: mod_auth_openidc ---
    const conf = `
OIDCProviderMetadataURL ${env.base}/oidc/.well-known/openid-configuration
OIDCClientID apache
OIDCClientSecret ${SECRET}
OIDCRedirectURI ${site}/protected/redirect_uri
OIDCCryptoPassphrase a-long-random-passphrase-for-the-session-cookie
OIDCScope "openid profile tenant"
OIDCInfoHook iat access_token access_token_expires id_token userinfo refresh_token
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
`;
    // --- end of snippet ---
    // the test's browser is fetch, which always sends Sec-Fetch-Mode: cors (mod_auth_openidc answers
    // such requests with 401 instead of a redirect): say "navigate" as a browser's address bar does
    const navigation = 'RequestHeader set Sec-Fetch-Mode navigate early\n';
    apache = await startApache(port, ['headers', 'auth_openidc'], navigation + conf, { 'protected/index.html': '<p>protected</p>', 'signed-out.html': '<p>signed out</p>' });
  });
  after(async () => {
    await apache?.stop();
    await env?.close();
  });

  it('signs in, reads userinfo, refreshes and logs out', async () => {
    const b = new Browser();
    const log = () => apache!.errorLog();
    const signIn = await visitSigningIn(b, `${site}/protected/index.html`, 'wangwu');
    const landed = signIn.at(-1)!;
    assert.equal(landed.url, `${site}/protected/index.html`, `${signIn.map((h) => `${h.status} ${h.url}`).join('\n')}\n${landed.body.slice(0, 500)}\n${log()}`);
    assert.match(landed.body, /protected/, `${signIn.map((h) => `${h.status} ${h.url}`).join("\n")}\n${log()}`);

    const info = JSON.parse((await b.request(`${site}/protected/redirect_uri?info=json`)).body) as Info;
    assert.equal(info.id_token.user_name, 'wangwu');
    assert.equal(info.userinfo.tenant, 't-acme');
    assert.equal(info.userinfo.name, '王五');
    assert.ok(info.refresh_token, 'a refresh token');

    const refresh = await follow(b, `${site}/protected/redirect_uri?refresh=${encodeURIComponent(`${site}/protected/index.html`)}&access_token=${encodeURIComponent(info.access_token)}`);
    assert.equal(refresh.at(-1)!.status, 200, `${refresh.map((h) => `${h.status} ${h.url}`).join('\n')}\n${log()}`);
    const after = JSON.parse((await b.request(`${site}/protected/redirect_uri?info=json`)).body) as Info;
    assert.notEqual(after.access_token, info.access_token, 'a new access token');

    const out = await confirmSignOut(b, await follow(b, `${site}/protected/redirect_uri?logout=${encodeURIComponent(`${site}/signed-out.html`)}`));
    assert.equal(out.at(-1)!.url, `${site}/signed-out.html`, `${out.map((h) => `${h.status} ${h.url}`).join('\n')}\n${log()}`);
    assert.equal((await b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } })).status, 401, 'signed out of the gateway');
    const again = await b.request(`${site}/protected/index.html`);
    assert.equal(again.status, 302, 'and of the site');
  });

  it('its back-channel logout accepts the gateway\'s logout token: signing out at the gateway signs out of the site', async () => {
    const b = new Browser();
    const landed = (await visitSigningIn(b, `${site}/protected/index.html`, 'wangwu')).at(-1)!;
    assert.equal(landed.url, `${site}/protected/index.html`);
    await follow(b, `${env.base}/logout`);
    await waitFor('the site to forget the session', async () => (await b.request(`${site}/protected/index.html`)).status === 302, 5000);
  });
});

// Interop: express-openid-connect (Auth0's Express middleware, openid-client 6 inside) as the
// relying party, with its defaults except response_type=code (its default, id_token, is the
// implicit flow, which the gateway does not offer) and idpLogout (so /logout reaches the
// gateway): sign-in, userinfo, refresh, logout; this is docs/oidc.md's snippet.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import express from 'express';
import eoc from 'express-openid-connect';
import session from 'express-session';
import { MemoryStore } from '../../../src/store/memory.ts';
import { Browser } from '../../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../../helpers/login-env.ts';
import { freePort } from '../../helpers/redis-server.ts';
import { confirmSignOut, follow, visitSigningIn } from './person.ts';
import { waitFor } from '../../store/conformance.ts';

const SECRET = 'eoc-secret-0123456789abcdefghijklmnop';

describe('interop: express-openid-connect with its defaults', () => {
  let env: LoginEnv;
  let server: Server;
  let appUrl: string;
  let bclServer: Server;
  let bclUrl: string;

  before(async () => {
    const appPort = await freePort();
    appUrl = `http://127.0.0.1:${appPort}`;
    const bclPort = await freePort();
    bclUrl = `http://127.0.0.1:${bclPort}`;
    env = await startLoginEnv(new MemoryStore(), {
      oidc: {
        clients: [
          { client_id: 'eoc-app', client_secret: SECRET, redirect_uris: [`${appUrl}/callback`], post_logout_redirect_uris: [appUrl] },
          { client_id: 'eoc-bcl', client_secret: SECRET, redirect_uris: [`${bclUrl}/callback`], backchannel_logout_uri: `${bclUrl}/backchannel-logout`, backchannel_logout_session_required: true },
        ],
        backchannelSweepMs: 100,
      },
    });
    await env.addTenant('t-acme', 'acme', [{ userName: 'zhangsan', name: '张三', role: 'admin' }]);

    // --- docs/oidc.md: express-openid-connect ---
    const app = express();
    app.use(
      eoc.auth({
        issuerBaseURL: `${env.base}/oidc`,
        baseURL: appUrl,
        clientID: 'eoc-app',
        clientSecret: SECRET,
        secret: 'a long random string for the app session cookie',
        authRequired: false,
        idpLogout: true,
        authorizationParams: { response_type: 'code', scope: 'openid profile email tenant offline_access' },
      }),
    );
    app.get('/', (req, res) => {
      res.json(req.oidc.isAuthenticated() ? { user: req.oidc.user } : { user: null });
    });
    app.get('/userinfo', eoc.requiresAuth(), async (req, res) => {
      res.json(await req.oidc.fetchUserInfo());
    });
    app.get('/refresh', eoc.requiresAuth(), async (req, res) => {
      const token = await req.oidc.accessToken!.refresh();
      res.json({ refreshed: token.access_token !== undefined, user: req.oidc.user });
    });
    // --- end of snippet ---
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(appPort, '127.0.0.1', resolve));

    // its back-channel logout support, with a store for the logout entries
    const bcl = express();
    bcl.use(
      eoc.auth({
        issuerBaseURL: `${env.base}/oidc`,
        baseURL: bclUrl,
        clientID: 'eoc-bcl',
        clientSecret: SECRET,
        secret: 'another long random string for the app session cookie',
        authRequired: false,
        backchannelLogout: { store: new session.MemoryStore() as never },
        authorizationParams: { response_type: 'code', scope: 'openid profile email tenant' },
      }),
    );
    bcl.get('/', (req, res) => {
      res.json(req.oidc.isAuthenticated() ? { user: req.oidc.user } : { user: null });
    });
    bclServer = createServer(bcl);
    await new Promise<void>((resolve) => bclServer.listen(bclPort, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => bclServer?.close(resolve));
    await new Promise((resolve) => server?.close(resolve));
    await env?.close();
  });

  it('signs in through the gateway, reads userinfo, refreshes and logs out everywhere', async () => {
    const b = new Browser();
    const signIn = await visitSigningIn(b, `${appUrl}/login`, 'zhangsan');
    const landed = signIn.at(-1)!;
    assert.equal(landed.url, `${appUrl}/`, signIn.map((h) => `${h.status} ${h.url}`).join('\n'));
    const { user } = JSON.parse(landed.body) as { user: Record<string, string> };
    assert.equal(user.user_name, 'zhangsan');
    assert.equal(user.tenant, 't-acme');
    assert.equal(user.role, 'admin');

    const info = JSON.parse((await b.request(`${appUrl}/userinfo`)).body) as Record<string, string>;
    assert.equal(info.sub, user.sub);
    assert.equal(info.name, '张三');

    const refreshed = await b.request(`${appUrl}/refresh`);
    assert.equal(refreshed.status, 200, refreshed.body);
    assert.equal((JSON.parse(refreshed.body) as { refreshed: boolean }).refreshed, true);

    const out = await confirmSignOut(b, await follow(b, `${appUrl}/logout`));
    assert.equal(out.at(-1)!.url, `${appUrl}/`, out.map((h) => `${h.status} ${h.url}`).join('\n'));
    assert.deepEqual(JSON.parse(out.at(-1)!.body), { user: null }, 'signed out of the app');
    assert.equal((await b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } })).status, 401, 'and of the gateway');
  });

  it('its back-channel logout accepts the gateway\'s logout token: signing out at the gateway signs out of the app', async () => {
    const b = new Browser();
    const landed = (await visitSigningIn(b, `${bclUrl}/login`, 'zhangsan')).at(-1)!;
    assert.equal((JSON.parse(landed.body) as { user: { user_name: string } | null }).user?.user_name, 'zhangsan', landed.body.slice(0, 300));
    await follow(b, `${env.base}/logout`);
    await waitFor('the app to sign the person out', async () => JSON.parse((await b.request(`${bclUrl}/`)).body).user === null, 5000);
  });
});

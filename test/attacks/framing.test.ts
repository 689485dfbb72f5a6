// Attack: clickjacking. Another site frames the gateway's pages (sign-in, company chooser,
// sign-out confirmation, errors) and tricks the person into clicking. Every page of the gateway
// now says frame-ancestors 'none' and X-Frame-Options: DENY (with nosniff and a tight CSP), and
// callbacks send no Referer onwards; proxied app responses are left as the app made them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore } from '../../src/store/memory.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/web/security-headers.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { CHROMIUM_INSTALL, launchChromium, type Chromium } from '../helpers/chromium.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { requireBinary } from '../helpers/redis-server.ts';
import * as client from 'openid-client';
import { oidcWalker } from '../oidc/walk.ts';

const REDIRECT = 'https://rp.example.com/cb';
const RP_SECRET = 'rp-secret-0123456789abcdef0123456789';

function assertUnframeable(res: { status: number; headers: Headers }, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /frame-ancestors 'none'/, `${what} (${res.status}): ${csp}`);
  assert.match(csp, /default-src 'none'/, what);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
}

describe('attack: framing the gateway pages', () => {
  let env: LoginEnv;
  let app: Server;
  let proxied: LoginEnv;
  let appUp = true;
  before(async () => {
    env = await startLoginEnv(new MemoryStore(), {
      app: { url: 'https://app.example.com' },
      oidc: { clients: [{ client_id: 'rp', client_secret: RP_SECRET, redirect_uris: [REDIRECT], post_logout_redirect_uris: ['https://rp.example.com/bye'] }] },
    });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
    app = createServer((req, res) => {
      if (!appUp) return req.socket.destroy();
      res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': "frame-ancestors https://partner.example.com" }).end('<p>the app</p>');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    proxied = await startLoginEnv(new MemoryStore(), { app: { url: `http://127.0.0.1:${(app.address() as AddressInfo).port}`, proxy: true }, access: { rules: [{ pathPrefix: '/admin', role: 'admin' }] } });
    await proxied.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env?.close();
    await proxied?.close();
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
  });

  const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { redirect: 'manual', headers });

  it('every HTML page of the gateway refuses to be framed', async () => {
    const pages: Array<[string, string]> = [
      ['the company chooser', `${env.base}/login`],
      ['a refused callback', `${env.base}/oauth/callback?code=x&state=forged`],
      ['a refused CAS callback', `${env.base}/cas/callback?tenant=t-acme&ticket=bad`],
      ['the signed-out page', `${env.base}/signed-out`],
      ['an OIDC provider error page', `${env.base}/oidc/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`],
      ['the OIDC sign-out question', `${env.base}/oidc/session/end`],
    ];
    for (const [what, url] of pages) {
      const res = await get(url, { accept: 'text/html' });
      assert.match(res.headers.get('content-type') ?? '', /text\/html/, `${what}: ${res.status}`);
      assertUnframeable(res, what);
    }
  });

  it('redirects and JSON answers carry the same headers; callbacks send no Referer on', async () => {
    assertUnframeable(await get(`${env.base}/login?tenant=acme`), '/login redirect');
    assertUnframeable(await get(`${env.base}/auth/session`, { accept: 'application/json' }), '/auth/session');
    for (const url of [`${env.base}/oauth/callback?code=x&state=forged`, `${env.base}/cas/callback?tenant=t-acme&ticket=ST-1`]) {
      assert.equal((await get(url)).headers.get('referrer-policy'), 'no-referrer', url);
    }
    // a successful callback's redirect too
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    const pages = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
    const callback = pages.find((p) => new URL(p.url).pathname === '/oauth/callback');
    assert.ok(callback, pages.map((p) => p.url).join(' -> '));
    assert.ok(callback.status >= 300 && callback.status < 400, String(callback.status));
    assert.equal(callback.headers.get('referrer-policy'), 'no-referrer');
    assertUnframeable(callback, 'the callback redirect');
  });

  it('positive control: the OIDC form_post page still runs its one inline script (its hash is added to script-src)', async () => {
    const rp = await client.discovery(new URL(`${env.base}/oidc`), 'rp', RP_SECRET, undefined, { execute: [client.allowInsecureRequests] });
    const walker = oidcWalker(env, rp, REDIRECT);
    const b = new Browser();
    const url = client.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT, scope: 'openid', response_mode: 'form_post', tenant: 'acme', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const w = await walker.signInAtOneAccess(b, await walker.walk(b, url.href), 'lisi');
    assert.equal(w.page.status, 200, w.page.body.slice(0, 300));
    assert.match(w.page.body, new RegExp(`action="${REDIRECT}"`));
    const script = /<script>([\s\S]*?)<\/script>/.exec(w.page.body)?.[1];
    assert.ok(script, w.page.body.slice(0, 300));
    const csp = w.page.headers.get('content-security-policy') ?? '';
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(script).digest('base64')}'`), csp);
    assert.match(csp, /frame-ancestors 'none'/);
  });

  it("proxy mode: the gateway's own answers for app paths refuse framing; the app's pages keep the app's headers", async () => {
    assertUnframeable(await get(`${proxied.base}/page`, { accept: 'text/html' }), 'the redirect to sign in');
    const b = new Browser();
    const form = last(await b.follow(`${proxied.base}/login?tenant=acme`));
    await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
    const cookie = `bridge.sid=${b.cookie(proxied.base, 'bridge.sid')}`;
    assertUnframeable(await get(`${proxied.base}/admin`, { cookie, accept: 'text/html' }), 'the 403 page');
    appUp = false;
    try {
      assertUnframeable(await get(`${proxied.base}/page`, { cookie, accept: 'text/html' }), 'the 502 page');
    } finally {
      appUp = true;
    }
    // positive control: the app's response is the app's
    const page = await get(`${proxied.base}/page`, { cookie });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), 'frame-ancestors https://partner.example.com');
    assert.equal(page.headers.get('x-frame-options'), null);
    assert.equal(page.headers.get('referrer-policy'), null);
  });

  describe('in a real browser', requireBinary('chromium', CHROMIUM_INSTALL), () => {
    let chrome: Chromium;
    let evil: Server;
    before(async () => {
      chrome = await launchChromium();
      evil = createServer((req, res) => {
        const target = new URL(req.url ?? '/', 'http://x').searchParams.get('frame') ?? '';
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>evil</title><iframe id="f" src="${target}" width="600" height="400"></iframe>`);
      });
      await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    });
    after(async () => {
      await chrome?.close();
      await new Promise((r) => evil?.close(r));
    });

    it('another site cannot frame the chooser; opened directly it renders under its own policy without violations', async () => {
      const context = await chrome.browser.newContext();
      try {
        const page = await context.newPage();
        const violations: string[] = [];
        page.on('console', (m) => {
          if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
        });
        // served from localhost, the gateway from 127.0.0.1: another site
        await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/?frame=${encodeURIComponent(`${env.base}/login`)}`);
        await page.waitForTimeout(300);
        const frame = page.frames().find((f) => f !== page.mainFrame());
        const framedText = frame ? await frame.evaluate<string>("document.body ? document.body.innerText : ''").catch(() => '') : '';
        assert.doesNotMatch(framedText, /company|公司|tenant/i, `the chooser rendered inside the frame: ${framedText.slice(0, 200)}`);
        assert.ok(violations.some((v) => /frame-ancestors|X-Frame-Options/.test(v)), `the browser said why: ${violations.join(' | ')}`);

        // positive control
        violations.length = 0;
        const direct = await page.goto(`${env.base}/login`);
        assert.equal(direct?.status(), 200);
        assert.equal(direct?.headers()['content-security-policy'], CONTENT_SECURITY_POLICY);
        assert.ok((await page.locator('form').count()) > 0, 'the chooser form is there');
        const styled = await page.evaluate<string>('getComputedStyle(document.body).fontFamily');
        assert.ok(styled.length > 0);
        assert.deepEqual(violations, [], 'the page itself breaks none of its own policy');
      } finally {
        await context.close();
      }
    });
  });
});

// Attack: in proxy mode the app received the gateway's session cookie (and its OIDC and
// login-transaction cookies) with every request and upgrade; anyone reading the app's logs
// could replay the session. The gateway's cookies stay with the gateway (and the app cannot set
// them either); the app's pass as sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore } from '../../src/store/memory.ts';
import { isGatewayCookie, withoutCookies } from '../../src/web/cookies.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { upgradeStatus } from '../helpers/upgrade.ts';

describe('attack: the gateway cookie leaks through the proxy to the app', () => {
  let app: Server;
  let env: LoginEnv;
  let sid: string;
  const seen: IncomingHttpHeaders[] = [];
  before(async () => {
    app = createServer((req, res) => {
      seen.push(req.headers);
      // an app that (by mistake or not) sets the gateway's cookie next to its own
      if (req.url === '/set') res.setHeader('set-cookie', ['bridge.sid=fixated; Path=/', 'app_session=new; Path=/', '__Host-bridge=x; Path=/; Secure']);
      res.end('ok');
    });
    app.on('upgrade', (req, socket) => {
      seen.push(req.headers);
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    env = await startLoginEnv(new MemoryStore(), { app: { url: `http://127.0.0.1:${(app.address() as AddressInfo).port}`, proxy: true } });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
    sid = b.cookie(env.base, 'bridge.sid')!;
    assert.ok(sid);
  });
  after(async () => {
    await env?.close();
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
  });

  // what a browser holds on the shared origin: the gateway's cookies mixed with the app's
  const jar = () =>
    `app_session=abc123; bridge.sid=${sid}; theme=dark; bridge.tx=tx1; bridge.oidc=o1; bridge.oidc.sig=s1; bridge.oidc.interaction=i1; __Host-bridge=h1; __Host-bridge-tx=h2; bridgework=keep; mybridge.sid=keep`;

  it('a proxied request carries the app cookies only, in order; the session still authorizes it', async () => {
    seen.length = 0;
    const res = await fetch(`${env.base}/dashboard`, { headers: { cookie: jar() } });
    assert.equal(res.status, 200, 'positive control: the session cookie was read by the gateway');
    assert.equal(seen[0]!.cookie, 'app_session=abc123; theme=dark; bridgework=keep; mybridge.sid=keep');
    assert.ok(!JSON.stringify(seen[0]).includes(sid), 'the session id appears nowhere in what the app received');
  });

  it('with only gateway cookies, the app gets no Cookie header at all', async () => {
    seen.length = 0;
    await fetch(`${env.base}/dashboard`, { headers: { cookie: `bridge.sid=${sid}` } });
    assert.equal(seen[0]!.cookie, undefined);
  });

  it('upgrades are stripped the same way', async () => {
    seen.length = 0;
    const status = await upgradeStatus(env.base, '/ws', jar());
    assert.match(status, /^HTTP\/1\.1 101 /);
    assert.equal(seen[0]!.cookie, 'app_session=abc123; theme=dark; bridgework=keep; mybridge.sid=keep');
  });

  it("the app cannot set, clear or fixate the gateway's cookies; its own Set-Cookie passes", async () => {
    const res = await fetch(`${env.base}/set`, { headers: { cookie: `bridge.sid=${sid}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers.getSetCookie(), ['app_session=new; Path=/']);
  });

  it('names the family exactly', () => {
    for (const n of ['bridge.sid', 'bridge.tx', 'bridge.oidc', 'bridge.oidc.resume.sig', '__Host-bridge', '__Host-bridge-tx', '__Secure-bridge.x', 'bridge']) assert.ok(isGatewayCookie(n), n);
    for (const n of ['bridgework', 'mybridge.sid', 'Bridge.sid', 'app', '__Host-app']) assert.ok(!isGatewayCookie(n), n);
    assert.equal(withoutCookies('a=1;b=2 ;  bridge.sid=x;flag', isGatewayCookie), 'a=1; b=2; flag');
  });
});

// nginx in front of the gateway and an app on one origin, with the very config docs/nginx.md
// shows: forward-auth, the login redirect, identity headers that clients cannot forge, sign-out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Browser, hiddenInput, last, type Page } from '../helpers/browser.ts';
import { GUIDE_VALUES, NGINX_INSTALL, renderSite } from '../helpers/nginx.ts';
import { requireBinary } from '../helpers/redis-server.ts';
import type { Seen } from './sample-app.ts';
import { startStack, type Stack } from './stack.ts';

const needNginx = requireBinary('nginx', NGINX_INSTALL);

describe('docs/nginx.md', () => {
  it('shows exactly the config the nginx tests run (examples/nginx/bridge.conf.template)', () => {
    const guide = readFileSync(new URL('../../docs/nginx.md', import.meta.url), 'utf8');
    const block = /```nginx\n([\s\S]*?)```/.exec(guide)?.[1];
    const expected = renderSite(GUIDE_VALUES);
    assert.equal(block, expected, `docs/nginx.md's nginx block must be the template rendered with GUIDE_VALUES; paste:\n${expected}`);
  });
});

describe('nginx auth_request in front of the gateway and an app', needNginx, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ access: { rules: [{ pathPrefix: '/app/admin', role: 'admin' }] } });
    await stack.addTenant('t-acme', 'acme', [
      { userName: 'zhangsan', name: '张三', role: 'admin', email: 'zhangsan@acme.example.com' },
      // no e-mail: the gateway sends no X-Auth-Request-Email for her
      { userName: 'lisi', name: '李四', role: 'user' },
    ]);
  });
  after(() => stack?.close());

  const url = (path: string) => `${stack.origin}${path}`;

  /** the app URL -> the company chooser -> "acme" -> the OneAccess form -> the user's button */
  async function signIn(b: Browser, userName: string, path = '/app/page'): Promise<Page[]> {
    const chooser = last(await b.follow(url(path)));
    assert.equal(chooser.status, 200, chooser.body.slice(0, 300));
    const q = new URLSearchParams({ tenant: 'acme', return_to: hiddenInput(chooser.body, 'return_to')!, protocol: hiddenInput(chooser.body, 'protocol')! });
    const form = last(await b.follow(url(`/login?${q}`)));
    assert.equal(form.status, 200, form.body.slice(0, 300));
    return b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: hiddenInput(form.body, 'continue')! });
  }

  async function seen(b: Browser, path: string, headers: Record<string, string> = {}): Promise<Seen> {
    const page = await b.request(url(path), { headers: { accept: 'application/json', ...headers } });
    assert.equal(page.status, 200, `${path}: ${page.status} ${page.body.slice(0, 300)}\n${stack.nginx.errorLog().slice(-2000)}`);
    return JSON.parse(page.body) as Seen;
  }

  it('without a session: 302 to the gateway /login with return_to = the original URL', async () => {
    const res = await new Browser().request(url('/app/page?tab=1&q=%E4%B8%AD'));
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${stack.origin}/login?return_to=${encodeURIComponent(`${stack.origin}/app/page?tab=1&q=%E4%B8%AD`)}`);
    // the check itself is for nginx only
    assert.equal((await new Browser().request(url('/auth/verify'))).status, 404);
  });

  it('sign-in through nginx ends on the original page; the app gets the identity and a JWT that verifies', async () => {
    const b = new Browser();
    const end = last(await signIn(b, 'zhangsan', '/app/page?tab=1'));
    assert.equal(end.url, url('/app/page?tab=1'));
    assert.equal(end.status, 200);
    assert.match(end.body, /<h1 id="name">张三<\/h1>/);

    const s = await seen(b, '/app/page?tab=1');
    const dirUser = await stack.env.gw.directory.getUser('prod', 't-acme', 'zhangsan');
    assert.equal(s.headers['x-auth-request-subject'], dirUser!.sub);
    assert.equal(s.headers['x-auth-request-tenant'], 't-acme');
    assert.equal(s.headers['x-auth-request-user'], 'zhangsan');
    assert.equal(s.headers['x-auth-request-role'], 'admin');
    assert.equal(s.headers['x-auth-request-email'], 'zhangsan@acme.example.com');
    assert.equal(decodeURIComponent(String(s.headers['x-auth-request-name'])), '张三');
    assert.ok(s.token.ok, JSON.stringify(s.token));
    assert.equal(s.token.claims.iss, stack.origin);
    assert.equal(s.token.claims.aud, stack.appUrl);
    assert.equal(s.token.claims.sub, dirUser!.sub);
    assert.equal(s.token.claims.name, '张三');

    // the gateway's JSON identity is on the same origin
    const session = await b.request(url('/auth/session'), { headers: { accept: 'application/json' } });
    assert.equal(JSON.parse(session.body).user_name, 'zhangsan');
  });

  it('client-sent identity headers never reach the app, signed in or not', async () => {
    const forged = { 'X-Auth-Request-User': 'admin', 'X-Auth-Request-Role': 'admin', 'X-Auth-Request-Email': 'admin@evil.example', 'X-Auth-Request-Jwt': 'forged', X_Auth_Request_Role: 'admin' };
    const anonymous = await new Browser().request(url('/app/page'), { headers: forged });
    assert.equal(anonymous.status, 302);

    const b = new Browser();
    await signIn(b, 'lisi');
    const s = await seen(b, '/app/page', forged);
    assert.equal(s.headers['x-auth-request-user'], 'lisi');
    assert.equal(s.headers['x-auth-request-role'], 'user');
    assert.equal(s.headers['x-auth-request-email'], undefined, 'no e-mail known: the header is dropped, not passed on');
    assert.equal(s.headers['x_auth_request_role'], undefined, 'nginx drops names with underscores');
    assert.ok(s.token.ok, JSON.stringify(s.token));
    assert.equal(s.token.claims.user_name, 'lisi');
  });

  it('per-path rules see the real URI, whatever X-Forwarded-Uri the client sends', async () => {
    const staff = new Browser();
    await signIn(staff, 'lisi');
    const spoof = { 'X-Forwarded-Uri': '/app/page', 'X-Original-URI': '/app/page' };
    assert.equal((await staff.request(url('/app/admin/users'), { headers: spoof })).status, 403);
    assert.equal((await staff.request(url('/app/page'))).status, 200);
    const boss = new Browser();
    await signIn(boss, 'zhangsan');
    assert.equal((await boss.request(url('/app/admin/users'))).status, 200);
  });

  it('a WebSocket upgrade reaches the app with the identity; without a session it is redirected', async () => {
    const b = new Browser();
    await signIn(b, 'lisi');
    const open = await upgrade(stack.nginx.port, '/app/ws', `bridge.sid=${b.cookie(stack.origin, 'bridge.sid')}`);
    assert.match(open, /^HTTP\/1\.1 101 /);
    assert.match(open, /hello lisi\n[\s\S]*ping/);
    assert.match(await upgrade(stack.nginx.port, '/app/ws'), /^HTTP\/1\.1 302 /);
  });

  it('the marketplace sync path reaches the gateway', async () => {
    const res = await fetch(url('/produceAPI/v2/tenantSync'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 200);
    assert.notEqual(((await res.json()) as { resultCode: string }).resultCode, '000000', 'unsigned: refused by the gateway, not by nginx');
  });

  it('after /logout the app is unreachable again', async () => {
    const b = new Browser();
    await signIn(b, 'zhangsan');
    const cookie = b.cookie(stack.origin, 'bridge.sid');
    const signedOut = last(await b.follow(url('/logout')));
    assert.equal(new URL(signedOut.url).pathname, '/signed-out');
    assert.match(signedOut.body, /You are signed out/);
    assert.equal((await b.request(url('/app/page'))).status, 302);
    // the old cookie is dead too, not just forgotten by this browser
    assert.equal((await fetch(url('/app/page'), { redirect: 'manual', headers: { cookie: `bridge.sid=${cookie}` } })).status, 302);
  });
});

/** a raw Upgrade request; answers with everything read until the echo came back (101) or the head ended */
function upgrade(port: number, path: string, cookie?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let got = '';
    let pinged = false;
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(got);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer to the upgrade: ${JSON.stringify(got)}`)), 5000);
    socket.once('error', finish);
    socket.once('connect', () => {
      const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket', ...(cookie ? [`Cookie: ${cookie}`] : []), '', ''];
      socket.write(lines.join('\r\n'));
    });
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (!got.startsWith('HTTP/1.1 101 ')) {
        if (got.includes('\r\n\r\n')) finish();
      } else if (!pinged && /hello .*\n/.test(got)) {
        pinged = true;
        socket.write('ping');
      } else if (pinged && got.endsWith('ping')) finish();
    });
  });
}

// Attack: reaching a path an access rule keeps for admins ({pathPrefix: /admin, role: admin}) as
// a `user`, by spelling it so that the gateway and the app read it differently: case, repeated
// slashes, backslashes, encoded slashes and dots, `;` parameters, double encoding, NUL, dot
// segments, a comma that cut X-Forwarded-Uri short. Every header form of forward-auth, the Envoy
// /auth/verify/<path> form, proxy mode in front of a case-insensitive Express app, and WebSocket
// upgrades. The nginx guide's configuration is covered by test/e2e/path-table.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import express from 'express';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { upgradeStatus } from '../helpers/upgrade.ts';
import { ATTACKS } from '../fixtures/path-table.ts';

const RULES = { rules: [{ pathPrefix: '/admin', role: 'admin' }] };
const USERS = [
  { userName: 'boss', name: 'Boss', role: 'admin' as const },
  { userName: 'staff', name: 'Staff', role: 'user' as const },
];

async function signIn(env: LoginEnv, userName: string): Promise<string> {
  const b = new Browser();
  const form = last(await b.follow(`${env.base}/login?tenant=acme`));
  await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: hiddenInput(form.body, 'continue')! });
  const sid = b.cookie(env.base, 'bridge.sid');
  assert.ok(sid, `${userName} signed in`);
  return `bridge.sid=${sid}`;
}

/** a request with the target exactly as written (fetch and supertest would normalise it) */
function raw(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('attack: path confusion in forward-auth', () => {
  let env: LoginEnv;
  let staff: string;
  let boss: string;
  before(async () => {
    env = await startLoginEnv(new MemoryStore(), { app: { url: 'https://app.example.com' }, access: RULES });
    await env.addTenant('t-acme', 'acme', USERS);
    staff = await signIn(env, 'staff');
    boss = await signIn(env, 'boss');
  });
  after(() => env?.close());

  // the ways a proxy tells the original path; supertest's peer (loopback) is a trusted proxy
  const forms: Record<string, (target: string, cookie: string) => Promise<{ status: number; body: string }>> = {
    'X-Original-URI (nginx)': (t, cookie) => raw(env.base, '/auth/verify', { cookie, 'x-original-uri': t }),
    'X-Forwarded-Uri (Traefik, Caddy)': (t, cookie) => raw(env.base, '/auth/verify', { cookie, 'x-forwarded-uri': t }),
    'X-Original-Url': (t, cookie) => raw(env.base, '/auth/verify', { cookie, 'x-original-url': `https://app.example.com${t}` }),
    'both nginx headers (the guide before this fix)': (t, cookie) => raw(env.base, '/auth/verify', { cookie, 'x-original-uri': t, 'x-forwarded-uri': t }),
    'Envoy /auth/verify/<path>': (t, cookie) => raw(env.base, `/auth/verify${t}`, { cookie }),
    // answered by express rather than the fast path
    '?redirect=true (Traefik)': (t, cookie) => raw(env.base, '/auth/verify?redirect=true', { cookie, 'x-forwarded-uri': t }),
  };

  for (const [form, send] of Object.entries(forms)) {
    it(`${form}: a user never passes for any spelling of /admin; an admin does, and a user passes elsewhere`, async () => {
      for (const c of ATTACKS) {
        const res = await send(c.target, staff);
        assert.equal(res.status, 403, `${c.target}: ${res.status} ${res.body}`);
      }
      // positive controls
      assert.equal((await send('/admin/users', boss)).status, 200);
      assert.equal((await send('/public/page?x=1', staff)).status, 200);
      assert.equal((await send('/administrator', staff)).status, 200, 'a prefix matches whole segments');
    });
  }

  it('an admin passes for every spelling that means /admin, and is refused only for the ambiguous ones', async () => {
    for (const c of ATTACKS) {
      const res = await forms['X-Original-URI (nginx)']!(c.target, boss);
      assert.equal(res.status, c.canonical ? 200 : 403, `${c.target}: ${res.body}`);
      if (!c.canonical) assert.match(JSON.parse(res.body).error_description, /cannot be judged/);
    }
  });

  it('a repeated original-path header is not believed', async () => {
    // two header lines (node joins them with ", "): one of them may be the client's
    // in both orders: believing either the first or the last line lets /admin through as /public
    const { hostname, port } = new URL(env.base);
    const twice = (first: string, second: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () =>
          socket.write(`GET /auth/verify HTTP/1.1\r\nHost: ${hostname}\r\nCookie: ${staff}\r\nX-Original-URI: ${first}\r\nX-Original-URI: ${second}\r\nConnection: close\r\n\r\n`),
        );
        let got = '';
        socket.on('data', (d: Buffer) => (got += d.toString()));
        socket.on('end', () => resolve(got.split(' ')[1] ?? ''));
        socket.on('error', reject);
      });
    assert.equal(await twice('/public', '/admin'), '403');
    assert.equal(await twice('/admin', '/public'), '403');
    assert.equal(await twice('/public', '/public'), '403', 'even when both lines agree, two of them are refused');
    // positive control: the same raw request with one line passes
    assert.equal((await forms['X-Original-URI (nginx)']!('/public', staff)).status, 200);
  });

  it('without rules no path is judged: the ambiguous ones pass, as before', async () => {
    const plain = await startLoginEnv(new MemoryStore(), {});
    try {
      await plain.addTenant('t-acme', 'acme', USERS);
      const cookie = await signIn(plain, 'staff');
      assert.equal((await raw(plain.base, '/auth/verify', { cookie, 'x-forwarded-uri': '/admin;x,y' })).status, 200);
    } finally {
      await plain.close();
    }
  });

  it('access.caseSensitivePaths: true compares case as written', async () => {
    const cs = await startLoginEnv(new MemoryStore(), { access: { ...RULES, caseSensitivePaths: true } });
    try {
      await cs.addTenant('t-acme', 'acme', USERS);
      const cookie = await signIn(cs, 'staff');
      assert.equal((await raw(cs.base, '/auth/verify', { cookie, 'x-original-uri': '/Admin' })).status, 200);
      assert.equal((await raw(cs.base, '/auth/verify', { cookie, 'x-original-uri': '//admin' })).status, 403);
    } finally {
      await cs.close();
    }
  });
});

describe('attack: path confusion in proxy mode (an Express app, case-insensitive routing)', () => {
  let app: Server;
  let env: LoginEnv;
  let staff: string;
  let boss: string;
  before(async () => {
    const e = express();
    // Express routes case-insensitively by default: /Admin is /admin here
    e.get('/admin', (_req, res) => res.send('admin area'));
    e.get('/admin/users', (_req, res) => res.send('admin area'));
    e.use((req, res) => res.send(`page ${req.url}`));
    app = createServer(e);
    app.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    env = await startLoginEnv(new MemoryStore(), { app: { url: `http://127.0.0.1:${(app.address() as AddressInfo).port}`, proxy: true }, access: RULES });
    await env.addTenant('t-acme', 'acme', USERS);
    staff = await signIn(env, 'staff');
    boss = await signIn(env, 'boss');
  });
  after(async () => {
    await env?.close();
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
  });

  it('a user never reaches the admin area by any spelling; ambiguous ones get 400', async () => {
    for (const c of ATTACKS) {
      const res = await raw(env.base, c.target, { cookie: staff });
      assert.ok(res.status === 400 || res.status === 403, `${c.target}: ${res.status} ${res.body.slice(0, 200)}`);
      assert.doesNotMatch(res.body, /admin area/);
    }
    assert.equal((await raw(env.base, '/Admin', { cookie: staff })).status, 403);
    assert.equal((await raw(env.base, '/admin;x', { cookie: staff })).status, 400);
  });

  it('positive control: the admin reaches /Admin (the app serves it), the user reaches other pages', async () => {
    const admin = await raw(env.base, '/Admin', { cookie: boss });
    assert.equal(admin.status, 200);
    assert.equal(admin.body, 'admin area');
    const page = await raw(env.base, '/public,x?y=1', { cookie: staff });
    assert.equal(page.status, 200);
    assert.equal(page.body, 'page /public,x?y=1');
  });

  it('WebSocket upgrades are judged by the same canonical path', async () => {
    assert.match(await upgradeStatus(env.base, '/Admin/socket', staff), /^HTTP\/1\.1 403 /);
    assert.match(await upgradeStatus(env.base, '//admin/socket', staff), /^HTTP\/1\.1 403 /);
    assert.match(await upgradeStatus(env.base, '/admin;x/socket', staff), /^HTTP\/1\.1 400 /);
    assert.match(await upgradeStatus(env.base, '/Admin/socket', boss), /^HTTP\/1\.1 101 /);
    assert.match(await upgradeStatus(env.base, '/public/socket', staff), /^HTTP\/1\.1 101 /);
  });
});

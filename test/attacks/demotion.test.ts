// Attack: a demoted admin keeps admin. The marketplace takes a role away (or renames the person,
// their department, the tenant), but live sessions went on answering with the identity of the
// sign-in until they ended, and OIDC refresh kept returning role admin. Now every live session's
// headers, identity token, /auth/session, OIDC userinfo and next ID token follow within 2 s on
// every instance (two gateways on one Redis; one embedded store).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort, requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { tempEmbeddedStore } from '../helpers/stores.ts';
import type { Put } from '../../src/store/store.ts';
import { twoInstancesOnRedis } from '../helpers/two-instances.ts';
import { oidcWalker } from '../oidc/walk.ts';

const users = [
  { userName: 'zhangsan', name: '张三', role: 'admin' as const },
  { userName: 'boss', name: '老板', role: 'admin' as const },
  { userName: 'oidcadmin', name: 'OIDC Admin', role: 'admin' as const },
];
// an app that signs people in through the gateway's OIDC provider
const OIDC_SECRET = 'app-secret-0123456789abcdefghijklmnop';
const REDIRECT = 'http://127.0.0.1:9/cb';
const oidc = { clients: [{ client_id: 'app', client_secret: OIDC_SECRET, redirect_uris: [REDIRECT] }] };
const synced = (u: { userName: string; name: string; role: string }, extra: Record<string, string> = {}) => ({ userName: u.userName, name: u.name, orgCode: '10', role: u.role, enable: 'true', email: `${u.userName}@acme.example.com`, ...extra });

async function signIn(env: LoginEnv, b: Browser, user: string, tenant = 'acme'): Promise<void> {
  const form = last(await b.follow(`${env.base}/login?tenant=${tenant}`));
  const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: user, continue: hiddenInput(form.body, 'continue')! }));
  assert.ok(end.status !== 403 && end.status < 500, end.body.slice(0, 300));
}

interface Seen {
  status: number;
  role?: string | null;
  name?: string | null;
  email?: string | null;
  jwt?: Record<string, unknown>;
  admin: number;
  session: Record<string, unknown>;
}

/** what one instance says about a browser's session: /auth/verify (plain and /admin) and /auth/session */
async function look(base: string, cookie: string): Promise<Seen> {
  const v = await fetch(`${base}/auth/verify`, { headers: { cookie, 'x-forwarded-uri': '/' } });
  const admin = await fetch(`${base}/auth/verify`, { headers: { cookie, 'x-forwarded-uri': '/admin/users' } });
  const s = await fetch(`${base}/auth/session`, { headers: { cookie, accept: 'application/json' } });
  const jwt = v.headers.get('x-auth-request-jwt');
  return {
    status: v.status,
    role: v.headers.get('x-auth-request-role'),
    name: v.headers.get('x-auth-request-name'),
    email: v.headers.get('x-auth-request-email'),
    ...(jwt ? { jwt: decodeJwt(jwt) } : {}),
    admin: admin.status,
    session: (await s.json()) as Record<string, unknown>,
  };
}

/** polls until `ok` holds (at most 2 s, the promise) and returns the last look */
async function within2s(base: string, cookie: string, ok: (s: Seen) => boolean): Promise<Seen> {
  const until = Date.now() + 2000;
  let seen = await look(base, cookie);
  while (!ok(seen) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await look(base, cookie);
  }
  return seen;
}

interface Instances {
  env: LoginEnv;
  /** every gateway base URL serving the same sessions */
  bases: string[];
  close(): Promise<void>;
}

function demotionSuite(name: string, open: () => Promise<Instances>): void {
  describe(`demotion reaches live sessions (${name})`, () => {
    let inst: Instances;
    let env: LoginEnv;
    before(async () => {
      inst = await open();
      env = inst.env;
      await env.addTenant('t-acme', 'acme', users);
      await env.addTenant('t-beta', 'beta', [{ userName: 'beta1', name: 'Beta One', role: 'admin' }]);
    });
    after(() => inst.close());

    const cookieOf = (b: Browser) => `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`;
    const authSync = (tenantId: string, userList: Array<Record<string, unknown>>) =>
      env.sync('authSync', { instanceId: `inst-${tenantId}`, tenantId, appId: 'app-1', userList, currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });

    it('a demoted admin loses admin within 2 s on every instance: headers, identity token, /auth/session, access rules', async () => {
      const victim = new Browser();
      await signIn(env, victim, 'zhangsan');
      const other = new Browser();
      await signIn(env, other, 'boss');
      const cookie = cookieOf(victim);
      // every instance has the session in its snapshot and token caches before the change
      for (const base of inst.bases) {
        const s = await look(base, cookie);
        assert.equal(s.status, 200);
        assert.equal(s.role, 'admin');
        assert.equal(s.jwt?.role, 'admin');
        assert.equal(s.admin, 200, 'an admin passes the admin rule');
        assert.equal(s.session.role, 'admin');
      }

      await authSync('t-acme', [synced({ userName: 'zhangsan', name: '张三丰', role: 'user' }, { email: 'zsf@acme.example.com', mobile: '13800000000', orgCode: '20' })]);

      for (const base of inst.bases) {
        const s = await within2s(base, cookie, (x) => x.role === 'user' && x.jwt?.role === 'user' && x.session.role === 'user' && x.admin === 403);
        assert.equal(s.status, 200, 'the session lives on, demoted');
        assert.equal(s.role, 'user', `X-Auth-Request-Role on ${base}`);
        assert.equal(s.admin, 403, `the admin rule refuses the demoted user on ${base}`);
        assert.equal(s.name, encodeURIComponent('张三丰'));
        assert.equal(s.email, 'zsf@acme.example.com');
        assert.deepEqual(
          { role: s.jwt?.role, name: s.jwt?.name, email: s.jwt?.email, mobile: s.jwt?.mobile, org_code: s.jwt?.org_code },
          { role: 'user', name: '张三丰', email: 'zsf@acme.example.com', mobile: '13800000000', org_code: '20' },
        );
        assert.deepEqual(
          { role: s.session.role, name: s.session.name, email: s.session.email, mobile: s.session.mobile, org_code: s.session.org_code },
          { role: 'user', name: '张三丰', email: 'zsf@acme.example.com', mobile: '13800000000', org_code: '20' },
        );
        // positive control: an admin the push did not touch keeps admin
        const boss = await look(base, cookieOf(other));
        assert.equal(boss.role, 'admin');
        assert.equal(boss.admin, 200);
      }

      // the session record itself carries the new identity: what the OIDC provider reads (Sessions.byId)
      const sid = decodeURIComponent(victim.cookie(env.base, 'bridge.sid')!).slice(2).split('.')[0]!;
      const record = await env.gw.sessions.load(sid);
      assert.equal(record?.identity.claims.role, 'user');
      assert.equal(record?.identity.claims.name, '张三丰');

      // and a promotion comes back the same way
      await authSync('t-acme', [synced({ userName: 'zhangsan', name: '张三丰', role: 'admin' })]);
      for (const base of inst.bases) {
        const s = await within2s(base, cookie, (x) => x.role === 'admin' && x.admin === 200);
        assert.equal(s.role, 'admin');
        assert.equal(s.admin, 200);
      }
    });

    it('OIDC: userinfo on every instance and the next ID token follow the demotion', async () => {
      const rp = await client.discovery(new URL(`${env.base}/oidc`), 'app', OIDC_SECRET, undefined, { execute: [client.allowInsecureRequests] });
      const { tokens } = await oidcWalker(env, rp, REDIRECT).signIn(new Browser(), 'oidcadmin');
      assert.equal(tokens.claims()!.role, 'admin');
      const userinfo = new URL(rp.serverMetadata().userinfo_endpoint!);
      const info = async (base: string) => {
        const res = await fetch(`${base}${userinfo.pathname}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        assert.equal(res.status, 200, `userinfo on ${base}`);
        return (await res.json()) as Record<string, unknown>;
      };
      for (const base of inst.bases) assert.equal((await info(base)).role, 'admin');

      await authSync('t-acme', [synced({ userName: 'oidcadmin', name: 'OIDC User', role: 'user' })]);

      for (const base of inst.bases) {
        const until = Date.now() + 2000;
        let seen = await info(base);
        while (seen.role !== 'user' && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 100));
          seen = await info(base);
        }
        assert.equal(seen.role, 'user', `userinfo on ${base}`);
        assert.equal(seen.name, 'OIDC User');
      }
      const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
      assert.equal(refreshed.claims()!.role, 'user');
      assert.equal(refreshed.claims()!.name, 'OIDC User');
    });

    it('a tenant rename reaches every session of the tenant, and only that tenant', async () => {
      const a = new Browser();
      await signIn(env, a, 'boss');
      const b = new Browser();
      await signIn(env, b, 'beta1', 'beta');
      for (const base of inst.bases) assert.equal((await look(base, cookieOf(a))).jwt?.tenant_name, 'acme Ltd');

      const origin = env.origins.get('t-acme')!;
      await env.sync('tenantSync', { instanceId: 'inst-t-acme', orderId: 'CS1', tenantId: 't-acme', tenantCode: 'acme', name: 'Acme Renamed Ltd', domainName: origin, flag: 2, testFlag: 0, timeStamp: nextTimeStamp() });

      for (const base of inst.bases) {
        const s = await within2s(base, cookieOf(a), (x) => x.jwt?.tenant_name === 'Acme Renamed Ltd' && x.session.tenant_name === 'Acme Renamed Ltd');
        assert.equal(s.status, 200);
        assert.equal(s.jwt?.tenant_name, 'Acme Renamed Ltd');
        assert.equal(s.session.tenant_name, 'Acme Renamed Ltd');
        const beta = await look(base, cookieOf(b));
        assert.equal(beta.status, 200);
        assert.equal(beta.jwt?.tenant_name, 'beta Ltd', 'another tenant is untouched');
      }
    });

    it('a push that takes the authorization away ends the session on every instance', async () => {
      const b = new Browser();
      await signIn(env, b, 'beta1', 'beta');
      for (const base of inst.bases) assert.equal((await look(base, cookieOf(b))).status, 200);
      await authSync('t-beta', [synced({ userName: 'beta1', name: 'Beta One', role: 'admin' }, { enable: 'false' })]);
      for (const base of inst.bases) assert.equal((await within2s(base, cookieOf(b), (x) => x.status === 401)).status, 401);
    });
  });
}

const rules = { access: { rules: [{ pathPrefix: '/admin', role: 'admin' }] }, oidc };

demotionSuite('embedded', async () => {
  const opened = tempEmbeddedStore('bridge-demotion');
  const env = await startLoginEnv(opened.store, rules);
  return {
    env,
    bases: [env.base],
    async close() {
      await env.close();
      await opened.cleanup();
    },
  };
});

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('on Redis, two gateway instances', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  demotionSuite('redis, two instances', async () => {
    return twoInstancesOnRedis(redis!.url, 'demotion', rules);
  });
});

describe('a push that lands while a sign-in is being decided', () => {
  // the store calls a sign-in makes after reading the directory: the push runs right before the first one
  let duringSignIn: (() => Promise<void>) | null = null;
  const opened = tempEmbeddedStore('bridge-demotion-race');
  const store = new Proxy(opened.store, {
    get(target, key) {
      if (key === 'putAll') {
        // Sessions.establish stores the index entries and the record in one putAll
        return async (changes: Put[]) => {
          const push = changes.some((c) => c.kind === 'member' && c.setKey.startsWith('idx:user:')) ? duringSignIn : null;
          duringSignIn = null;
          if (push) await push();
          return target.putAll(changes);
        };
      }
      if (key === 'addMember') {
        return async (setKey: string, member: string, ttlMs: number) => {
          const push = setKey.startsWith('idx:user:') ? duringSignIn : null;
          duringSignIn = null;
          if (push) await push();
          return target.addMember(setKey, member, ttlMs);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(store);
    await env.addTenant('t-acme', 'acme', [{ userName: 'racer', name: 'Racer', role: 'admin' }]);
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  it('still reaches the session that sign-in stores after the push looked for sessions', async () => {
    duringSignIn = () =>
      env.sync('authSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', appId: 'app-1', userList: [synced({ userName: 'racer', name: 'Racer', role: 'user' })], currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
    const b = new Browser();
    await signIn(env, b, 'racer');
    assert.equal(duringSignIn, null, 'the push ran during the sign-in');
    const s = await look(env.base, `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`);
    assert.equal(s.status, 200);
    assert.equal(s.role, 'user');
    assert.equal(s.session.role, 'user');
  });
});

/** an app behind proxy mode with a WebSocket endpoint that echoes, and says whom it was told about */
async function startWsApp(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Duplex>();
  const app = createServer((_req, res) => res.end('app'));
  app.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-Role: ${req.headers['x-auth-request-role'] ?? ''}\r\n\r\n`);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => socket.destroy());
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((r) => app.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      app.closeAllConnections();
      await new Promise((r) => app.close(r));
    },
  };
}

interface OpenSocket {
  head: string;
  socket: Socket;
  closed: Promise<void>;
  echo(text: string): Promise<string>;
}

/** a WebSocket handshake through the gateway with this cookie; resolves once the 101 head is in */
function openWs(base: string, cookie: string): Promise<OpenSocket> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${cookie}\r\n\r\n`),
    );
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    let buf = '';
    const onHead = (d: Buffer) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      socket.off('data', onHead);
      const echo = (text: string) =>
        new Promise<string>((ok) => {
          socket.once('data', (e) => ok(e.toString('latin1')));
          socket.write(text);
        });
      resolve({ head: buf, socket, closed, echo });
    };
    socket.on('data', onHead);
    socket.on('error', reject);
  });
}

function wsSuite(name: string, open: (appUrl: string) => Promise<Instances>): void {
  describe(`proxy mode: open WebSockets follow the directory (${name})`, () => {
    let app: { url: string; close(): Promise<void> };
    let inst: Instances;
    before(async () => {
      app = await startWsApp();
      inst = await open(app.url);
      await inst.env.addTenant('t-acme', 'acme', users);
    });
    after(async () => {
      // the app first: its end of each tunnel closing tears down the gateway's end too
      await app.close();
      await inst.close();
    });

    it("a demoted admin's open WebSocket is closed on every instance; a reconnect carries the new role; others stay open", async () => {
      const { env } = inst;
      const victim = new Browser();
      await signIn(env, victim, 'zhangsan');
      const other = new Browser();
      await signIn(env, other, 'boss');
      const cookieOf = (b: Browser) => `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`;
      const demoted: OpenSocket[] = [];
      const kept: OpenSocket[] = [];
      for (const base of inst.bases) {
        const ws = await openWs(base, cookieOf(victim));
        assert.match(ws.head, /^HTTP\/1\.1 101/);
        assert.match(ws.head, /X-Seen-Role: admin/);
        demoted.push(ws);
        kept.push(await openWs(base, cookieOf(other)));
      }

      await env.sync('authSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', appId: 'app-1', userList: [synced({ userName: 'zhangsan', name: '张三', role: 'user' })], currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });

      const timeout = new Promise<'open'>((r) => setTimeout(() => r('open'), 2000).unref());
      for (const ws of demoted) assert.equal(await Promise.race([ws.closed.then(() => 'closed' as const), timeout]), 'closed');
      for (const ws of kept) {
        assert.equal(await ws.echo('ping'), 'ping', 'an untouched session keeps its WebSocket');
        ws.socket.destroy();
      }
      for (const base of inst.bases) {
        const again = await openWs(base, cookieOf(victim));
        assert.match(again.head, /X-Seen-Role: user/);
        again.socket.destroy();
      }
    });
  });
}

wsSuite('embedded', async (appUrl) => {
  const opened = tempEmbeddedStore('bridge-demotion-ws');
  const env = await startLoginEnv(opened.store, { app: { url: appUrl, proxy: true } });
  return {
    env,
    bases: [env.base],
    async close() {
      await env.close();
      await opened.cleanup();
    },
  };
});

describe('on Redis, two gateway instances in proxy mode', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  wsSuite('redis, two instances', async (appUrl) => {
    const settings = { app: { url: appUrl, proxy: true } };
    return twoInstancesOnRedis(redis!.url, 'demotion-ws', settings);
  });
});

describe('a directory change is not activity', () => {
  const opened = tempEmbeddedStore('bridge-demotion-idle');
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(opened.store, { session: { idleTimeoutSec: 2, absoluteTimeoutSec: 60 } });
    await env.addTenant('t-acme', 'acme', [{ userName: 'idler', name: 'Idler', role: 'admin' }]);
  });
  after(async () => {
    await env.close();
    await opened.cleanup();
  });

  it('a demoted session left alone still ends at its idle timeout', async () => {
    const b = new Browser();
    await signIn(env, b, 'idler');
    const signedIn = Date.now();
    const cookie = `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`;
    const sid = decodeURIComponent(b.cookie(env.base, 'bridge.sid')!).slice(2).split('.')[0]!;
    await new Promise((r) => setTimeout(r, 1200));
    await env.sync('authSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', appId: 'app-1', userList: [synced({ userName: 'idler', name: 'Idler', role: 'user' })], currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
    assert.equal((await env.gw.sessions.load(sid))?.identity.claims.role, 'user', 'the push reached the session');
    // 2 s after the last activity, whatever the push did
    await new Promise((r) => setTimeout(r, Math.max(0, signedIn + 2400 - Date.now())));
    assert.equal((await fetch(`${env.base}/auth/session`, { headers: { cookie, accept: 'application/json' } })).status, 401);
  });
});

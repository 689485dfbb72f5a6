// Attack (denial of service by name): a user name or e-mail address outside Latin-1 (王五,
// zhao@例子.中国) signed in, but every /auth/verify answered 503 (node's ERR_INVALID_CHAR on the
// header), and proxy mode could not send the request on. Every identity header value that needs
// it is now percent-encoded UTF-8, and plain ASCII values are sent as they are.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore } from '../../src/store/memory.ts';
import { headerValue, identityHeaders, nameHeaderValue } from '../../src/delivery/identity-headers.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';

const USERS = [
  { userName: '王五', name: '王五', email: 'zhao@例子.中国' },
  { userName: 'pct%41 x', name: 'Ünïcode "quoted"\ttab', email: 'o\'brien+tag@example.com' },
  // positive control: plain ASCII values
  { userName: 'zhangsan', name: 'Zhang San', email: 'zhangsan@acme.example.com' },
];

async function signIn(env: LoginEnv, userName: string): Promise<string> {
  const b = new Browser();
  const form = last(await b.follow(`${env.base}/login?tenant=acme`));
  const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: hiddenInput(form.body, 'continue')! }));
  assert.ok(end.status !== 403 && end.status < 500, `${userName}: ${end.status} ${end.body.slice(0, 200)}`);
  return `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`;
}

const decoded = (h: IncomingHttpHeaders | Headers, name: string) => {
  const v = h instanceof Headers ? h.get(name) : h[name];
  return typeof v === 'string' ? decodeURIComponent(v) : undefined;
};

describe('attack: identity headers for names outside Latin-1', () => {
  it('header values decode back to the claim, for any string; plain ASCII is unchanged', () => {
    for (const v of ['王五', 'zhao@例子.中国', '100%', ' padded ', 'a\r\nX-Injected: 1', '\ud800 lone surrogate', 'é', 'plain-ascii@x.example']) {
      const h = headerValue(v);
      assert.match(h, /^[\x21-\x7e]*$/, JSON.stringify(v));
      assert.equal(decodeURIComponent(h), v.replace('\ud800', '\ufffd'));
      const n = nameHeaderValue(v);
      assert.match(n, /^[\x21-\x7e]*$/);
      assert.equal(decodeURIComponent(n), v.replace('\ud800', '\ufffd'));
    }
    assert.equal(headerValue('zhangsan@acme.example.com'), 'zhangsan@acme.example.com');
    assert.equal(nameHeaderValue('老板 Boss'), encodeURIComponent('老板 Boss'), 'the name keeps the form it always had');
    const h = identityHeaders({ sub: 's1', tenant: 't', tenant_code: 't', user_name: '王五', role: 'user', email: 'zhao@例子.中国', name: '王五', idp: 'oneaccess-oauth' } as never, 'jwt');
    assert.equal(h['X-Auth-Request-User'], '%E7%8E%8B%E4%BA%94');
  });

  describe('through the gateway', () => {
    let env: LoginEnv;
    let app: Server;
    let proxied: LoginEnv;
    const seen: IncomingHttpHeaders[] = [];
    before(async () => {
      env = await startLoginEnv(new MemoryStore(), { app: { url: 'https://app.example.com' } });
      await env.addTenant('t-acme', 'acme', USERS);
      app = createServer((req, res) => {
        seen.push(req.headers);
        res.end('ok');
      });
      await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
      proxied = await startLoginEnv(new MemoryStore(), { app: { url: `http://127.0.0.1:${(app.address() as AddressInfo).port}`, proxy: true } });
      await proxied.addTenant('t-acme', 'acme', USERS);
    });
    after(async () => {
      await env?.close();
      await proxied?.close();
      app?.closeAllConnections();
      await new Promise((r) => app?.close(r));
    });

    it('/auth/verify answers 200 with headers that decode to the identity (was 503)', async () => {
      for (const u of USERS) {
        const res = await fetch(`${env.base}/auth/verify`, { headers: { cookie: await signIn(env, u.userName) } });
        assert.equal(res.status, 200, `${u.userName}: ${await res.text()}`);
        assert.equal(decoded(res.headers, 'x-auth-request-user'), u.userName);
        assert.equal(decoded(res.headers, 'x-auth-request-email'), u.email);
        assert.equal(decoded(res.headers, 'x-auth-request-name'), u.name);
      }
    });

    it('positive control: plain ASCII values are sent as they are', async () => {
      const res = await fetch(`${env.base}/auth/verify`, { headers: { cookie: await signIn(env, 'zhangsan') } });
      assert.equal(res.headers.get('x-auth-request-user'), 'zhangsan');
      assert.equal(res.headers.get('x-auth-request-email'), 'zhangsan@acme.example.com');
      assert.equal(res.headers.get('x-auth-request-name'), 'Zhang%20San');
    });

    it('proxy mode hands the app the same decodable headers (was a failed request)', async () => {
      for (const u of USERS) {
        seen.length = 0;
        const res = await fetch(`${proxied.base}/page`, { headers: { cookie: await signIn(proxied, u.userName) } });
        assert.equal(res.status, 200, `${u.userName}: ${await res.text()}`);
        assert.equal(decoded(seen[0]!, 'x-auth-request-user'), u.userName);
        assert.equal(decoded(seen[0]!, 'x-auth-request-email'), u.email);
        assert.equal(decoded(seen[0]!, 'x-auth-request-name'), u.name);
      }
    });
  });
});

// The whole path table of Issue 7 through a real nginx running the guide's configuration
// (examples/nginx/bridge.conf.template), and through Caddy running docs/caddy.md's Caddyfile, in
// front of the gateway and an app, with the rule {pathPrefix: /admin, role: admin}: a user never
// gets an admin path to the app, however it is spelled; an admin gets every spelling that means
// an admin path, and the app gets the path the gateway judged; the proxy's own refusals stay 400.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { canonicalPath, foldCase } from '../../src/web/canonical-path.ts';
import { CADDY_INSTALL } from '../helpers/caddy.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { NGINX_INSTALL } from '../helpers/nginx.ts';
import { requireBinary } from '../helpers/redis-server.ts';
import { ATTACKS, CORNERS, type PathCase } from '../fixtures/path-table.ts';
import { startStack, type Stack } from './stack.ts';

/** one request with the target byte for byte as written; status and body */
function raw(port: number, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const lines = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', 'Accept: application/json', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
      socket.write(Buffer.from(lines.join('\r\n'), 'utf8'));
    });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const at = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, at).toString('latin1');
      let body: Buffer = all.subarray(at + 4);
      if (/^transfer-encoding: *chunked/im.test(head)) body = unchunk(body);
      resolve({ status: Number(head.split(' ')[1]), body: body.toString('utf8') });
    });
    socket.on('error', reject);
    socket.setTimeout(5000, () => reject(new Error(`no answer for ${target}`)));
  });
}

function unchunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; ; ) {
    const eol = b.indexOf('\r\n', i);
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

/** what the request line can carry at all (spaces and controls cannot) */
const sendable = (c: PathCase) => c.target.startsWith('/') && c.target.length < 1000 && !/[\s\x00-\x1f]/.test(c.target);

type Front = 'nginx' | 'caddy';
const INSTALL: Record<Front, string> = { nginx: NGINX_INSTALL, caddy: CADDY_INSTALL };

/** what the proxy passes on (Caddy re-encodes a few characters), and what the gateway must answer */
function expectation(front: Front, c: PathCase, admin: boolean): { status: number; sent: string } {
  const sent = front === 'caddy' && typeof c.caddy === 'string' ? c.caddy : c.target;
  if ((front === 'nginx' ? c.nginx : c.caddy) === 400) return { status: 400, sent };
  // Caddy sends X-Forwarded-Uri, where a comma may be two folded values: refused while rules are set
  if (front === 'caddy' && sent.includes(',')) return { status: 403, sent };
  const r = canonicalPath(sent);
  if (!r.ok) return { status: 403, sent };
  return { status: /^\/admin(\/|$)/.test(foldCase(r.path)) && !admin ? 403 : 200, sent };
}

for (const front of ['nginx', 'caddy'] as const) {
  describe(`the path table through ${front} with the guide configuration`, requireBinary(front, INSTALL[front]), () => {
    let stack: Stack;
    let staff: string;
    let boss: string;
    before(async () => {
      stack = await startStack({ access: { rules: [{ pathPrefix: '/admin', role: 'admin' }] } }, front);
      await stack.addTenant('t-acme', 'acme', [
        { userName: 'zhangsan', name: '张三', role: 'admin' },
        { userName: 'lisi', name: '李四', role: 'user' },
      ]);
      staff = await signIn('lisi');
      boss = await signIn('zhangsan');
    });
    after(() => stack?.close());

    async function signIn(userName: string): Promise<string> {
      const b = new Browser();
      const chooser = last(await b.follow(`${stack.origin}/app/page`));
      const q = new URLSearchParams({ tenant: 'acme', return_to: hiddenInput(chooser.body, 'return_to')!, protocol: hiddenInput(chooser.body, 'protocol')! });
      const form = last(await b.follow(`${stack.origin}/login?${q}`));
      const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: hiddenInput(form.body, 'continue')! });
      const sid = b.cookie(stack.origin, 'bridge.sid');
      // on failure, every step: where the sign-in went wrong
      const steps = [form, ...hops].map((h) => `${h.status} ${h.url}`).join('\n');
      assert.ok(sid, `${userName} signed in\n${steps}\n${last(hops).body.slice(0, 400)}`);
      return `bridge.sid=${sid}`;
    }

    async function check(c: PathCase, who: 'user' | 'admin'): Promise<number> {
      const want = expectation(front, c, who === 'admin');
      const res = await raw(stack.nginx.port, c.target, { cookie: who === 'admin' ? boss : staff });
      assert.equal(res.status, want.status, `${who} ${c.target}: ${res.status} ${res.body.slice(0, 200)}`);
      if (res.status === 200) assert.equal((JSON.parse(res.body) as { url: string }).url, want.sent, 'the app gets the path the gateway judged');
      return res.status;
    }

    it('a user: every spelling of /admin is refused (403, or 400 from the proxy itself)', async () => {
      for (const c of ATTACKS.filter(sendable)) assert.notEqual(await check(c, 'user'), 200, c.target);
    });

    it('an admin: every unambiguous spelling reaches the app; the ambiguous ones are refused', async () => {
      for (const c of ATTACKS.filter(sendable)) await check(c, 'admin');
    });

    it('the RFC 3986 corner cases: judged by their canonical path, for both', async () => {
      for (const c of CORNERS.filter(sendable)) {
        await check(c, 'user');
        await check(c, 'admin');
      }
    });

    it("a client's own original-path headers neither win nor block", async () => {
      const forged = { cookie: staff, 'X-Forwarded-Uri': '/public', 'X-Original-URI': '/public', 'X-Original-Url': 'http://x/public' };
      assert.equal((await raw(stack.nginx.port, '/admin/users', forged)).status, 403);
      const stray = { cookie: staff, 'X-Forwarded-Uri': '/elsewhere', 'X-Original-URI': '/elsewhere', 'X-Original-Url': 'http://x/elsewhere' };
      assert.equal((await raw(stack.nginx.port, '/app/page', stray)).status, 200);
    });

    it(front === 'nginx' ? 'commas in URLs are fine (X-Original-URI only)' : 'commas in URLs are refused while rules are set (X-Forwarded-Uri)', async () => {
      const comma = await raw(stack.nginx.port, '/app/items/1,2,3?ids=4,5', { cookie: staff });
      if (front === 'caddy') return assert.equal(comma.status, 403);
      assert.equal(comma.status, 200, comma.body);
      assert.equal((JSON.parse(comma.body) as { url: string }).url, '/app/items/1,2,3?ids=4,5');
    });
  });
}

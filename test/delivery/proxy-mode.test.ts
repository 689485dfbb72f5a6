// Proxy mode end to end: the gateway fronts an app on its own origin, with real sign-ins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort } from '../helpers/redis-server.ts';

describe('proxy mode', () => {
  let app: Server;
  let appPort: number;
  let env: LoginEnv;
  const seen: IncomingMessage[] = [];
  const upgraded: Array<{ socket: Duplex; ended: boolean }> = [];

  before(async () => {
    appPort = await freePort();
    app = createServer((req, res) => {
      seen.push(req);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    // a minimal WebSocket endpoint: answer the handshake, then echo raw bytes
    app.on('upgrade', (req, socket) => {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-User: ${req.headers['x-auth-request-user'] ?? ''}\r\n\r\n`);
      socket.on('data', (d) => socket.write(d));
      const entry = { socket, ended: false };
      socket.on('end', () => (entry.ended = true));
      socket.on('close', () => (entry.ended = true));
      upgraded.push(entry);
    });
    await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', r));
    // the test client (loopback) is not a trusted proxy here, so its X-Forwarded-* must be ignored
    env = await startLoginEnv(new MemoryStore(), { app: { url: `http://127.0.0.1:${appPort}`, proxy: true }, trustedProxies: ['10.0.0.0/8'] });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env.close();
    for (const u of upgraded) u.socket.destroy();
    app.closeAllConnections();
    await new Promise((r) => app.close(r));
  });

  async function signedIn(): Promise<Browser> {
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
    return b;
  }

  it('a browser without a session is sent to /login with the original URL; an API caller gets 401', async () => {
    const b = new Browser();
    const res = await b.request(`${env.base}/reports/2026?x=1`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `${env.base}/login?return_to=${encodeURIComponent(`${env.base}/reports/2026?x=1`)}`);
    const api = await b.request(`${env.base}/api/items`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.equal(JSON.parse(api.body).error, 'unauthenticated');
    assert.equal(seen.length, 0, 'nothing reached the app');
  });

  it('with a session: the app gets the identity headers; client-sent ones and forwarded headers are replaced', async () => {
    const b = await signedIn();
    const res = await b.request(`${env.base}/dashboard`, { headers: { 'x-auth-request-user': 'admin', 'X-Auth-Request-Role': 'admin', 'x-forwarded-for': '6.6.6.6', 'x-auth-request-other': 'x' } });
    assert.equal(res.status, 200, res.body);
    const { url, headers } = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    assert.equal(url, '/dashboard');
    assert.equal(headers['x-auth-request-user'], 'lisi');
    assert.equal(headers['x-auth-request-role'], 'user');
    assert.equal(headers['x-auth-request-other'], undefined);
    assert.equal(decodeURIComponent(headers['x-auth-request-name']!), '李四');
    assert.ok(headers['x-auth-request-jwt']!.split('.').length === 3);
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers.host, `127.0.0.1:${appPort}`);
  });

  it("the gateway's own routes are not proxied", async () => {
    const b = await signedIn();
    const before = seen.length;
    assert.equal((await b.request(`${env.base}/auth/session`)).status, 200);
    assert.equal((await b.request(`${env.base}/healthz`)).status, 200);
    assert.equal((await b.request(`${env.base}/.well-known/jwks.json`)).status, 200);
    assert.equal(seen.length, before);
  });

  it('WebSocket upgrades pass with a session and are refused without one', async () => {
    const b = await signedIn();
    const { port } = new URL(env.base);
    const handshake = (cookie: string) =>
      new Promise<string>((resolve, reject) => {
        const s = connect(Number(port), '127.0.0.1', () => {
          s.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`);
        });
        let buf = '';
        s.on('data', (d) => {
          buf += d.toString('latin1');
          if (buf.includes('\r\n\r\n')) {
            if (buf.startsWith('HTTP/1.1 101')) s.write('ping');
            if (!buf.startsWith('HTTP/1.1 101') || buf.endsWith('ping')) {
              s.destroy();
              resolve(buf);
            }
          }
        });
        s.on('error', reject);
        s.on('close', () => resolve(buf));
        setTimeout(() => s.destroy(), 3000).unref();
      });
    const ok = await handshake(`bridge.sid=${b.cookie(env.base, 'bridge.sid')}`);
    assert.match(ok, /^HTTP\/1\.1 101/);
    assert.match(ok, /X-Seen-User: lisi/i);
    assert.ok(ok.endsWith('ping'), 'bytes flow both ways');
    const refused = await handshake('');
    assert.match(refused, /^HTTP\/1\.1 401/);
    // the client hung up: the proxy must hang up on the app too
    const deadline = Date.now() + 2000;
    while (upgraded.some((u) => !u.ended) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(upgraded.length > 0 && upgraded.every((u) => u.ended), 'upstream WebSocket closed after the client left');
    for (const u of upgraded) u.socket.destroy();
  });

  it('the app down: a clear 502 page', async () => {
    const b = await signedIn();
    app.closeAllConnections();
    await new Promise((r) => app.close(r));
    try {
      const res = await b.request(`${env.base}/anything`);
      assert.equal(res.status, 502);
      assert.match(res.body, /not answering/i);
      assert.ok(!res.body.includes(String(appPort)), 'no internal address in the page');
    } finally {
      await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', r));
    }
  });
});

// The proxy against a real upstream app on 127.0.0.1: header hygiene, streaming both ways,
// cancellation both ways, Location rewrite, WebSocket pass-through, and upstream failures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import { createAppProxy, IDENTITY_HEADERS, stripIdentityHeaders } from '../../src/delivery/proxy.ts';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const TIMEOUT_MS = 400;
const IDENTITY = {
  'X-Auth-Request-User': 'alice',
  'X-Auth-Request-Subject': 'acct-1',
  'X-Auth-Request-Tenant': 'tenant-1',
  'X-Auth-Request-Name': '%E5%BC%A0%E4%B8%89',
  'X-Auth-Request-Role': 'user',
};

/** a server plus every socket it ever accepted, so teardown can end upgraded and held connections too */
function tracked(server: Server): { server: Server; port: () => number; close: () => Promise<void> } {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    server,
    port: () => (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function listen(server: Server): Promise<void> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
}

// ---- upstream app ----
const events = new EventEmitter();
const upstreamUrls: string[] = [];
const held: http.ServerResponse[] = [];
const upstream = tracked(
  http.createServer((req, res) => {
    upstreamUrls.push(req.url!);
    const url = new URL(req.url!, 'http://upstream');
    switch (url.pathname) {
      case '/app/echo':
        return void readAll(req).then((body) => {
          const json = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: body.toString() });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
        });
      case '/app/hop-response':
        res.setHeader('Connection', 'keep-alive, X-Resp-Hop');
        res.setHeader('X-Resp-Hop', 'internal');
        res.setHeader('Proxy-Authenticate', 'Basic realm="upstream"');
        res.setHeader('Upgrade', 'h2c');
        res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
        res.setHeader('X-App', 'yes');
        return void res.end('ok');
      case '/app/redirect':
        res.writeHead(302, { location: url.searchParams.get('to')!.replace('{self}', `http://127.0.0.1:${upstream.port()}`) });
        return void res.end();
      case '/app/stream':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        return void events.once('release-stream', () => res.end('last'));
      case '/app/upload': {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          if (bytes === 0) events.emit('upload-started');
          bytes += chunk.length;
          hash.update(chunk);
        });
        return void req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      }
      case '/app/download': {
        let left = Number(url.searchParams.get('bytes'));
        const chunk = Buffer.alloc(64 * 1024, 7);
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end();
        };
        res.writeHead(200, { 'content-length': url.searchParams.get('bytes')! });
        return pump();
      }
      case '/app/hold':
        req.once('data', () => events.emit('hold-data'));
        res.on('close', () => events.emit('hold-closed'));
        // a POST gets no answer at all, so only the client leaving can end it
        if (req.method === 'GET') res.writeHead(200).write('first;');
        return;
      case '/app/slow-headers':
        return void held.push(res);
      case '/app/die':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial;');
        return void setTimeout(() => req.socket.destroy(), 50);
      default:
        res.writeHead(404).end();
    }
  }),
);
upstream.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
  if (req.url === '/app/ws-decline') {
    return void socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno');
  }
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${WS_GUID}`).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\nX-Seen-User: ${req.headers['x-auth-request-user']}\r\nX-Seen-Url: ${req.url}\r\n\r\n`,
  );
  socket.on('data', (frame: Buffer) => socket.write(wsFrame(unmask(frame), false)));
  socket.on('end', () => socket.end());
});

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** one final text frame, masked as a client must send it */
function wsFrame(payload: Buffer, masked: boolean): Buffer {
  assert.ok(payload.length < 126);
  if (!masked) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
}

function unmask(frame: Buffer): Buffer {
  const len = frame[1]! & 0x7f;
  const mask = frame.subarray(2, 6);
  return Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
}

// ---- gateways ----
const errors: unknown[] = [];
function gateway(target: string) {
  const proxy = createAppProxy({
    target,
    timeoutMs: TIMEOUT_MS,
    async authorize(req, res) {
      if (req.headers['x-test-auth'] !== 'deny') return { headers: IDENTITY };
      res?.writeHead(302, { location: '/login' }).end();
      return { handled: true };
    },
    forwarded: () => ({ for: '2001:db8::7', proto: 'https', host: 'gw.example:8443' }),
    onError: (err) => errors.push(err),
  });
  const g = tracked(http.createServer((req, res) => proxy.handle(req, res)));
  g.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => proxy.upgrade(req, socket, head));
  return { ...g, close: async () => (proxy.close(), g.close()) };
}
let gw: ReturnType<typeof gateway>;
let downGw: ReturnType<typeof gateway>;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      readAll(res).then((b) => resolve({ status: res.statusCode!, headers: res.headers, body: b.toString() }), reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * sends exactly these bytes (header case, duplicates and all) and reads until the gateway closes;
 * the head must ask for `Connection: close`, and the socket is not half-closed (node's server takes that as the client leaving)
 */
async function raw(port: number, head: string): Promise<{ status: number; head: string; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`${head}\r\n\r\n`);
  const text = (await readAll(socket)).toString();
  const [h = '', body = ''] = text.split(/\r\n\r\n(.*)/s);
  return { status: Number(h.split(' ')[1]), head: h, body };
}

before(async () => {
  await listen(upstream.server);
  gw = gateway(`http://127.0.0.1:${upstream.port()}/app/`);
  await listen(gw.server);
  const closed = tracked(http.createServer());
  await listen(closed.server);
  const deadPort = closed.port();
  await closed.close();
  downGw = gateway(`http://127.0.0.1:${deadPort}`);
  await listen(downGw.server);
});

after(async () => {
  for (const res of held) res.destroy();
  await Promise.all([gw.close(), downGw.close(), upstream.close()]);
});

describe('stripIdentityHeaders', () => {
  it('removes the whole x-auth-request- family in any case and keeps the rest', () => {
    const h: IncomingHttpHeaders = { 'x-auth-request-user': 'a', 'X-Auth-Request-Role': 'admin', 'x-auth-request-anything': 'b', 'x-authx': 'keep', cookie: 'c=1' };
    stripIdentityHeaders(h);
    assert.deepEqual(h, { 'x-authx': 'keep', cookie: 'c=1' });
    assert.equal(IDENTITY_HEADERS.length, 7);
    assert.ok(IDENTITY_HEADERS.every((n) => n === n.toLowerCase() && n.startsWith('x-auth-request-')));
  });
});

describe('request headers', () => {
  it('strips client identity, forwarding claims and hop-by-hop headers, then adds ours', async () => {
    const r = await raw(
      gw.port(),
      [
        'GET /echo?q=1 HTTP/1.1',
        'Host: gw.example:8443',
        'X-Auth-Request-User: mallory',
        'x-auth-request-user: mallory-again',
        'X-AUTH-REQUEST-JWT: forged',
        'X-Auth-Request-Anything: x',
        'X-Forwarded-For: 6.6.6.6',
        'X-Forwarded-Proto: http',
        'X-Forwarded-Host: evil.example',
        'X-Forwarded-Prefix: /evil',
        'Forwarded: for=6.6.6.6',
        'X-Real-IP: 6.6.6.6',
        'Connection: close, X-Hop-Custom',
        'X-Hop-Custom: secret',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Trailer: X-Foo',
        'Proxy-Authorization: Basic abc',
        'Upgrade: h2c',
        'Via: 1.1 corp-proxy',
        'X-Keep: yes',
      ].join('\r\n'),
    );
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as { url: string; headers: IncomingHttpHeaders };
    const h = seen.headers;
    assert.equal(seen.url, '/app/echo?q=1', 'target path prefix prepended');
    assert.equal(h.host, `127.0.0.1:${upstream.port()}`);
    assert.equal(h['x-auth-request-user'], 'alice');
    assert.equal(h['x-auth-request-name'], '%E5%BC%A0%E4%B8%89');
    for (const gone of ['x-auth-request-jwt', 'x-auth-request-anything', 'x-forwarded-prefix', 'x-real-ip', 'x-hop-custom', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'upgrade']) {
      assert.equal(h[gone], undefined, gone);
    }
    assert.equal(h['x-forwarded-for'], '2001:db8::7');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-forwarded-host'], 'gw.example:8443');
    assert.equal(h.forwarded, 'for="[2001:db8::7]";proto=https;host="gw.example:8443"');
    assert.equal(h.via, '1.1 corp-proxy, 1.1 oneaccess-bridge');
    assert.equal(h.connection, 'keep-alive', 'the upstream connection is our own');
    assert.equal(h['x-keep'], 'yes');
  });

  it('refuses absolute-form and dot-segment paths that could leave the prefix', async () => {
    const before = upstreamUrls.length;
    for (const path of ['/../admin', '/a/%2E%2e/admin', '/a/..\\admin', 'http://127.0.0.1/app/echo']) {
      const r = await raw(gw.port(), `GET ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close`);
      assert.equal(r.status, 400, path);
    }
    assert.equal(upstreamUrls.length, before);
  });
});

describe('responses', () => {
  it('drops hop-by-hop response headers and keeps cookies and the rest', async () => {
    const r = await request(gw.port(), '/hop-response');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
    assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
    assert.equal(r.headers['x-app'], 'yes');
    for (const gone of ['x-resp-hop', 'proxy-authenticate', 'upgrade']) assert.equal(r.headers[gone], undefined, gone);
  });

  it('rewrites a Location on the app origin to the public host, and leaves others alone', async () => {
    const cases: Array<[string, string]> = [
      ['{self}/app/landing?x=1#top', 'https://gw.example:8443/landing?x=1#top'],
      ['{self}/app', 'https://gw.example:8443/'],
      ['{self}/other', `http://127.0.0.1:${upstream.port()}/other`],
      ['https://idp.example/login', 'https://idp.example/login'],
      ['/relative/path', '/relative/path'],
    ];
    for (const [to, expected] of cases) {
      const r = await request(gw.port(), `/redirect?to=${encodeURIComponent(to)}`);
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, expected, to);
    }
  });

  it('lets authorize() answer by itself without touching the app', async () => {
    const before = upstreamUrls.length;
    const r = await request(gw.port(), '/echo', { headers: { 'x-test-auth': 'deny' } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/login');
    assert.equal(upstreamUrls.length, before);
  });
});

describe('streaming', () => {
  it('passes a content-length body', async () => {
    const r = await request(gw.port(), '/echo', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    const seen = JSON.parse(r.body) as { method: string; body: string; headers: IncomingHttpHeaders };
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.body, 'hello');
    assert.equal(seen.headers['content-length'], '5');
  });

  it('streams a 20 MB chunked upload: the app receives before the client has finished sending', { timeout: 10_000 }, async () => {
    const chunk = randomBytes(1024 * 1024);
    const hash = createHash('sha256');
    const req = http.request({ host: '127.0.0.1', port: gw.port(), path: '/upload', method: 'POST', agent: false });
    const reply = once(req, 'response') as Promise<[IncomingMessage]>;
    const started = once(events, 'upload-started');
    req.write(chunk);
    hash.update(chunk);
    await started; // a buffering proxy would wait for the whole body and never get here
    for (let i = 1; i < 20; i++) {
      hash.update(chunk);
      if (!req.write(chunk)) await once(req, 'drain');
    }
    req.end();
    const [res] = await reply;
    const body = JSON.parse((await readAll(res)).toString()) as { bytes: number; sha256: string };
    assert.equal(body.bytes, 20 * 1024 * 1024);
    assert.equal(body.sha256, hash.digest('hex'));
  });

  it('streams a 20 MB download with its content-length', { timeout: 10_000 }, async () => {
    const bytes = 20 * 1024 * 1024;
    const res = await new Promise<IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port: gw.port(), path: `/download?bytes=${bytes}`, agent: false }, resolve));
    assert.equal(res.headers['content-length'], String(bytes));
    let received = 0;
    for await (const c of res) received += (c as Buffer).length;
    assert.equal(received, bytes);
  });

  it('delivers the first chunk before the app has written the last', { timeout: 5_000 }, async () => {
    const res = await new Promise<IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port: gw.port(), path: '/stream', agent: false }, resolve));
    const [first] = (await once(res, 'data')) as [Buffer];
    assert.equal(first.toString(), 'first;');
    events.emit('release-stream');
    assert.equal((await readAll(res)).toString(), 'last');
  });

  it('cancels the upstream request when the client goes away mid-response', { timeout: 5_000 }, async () => {
    const closed = once(events, 'hold-closed');
    const req = http.get({ host: '127.0.0.1', port: gw.port(), path: '/hold', agent: false });
    req.on('error', () => {});
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    await once(res, 'data');
    req.destroy();
    await closed;
  });

  it('cancels the upstream request when the client goes away mid-upload, before any response', { timeout: 5_000 }, async () => {
    const closed = once(events, 'hold-closed');
    const gotData = once(events, 'hold-data');
    const req = http.request({ host: '127.0.0.1', port: gw.port(), path: '/hold', method: 'POST', agent: false });
    req.on('error', () => {});
    req.write('part of a body');
    await gotData;
    req.destroy();
    await closed;
  });

  it('aborts the client response when the app dies mid-body', { timeout: 5_000 }, async () => {
    const res = await new Promise<IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port: gw.port(), path: '/die', agent: false }, resolve));
    assert.equal(res.statusCode, 200);
    const closed = new Promise((resolve) => res.on('close', resolve));
    res.on('error', () => {}); // 'aborted' is the expected outcome
    res.resume();
    await closed;
    assert.equal(res.complete, false, 'the truncated body must not look complete');
  });
});

describe('upstream failures', () => {
  it('answers 502 with an HTML page that names no internal address', async () => {
    const r = await request(downGw.port(), '/anything', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'accept-language': 'en-US,en;q=0.9' } });
    assert.equal(r.status, 502);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(r.body, /<title>The application is not answering<\/title>/);
    assert.doesNotMatch(r.body, /127\.0\.0\.1|ECONNREFUSED/);
  });

  it('answers 502 as JSON when the client prefers JSON', async () => {
    for (const accept of ['application/json', 'application/json, text/plain, */*']) {
      const r = await request(downGw.port(), '/api/x', { headers: { accept } });
      assert.equal(r.status, 502);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.equal((JSON.parse(r.body) as { error: string }).error, 'bad_gateway', accept);
    }
  });

  it('answers 502 to a POST whose body it could not deliver, and keeps serving', async () => {
    const r = await request(downGw.port(), '/api/x', { method: 'POST', body: Buffer.alloc(256 * 1024) });
    assert.equal(r.status, 502);
  });

  it('answers 504 when the app does not send headers within timeoutMs', async () => {
    const start = Date.now();
    const r = await request(gw.port(), '/slow-headers', { headers: { accept: 'application/json' } });
    const elapsed = Date.now() - start;
    assert.equal(r.status, 504);
    assert.equal((JSON.parse(r.body) as { error: string }).error, 'gateway_timeout');
    assert.ok(elapsed >= TIMEOUT_MS - 50 && elapsed < TIMEOUT_MS + 1000, `took ${elapsed} ms`);
  });

  it('reports failures through onError', () => {
    assert.ok(errors.some((e) => (e as { code?: string }).code === 'ECONNREFUSED'));
    assert.ok(errors.some((e) => (e as { code?: string }).code === 'ETIMEDOUT'));
  });
});

describe('upgrade', () => {
  it('passes a WebSocket handshake and frames through, with identity headers', { timeout: 5_000 }, async () => {
    const key = randomBytes(16).toString('base64');
    const socket = net.connect(gw.port(), '127.0.0.1');
    socket.write(
      ['GET /ws HTTP/1.1', 'Host: gw.example', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', 'X-Auth-Request-User: mallory', '', ''].join('\r\n'),
    );
    const [data] = (await once(socket, 'data')) as [Buffer];
    const head = data.toString();
    assert.match(head, /^HTTP\/1\.1 101 /);
    const expected = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
    assert.match(head, new RegExp(`\r\nSec-WebSocket-Accept: ${expected.replace(/[+/]/g, '\\$&')}\r\n`));
    assert.match(head, /\r\nUpgrade: websocket\r\n/i);
    assert.match(head, /\r\nX-Seen-User: alice\r\n/);
    assert.match(head, /\r\nX-Seen-Url: \/app\/ws\r\n/);
    socket.write(wsFrame(Buffer.from('hello'), true));
    const [echo] = (await once(socket, 'data')) as [Buffer];
    assert.deepEqual(echo, wsFrame(Buffer.from('hello'), false));
    socket.end();
    await once(socket, 'close');
  });

  it('answers 401 and closes the socket when authorize() does not allow it', { timeout: 5_000 }, async () => {
    const socket = net.connect(gw.port(), '127.0.0.1');
    socket.end('GET /ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Test-Auth: deny\r\n\r\n');
    const text = (await readAll(socket)).toString();
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.equal(socket.destroyed || socket.readableEnded, true);
  });

  it('relays the app declining the upgrade', { timeout: 5_000 }, async () => {
    const socket = net.connect(gw.port(), '127.0.0.1');
    socket.write('GET /ws-decline HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const text = (await readAll(socket)).toString();
    assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(text, /\r\n\r\nno$/);
  });

  it('answers 502 to an upgrade when the app is down', { timeout: 5_000 }, async () => {
    const socket = net.connect(downGw.port(), '127.0.0.1');
    socket.write('GET /ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    assert.match((await readAll(socket)).toString(), /^HTTP\/1\.1 502 /);
  });
});

// Attack: slow clients holding connections open (slowloris) by trickling headers or a body, or
// simply by opening many. The server main.ts runs drops a client that has not sent its headers
// within limits.http.headersTimeoutMs (20 s by default) or its whole request within
// requestTimeoutMs (30 s), and closes connections past maxConnections at once. The deadlines are
// shortened here so the test is quick; what is tested is that the connection is dropped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { buildGateway, type TestGateway } from '../helpers/gateway.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { createGatewayServer } from '../../src/limits/http-server.ts';
import { loadSettings } from '../../src/config/load.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** resolves with what the server sent once it closes the connection; rejects if it is still open after `ms` */
function closedWithin(socket: Socket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.on('error', () => {});
  });
}

/** sends `chunks` one every `everyMs` until the socket closes or they run out */
async function trickle(socket: Socket, chunks: string[], everyMs: number): Promise<void> {
  for (const c of chunks) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(c);
    await sleep(everyMs);
  }
}

async function healthz(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  await res.text();
  return res.status;
}

describe('slowloris', () => {
  let gw: TestGateway;
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];

  before(async () => {
    gw = await buildGateway(new MemoryStore(), { limits: { http: { headersTimeoutMs: 600, requestTimeoutMs: 1200, keepAliveTimeoutMs: 500, maxConnections: 4 } } });
    server = createGatewayServer(gw, gw.settings.limits.http);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gw.close();
  });

  it('the defaults: headers within 20 s, the request within 30 s, a connection cap', () => {
    const http = loadSettings({ env: {}, argv: [] }).limits.http;
    assert.ok(http.headersTimeoutMs <= 30_000 && http.requestTimeoutMs <= 60_000 && http.maxConnections > 0, JSON.stringify(http));
  });

  it('a client trickling its headers is dropped (408), while others are served', async () => {
    const s = await open(port);
    sockets.push(s);
    const closed = closedWithin(s, 10_000);
    void trickle(s, ['GET /healthz HTTP/1.1\r\n', 'Host: 127.0.0.1\r\n', ...Array.from({ length: 100 }, (_, i) => `X-Slow-${i}: 1\r\n`)], 100);
    // positive control, while the slow one is still trickling
    assert.equal(await healthz(port), 200);
    const answer = await closed;
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  it('a client trickling its body is dropped', async () => {
    const s = await open(port);
    sockets.push(s);
    const closed = closedWithin(s, 10_000);
    // headers that pass every check made before the body, so the gateway waits for the body
    const headers = ['Host: 127.0.0.1', 'Content-Type: application/json', 'Content-Length: 1000', `X-Timestamp: ${Date.now()}`, 'X-Nonce: slow-body-nonce', `X-Sign: ${'ab'.repeat(32)}`];
    s.write(`POST /produceAPI/v2/tenantSync HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
    void trickle(s, Array.from({ length: 200 }, () => ' '), 100);
    assert.equal(await healthz(port), 200);
    const answer = await closed;
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  it('connections past the cap are closed at once; once others go, new ones are served', async () => {
    // connected but silent: each holds a connection until its headers deadline
    const idle = await Promise.all(Array.from({ length: 4 }, () => open(port)));
    sockets.push(...idle);
    await sleep(50);
    const extra = await open(port);
    sockets.push(extra);
    const answer = await closedWithin(extra, 10_000);
    assert.equal(answer, '', 'closed without an answer');
    // the silent ones are dropped by the headers deadline; then the server serves again
    await Promise.all(idle.map((s) => closedWithin(s, 10_000).catch(() => s.destroy())));
    assert.equal(await healthz(port), 200);
  });
});

// Attack: a tenant's OneAccess (or whatever answers at its domainName) that tries to exhaust the
// gateway: an answer without content-length that never ends, a body that stops after its headers,
// a redirect elsewhere. Against the one door to OneAccess (src/login/upstream-http.ts) and a real
// node:http server. The positive control first: an ordinary answer arrives whole.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoginError } from '../../src/login/errors.ts';
import { fetchCapped } from '../../src/login/upstream-http.ts';

const limits = { timeoutMs: 500, maxBodyBytes: 4096 };
let base = '';
let endlessWrote = 0;
let endlessClosed: Promise<void> = Promise.resolve();
const server = http.createServer((req, res) => {
  if (req.url === '/ok') {
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
    res.end(JSON.stringify({ echo: req.method, length: Number(req.headers['content-length'] ?? 0) }));
  } else if (req.url === '/endless') {
    // chunked (no content-length), and it never ends: only the size cap stops the reading
    res.writeHead(200, { 'content-type': 'application/json' });
    endlessClosed = new Promise((resolve) => res.once('close', () => resolve()));
    const more = () => {
      if (res.destroyed) return;
      endlessWrote += 1024;
      if (res.write('x'.repeat(1024))) setImmediate(more);
      else res.once('drain', more);
    };
    more();
  } else if (req.url === '/stalls') {
    // the headers at once, then part of the body, then nothing
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"partial":');
  } else if (req.url === '/moved') {
    res.writeHead(302, { location: `${base}/ok` }).end();
  }
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const refusal = async (p: Promise<unknown>): Promise<LoginError> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LoginError, `a LoginError, not ${String(e)}`);
    return e;
  }
  assert.fail('no refusal');
};

describe('upstream HTTP (the calls to OneAccess)', () => {
  it('positive control: an ordinary answer arrives whole, with its status, repeated headers and the body sent', async () => {
    const r = await fetchCapped(`${base}/ok`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, limits, 'test');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { echo: 'POST', length: 5 });
    assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
  });

  it('an answer without content-length that never ends is refused at the size cap, and the connection is dropped', { timeout: 5000 }, async () => {
    const started = performance.now();
    const e = await refusal(fetchCapped(`${base}/endless`, {}, limits, 'test'));
    assert.equal(e.code, 'upstream_error');
    assert.match(String((e.cause as Error).message), /body > 4096 bytes/);
    assert.ok(performance.now() - started < limits.timeoutMs, 'refused by size, not by the deadline');
    await endlessClosed; // the gateway stopped reading: the server's response was closed
    assert.ok(endlessWrote < 1024 * 1024, `the server got to write ${endlessWrote} bytes`);
  });

  it('a body that stops after its headers ends at the deadline as a timeout, not a hang', { timeout: 5000 }, async () => {
    const started = performance.now();
    const e = await refusal(fetchCapped(`${base}/stalls`, {}, limits, 'test'));
    const took = performance.now() - started;
    assert.equal(e.code, 'upstream_timeout');
    assert.ok(took >= limits.timeoutMs - 50 && took < limits.timeoutMs + 1000, `took ${Math.round(took)} ms`);
  });

  it('a redirect is not followed: the answer is the redirect', async () => {
    const r = await fetchCapped(`${base}/moved`, {}, limits, 'test');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `${base}/ok`);
  });

  it('a closed port is an upstream error at once', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = await refusal(fetchCapped(`http://127.0.0.1:${port}/`, {}, limits, 'test'));
    assert.equal(e.code, 'upstream_error');
  });
});

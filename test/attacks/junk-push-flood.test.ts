// Attack: unsigned marketplace pushes. x-sign covers a canonical re-serialization, so a body must
// be parsed before its signature can be checked: 8 junk 2 MiB pushes in parallel used to take RSS
// to 709 MB and /healthz to 3.45 s. Now what the headers can tell is judged before a byte of the
// body is read, an address that keeps failing is refused before its bodies are read, other
// sources can be refused outright, large bodies are verified off the main thread a few at a
// time, and a body may hold only so many JSON values. Pushes that verify are never counted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { buildGateway, signedHeaders, timeStampAt, type TestGateway } from '../helpers/gateway.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore, tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';
import { createGatewayServer } from '../../src/limits/http-server.ts';
import type { Store } from '../../src/store/store.ts';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** one raw HTTP/1.1 request; `body` may be shorter than Content-Length (the rest is never sent) */
function rawPush(port: number, path: string, headers: Record<string, string>, body: Buffer | string, opts: { contentLength?: number; holdOpenMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const all = { host: '127.0.0.1', ...headers, 'content-length': String(opts.contentLength ?? buf.length) };
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${path} within 10 s`));
    }, 10_000);
    socket.on('data', (d) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const h: Record<string, string> = {};
      for (const l of lines) h[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const length = Number(h['content-length'] ?? 0);
      const raw = Buffer.concat(chunks).subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (raw.length < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers: h, body: raw.subarray(0, length).toString('utf8') });
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write(`POST ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
    socket.write(buf);
  });
}

let clock = Date.UTC(2026, 6, 1);
function tenantBody(tenantId: string, padding = 0): string {
  clock += 1000;
  return JSON.stringify({ instanceId: `i-${tenantId}`, orderId: 'CS1', tenantId, tenantCode: tenantId, name: `${tenantId} Ltd`, domainName: 'https://oa.example.com', flag: 1, testFlag: 0, timeStamp: timeStampAt(clock), ...(padding ? { extra: 'x'.repeat(padding) } : {}) });
}

function junkHeaders(ip: string): Record<string, string> {
  return { 'content-type': 'application/json', 'x-timestamp': String(Date.now()), 'x-nonce': randomBytes(16).toString('hex'), 'x-sign': randomBytes(32).toString('hex'), 'x-forwarded-for': ip };
}

const PATH = '/produceAPI/v2/tenantSync';

function floodSuite(open: () => Promise<OpenedStore>): void {
  let opened: OpenedStore;
  let gw: TestGateway;
  let server: Server;
  let port: number;

  before(async () => {
    opened = await open();
    gw = await buildGateway(opened.store as Store, {
      limits: { enabled: true, pushFailures: { points: 5, durationSec: 600 }, largePush: { bytes: 16 * 1024, concurrency: 1, queue: 0 } },
      marketplace: { maxJsonNodes: 2000 },
    });
    server = createGatewayServer(gw, gw.settings.limits.http);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gw.close();
    await opened.cleanup();
  });

  it('what the headers tell is judged before the body is read: a stale timestamp, a malformed x-sign', async () => {
    const stale = await rawPush(port, PATH, { ...junkHeaders('198.51.100.1'), 'x-timestamp': String(Date.now() - 3_600_000) }, '{', { contentLength: 2 * 1024 * 1024 - 1 });
    assert.equal(stale.status, 200);
    assert.equal(JSON.parse(stale.body).resultCode, '000002');
    assert.equal(stale.headers.connection, 'close', 'the rest of the body is never read');
    const badSign = await rawPush(port, PATH, { ...junkHeaders('198.51.100.1'), 'x-sign': 'not-hex' }, '{', { contentLength: 2 * 1024 * 1024 - 1 });
    assert.equal(JSON.parse(badSign.body).resultCode, '000001');
    assert.match(JSON.parse(badSign.body).resultMsg, /64 hex digits/);
  });

  it('an address whose pushes keep failing is refused before its bodies are read; others are not', async () => {
    const ip = '198.51.100.7';
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push(JSON.parse((await rawPush(port, PATH, junkHeaders(ip), tenantBody('t-junk'))).body).resultCode);
    assert.deepEqual(codes, ['000001', '000001', '000001', '000001', '000001']);
    // the 6th: refused on its headers alone, with a body that never comes
    const refused = await rawPush(port, PATH, junkHeaders(ip), '', { contentLength: 2 * 1024 * 1024 });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.match(JSON.parse(refused.body).resultMsg, /failed verification/);
    // ... even a correctly signed one: the address is refused for a while
    const raw = tenantBody('t-from-blocked');
    assert.equal((await rawPush(port, PATH, { ...signedHeaders(raw), 'x-forwarded-for': ip }, raw)).status, 429);
    assert.match(gw.metrics.render(), /bridge_sync_refused_total\{reason="failures"\} \d+/);

    // positive control: another address pushes as usual
    const ok = tenantBody('t-ok');
    assert.equal(JSON.parse((await rawPush(port, PATH, { ...signedHeaders(ok), 'x-forwarded-for': '198.51.100.8' }, ok)).body).resultCode, '000000');
  });

  it('pushes that verify are never counted, however many', async () => {
    for (let i = 0; i < 12; i++) {
      const raw = tenantBody(`t-many-${i}`);
      const res = await rawPush(port, PATH, { ...signedHeaders(raw), 'x-forwarded-for': '198.51.100.9' }, raw);
      assert.equal(JSON.parse(res.body).resultCode, '000000', res.body);
    }
    // invalid content after a good signature is the sender's bug, not an attack: not counted either
    for (let i = 0; i < 6; i++) {
      const raw = JSON.stringify({ tenantId: 't-x', flag: 1, timeStamp: 'bad' });
      assert.equal(JSON.parse((await rawPush(port, PATH, { ...signedHeaders(raw), 'x-forwarded-for': '198.51.100.9' }, raw)).body).resultCode, '000002');
    }
    const raw = tenantBody('t-after');
    assert.equal(JSON.parse((await rawPush(port, PATH, { ...signedHeaders(raw), 'x-forwarded-for': '198.51.100.9' }, raw)).body).resultCode, '000000');
  });

  it('a body may hold only so many JSON values (here 2,000), signed or not', async () => {
    const raw = JSON.stringify({ tenantId: 't-wide', list: Array.from({ length: 2500 }, () => 0) });
    const res = await rawPush(port, PATH, { ...signedHeaders(raw), 'x-forwarded-for': '198.51.100.10' }, raw);
    assert.equal(JSON.parse(res.body).resultCode, '000002');
    assert.match(JSON.parse(res.body).resultMsg, /more than 2000 JSON values/);
  });

  it('large bodies are verified off the main thread, one at a time here: a second one waiting is refused unread', async () => {
    // the first holds the only slot: its headers and half its body are sent, the rest never
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.on('connect', resolve));
    const h = { ...junkHeaders('198.51.100.11'), host: '127.0.0.1', 'content-length': String(64 * 1024) };
    socket.write(`POST ${PATH} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${'{'.padEnd(32 * 1024, ' ')}`);
    try {
      // wait until the gateway holds the slot (its answer to this probe tells)
      let busy: Answer | undefined;
      for (let i = 0; i < 50 && busy?.status !== 429; i++) {
        // a whole body, so that a probe that wins the slot itself is answered too (and counted against its own address)
        busy = await rawPush(port, PATH, junkHeaders(`198.51.101.${i}`), tenantBody('t-probe', 64 * 1024));
        if (busy.status !== 429) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(busy?.status, 429);
      assert.equal(JSON.parse(busy!.body).resultCode, '000005');
      assert.equal(busy!.headers['retry-after'], '1');
      // small pushes do not need the slot
      const small = tenantBody('t-small');
      assert.equal(JSON.parse((await rawPush(port, PATH, { ...signedHeaders(small), 'x-forwarded-for': '198.51.100.13' }, small)).body).resultCode, '000000');
    } finally {
      socket.destroy();
    }
    // positive control: once the slot is free, a signed large push is verified (in the worker) and applied
    const large = tenantBody('t-large', 40 * 1024);
    let res: Answer | undefined;
    for (let i = 0; i < 50 && res?.status !== 200; i++) {
      res = await rawPush(port, PATH, { ...signedHeaders(large), 'x-forwarded-for': '198.51.100.14' }, large);
      if (res.status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(JSON.parse(res!.body).resultCode, '000000', res!.body);
    assert.ok(await gw.directory.getTenant('prod', 't-large'));
    // and a large junk one is refused by the worker
    const junk = await rawPush(port, PATH, junkHeaders('198.51.100.15'), tenantBody('t-junk-large', 40 * 1024));
    assert.equal(JSON.parse(junk.body).resultCode, '000001');
  });

  it('marketplace.allowFrom refuses other sources before the body is read', async () => {
    const strict = await buildGateway(opened.store as Store, { limits: { enabled: true }, marketplace: { allowFrom: ['10.1.0.0/16'] } });
    const s = createGatewayServer(strict, strict.settings.limits.http);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const p = (s.address() as AddressInfo).port;
    try {
      const raw = tenantBody('t-allowed');
      const other = await rawPush(p, PATH, { ...signedHeaders(raw), 'x-forwarded-for': '198.51.100.20' }, '', { contentLength: Buffer.byteLength(raw) });
      assert.equal(other.status, 403);
      assert.equal(JSON.parse(other.body).resultCode, '000001');
      const allowed = await rawPush(p, PATH, { ...signedHeaders(raw), 'x-forwarded-for': '10.1.2.3' }, raw);
      assert.equal(JSON.parse(allowed.body).resultCode, '000000');
    } finally {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
      await strict.close();
    }
  });
}

describe('junk push flood (embedded store)', () => floodSuite(async () => tempEmbeddedStore('junk')));

describe('junk push flood (redis store)', requireBinary('redis-server', 'apt-get install -y redis-server'), () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  floodSuite(() => prefixedRedisStore(redis, 'junk'));
  // after the suite's own clean-up, which still talks to Redis
  after(() => redis?.stop());
});

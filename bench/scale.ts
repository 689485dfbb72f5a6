// Scale: memory per live session and the /auth/verify hot path as the number of sessions grows,
// on Redis and on the embedded store.
//
//   npx tsx bench/scale.ts [--sizes 10000,100000] [--stores redis,embedded,trivial] [--seconds 4] [--hot 0,10000,1000] [--no-pin] [--perf DIR] [--big] [--tenants 10,10000]
//
// --stores trivial: the load generator alone against a bare node:http server (what the client
// itself costs at each size). --hot: which sessions the requests carry, 0 = uniform over the whole
// population (the worst case), H = a hot set of H sessions spread over it (the realistic case).
// --perf DIR: the gateway runs with --perf-basic-prof and each uniform window of the store-reading
// gateway is recorded with perf (cpu-clock, call graphs) to DIR/<store>-<size>.data.
//
// --tenants 10,10000: tenants with 50 users each, pushed through the real endpoints; then 30
// sign-ins (full OAuth through a sandbox OneAccess) and syncs against one probe tenant.
// --big: large enterprises — a first push of each kind alone (it starts the workers), then
// /auth/verify on 16 hot sessions (8 connections) alone, then while a 5,000-user authSync, then a
// 10,000-department allOrgSync, are pushed back to back.
//
// One gateway process per store (this script forked with --serve), holding two gateways on the
// same store object: the default one (in-process session snapshots, access.cacheTtlMs 5 s) and
// one with access.cacheTtlMs = 0, where every /auth/verify reads its session from the store (the
// part of the hot path that could grow with the number of sessions). Sessions are written
// through the store port as a sign-in writes them: the record src/session/record.ts newRecord()
// builds (an OAuth sign-in's identity, tokens and OneAccess profile) under sess:<id> with the idle
// timeout, plus the user and tenant index entries; spread over 100 tenants, one session per user.
// `--record earlier` writes the record as the previous version did (express-session's cookie
// member, the access token, the profile again) and its seen:<id> key, for a before figure (the
// index layout is the current one either way). Sizes grow in steps on the same store; embedded
// seeding batches 5,000 sessions per SQLite transaction (same rows, one fsync per batch).
// Memory: Redis `INFO memory` used_memory before/after each step divided by the sessions added,
// and `MEMORY USAGE` of one record, one user index key and the tenant index per member;
// embedded: the SQLite file and its WAL after a checkpoint, divided by the sessions. Load:
// bench/lib.ts runRawLoad, 32 keep-alive connections, each request a random session of the
// whole population (uniform) or of a hot set, 1 s warm-up; every cookie is computed once before
// the load (CookieTable) and copied into a fixed request template, so the client's cost per
// request does not depend on the size. The gateway's and the client's CPU per request are
// process.cpuUsage() over the window (the figure to compare on a shared host; the rate is not).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import signature from 'cookie-signature';
import { deriveKey } from '../src/directory/secret-box.ts';
import type { SessionIdentity } from '../src/identity/identity.ts';
import { newRecord } from '../src/session/record.ts';
import { keyspace } from '../src/store/keyspace.ts';
import { openEmbeddedStore } from '../src/store/embedded.ts';
import { openRedisStore } from '../src/store/redis.ts';
import type { Store } from '../src/store/store.ts';
import { buildGateway, signedHeaders, timeStampAt } from '../test/helpers/gateway.ts';
import { freePort, startRedis } from '../test/helpers/redis-server.ts';
import { PUBLIC_KEY_PEM } from '../test/helpers/login-env.ts';
import { Browser, hiddenInput, last } from '../test/helpers/browser.ts';
import { encryptClientSecret } from '../src/marketplace/client-secret.ts';
import { startOneAccessSandbox } from '../src/sandbox/oneaccess.ts';
import { redisCli } from '../test/helpers/redis-topologies.ts';
import { fmtMs, forkRole, hasTaskset, pinProcess, killRoles, loadAvg, machineFacts, markdownTable, percentile, rawHeader, runRawLoad, serveRole } from './lib.ts';

const SELF = fileURLToPath(import.meta.url);
const PREFIX = 'scale:';
const TENANTS = 100;
const IDLE_MS = 8 * 3600_000;

const sid = (i: number) => createHash('sha256').update(`session-${i}`).digest('base64url').slice(0, 32);
const tenantOf = (i: number) => `t-corp${String(i % TENANTS).padStart(3, '0')}`;
const userOf = (i: number) => `user${String(Math.floor(i / TENANTS)).padStart(6, '0')}`;

/**
 * What a real OAuth sign-in stores: the record src/session/record.ts newRecord() builds (what
 * Sessions.establish writes) from the identity and upstream session src/login/routes.ts hands it
 * (claims, OAuth tokens of 64 characters, the OneAccess profile). `earlier`: the record as the
 * version before it stored it (express-session's cookie member and the access token too), for
 * the before/after memory figures.
 */
function record(i: number, now: number, earlier: boolean): string {
  const tenant = tenantOf(i);
  const user = userOf(i);
  const claims = {
    sub: createHash('sha256').update(`${tenant}/${user}`).digest('base64url').slice(0, 22),
    tenant,
    tenant_code: tenant.slice(2),
    tenant_name: `${tenant.slice(2)} Ltd`,
    user_name: user,
    name: '欧阳建华',
    email: `${user}@${tenant.slice(2)}.example.com`,
    role: 'user' as const,
    org_code: '10',
    idp: 'oneaccess-oauth' as const,
  };
  const tokens = { accessToken: createHash('sha256').update(`at${i}`).digest('hex'), refreshToken: createHash('sha256').update(`rt${i}`).digest('hex'), expiresAt: now + 2 * 3600_000 };
  const upstream = { protocol: 'oauth' as const, tenantId: tenant, appId: 'app-1', tokens, profile: { name: '欧阳建华', email: claims.email, orgCode: '10' } };
  const identity = { ns: 'prod' as const, claims } as SessionIdentity;
  if (earlier) {
    const cookie = { originalMaxAge: 86_400_000, expires: new Date(now + 86_400_000).toISOString(), secure: true, httpOnly: true, path: '/', sameSite: 'lax' };
    return JSON.stringify({ cookie, identity, upstream, createdAt: now });
  }
  return JSON.stringify(newRecord(identity, upstream, now));
}

// ---------------------------------------------------------------------------------------------
// child: two gateways on one store

/** the client alone: a bare node:http server answering every request 200 with a fixed identity header (no store, no gateway) */
async function serveTrivial(): Promise<void> {
  await serveRole(async () => {
    const srv = http.createServer((_req, res) => {
      res.writeHead(200, { 'cache-control': 'no-store', 'x-auth-request-user': 'trivial', 'content-length': '0' });
      res.end();
    });
    srv.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as { port: number }).port;
    return {
      ready: { ports: [port], cookieName: 'bridge.sid' },
      handlers: { seed: (arg: unknown) => (arg as { to: number; from: number }).to - (arg as { from: number }).from, checkpoint: () => true, cpu: () => process.cpuUsage() },
      stop: async () => void srv.close(),
    };
  });
}

async function serveGateways(kind: string, where: string, withSeen: boolean, earlier: boolean): Promise<void> {
  await serveRole(async () => {
    const store: Store = kind === 'redis' ? await openRedisStore(where, { keyPrefix: PREFIX }) : openEmbeddedStore(where);
    // the first gateway serves sign-ins too: its public URL is its loopback address
    const [first, second] = [await freePort(), await freePort()];
    const cached = await buildGateway(store, { publicUrl: `http://127.0.0.1:${first}`, port: first });
    const uncached = await buildGateway(store, { publicUrl: `http://127.0.0.1:${second}`, port: second, access: { cacheTtlMs: 0 } });
    const listen = (gw: typeof cached, port: number) =>
      new Promise<http.Server>((resolve) => {
        const srv = http.createServer(gw.listener);
        srv.keepAliveTimeout = 30_000;
        srv.listen(port, '127.0.0.1', () => resolve(srv));
      });
    const servers = [await listen(cached, first), await listen(uncached, second)];
    // as main.ts does once it listens: the threads of a big push start now, not at the first one
    cached.warm();
    const port = (s: http.Server) => (s.address() as { port: number }).port;
    return {
      ready: { ports: servers.map(port), cookieName: cached.sessions.cookieName },
      handlers: {
        seed: async (arg: unknown) => {
          const { from, to } = arg as { from: number; to: number };
          const now = Date.now();
          // the calls are issued together (no await in between), so on the embedded store they
          // all run inside the batch's transaction below
          const one = async (i: number) => {
            await Promise.all([
              store.putTemp(keyspace.session.key(sid(i)).key, record(i, now, earlier), IDLE_MS),
              store.addMember(keyspace.userSessions.key('prod', tenantOf(i), userOf(i)).key, sid(i), 86_400_000),
              store.addMember(keyspace.tenantSessions.key('prod', tenantOf(i)).key, sid(i), 86_400_000),
              // what the first touch of a live session added in earlier versions (the console's last-seen time)
              withSeen ? store.putTemp(keyspace.sessionSeen.key(sid(i)).key, String(now), IDLE_MS) : undefined,
            ]);
          };
          const db = (store as unknown as { db?: { transaction(fn: () => void): () => void } }).db;
          if (db) {
            // embedded: the same store-port calls, 5,000 sessions per SQLite transaction (one
            // fsync per batch instead of three per session); the rows written are the same
            for (let b = from; b < to; b += 5000) {
              const pending: Array<Promise<void>> = [];
              db.transaction(() => {
                for (let i = b; i < Math.min(to, b + 5000); i++) pending.push(one(i));
              })();
              await Promise.all(pending);
            }
            return to - from;
          }
          let next = from;
          const worker = async () => {
            while (next < to) await one(next++);
          };
          await Promise.all(Array.from({ length: 64 }, worker));
          return to - from;
        },
        /** this process's CPU time, for the gateway's CPU per request */
        cpu: () => process.cpuUsage(),
        checkpoint: async () => {
          // embedded: fold the WAL into the file so its size is the data's
          const db = (store as unknown as { db?: { pragma(s: string): unknown } }).db;
          db?.pragma('wal_checkpoint(TRUNCATE)');
          return true;
        },
      },
      stop: async () => {
        for (const s of servers) s.close();
        await cached.close();
        await uncached.close();
        await store.close();
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// parent

let pushSeq = 0;
function bigBody(kind: 'authSync' | 'allOrgSync', n: number): string {
  const timeStamp = timeStampAt(Date.UTC(2026, 0, 1) + ++pushSeq * 1000);
  if (kind === 'authSync') {
    const userList = Array.from({ length: n }, (_, u) => ({
      userName: `emp${String(u).padStart(5, '0')}`,
      name: `员工${u}`,
      orgCode: `d${u % 500}`,
      role: u % 50 === 0 ? 'admin' : 'user',
      enable: 'true',
      email: `emp${u}@bigcorp.example.com`,
    }));
    return JSON.stringify({ instanceId: 'i-big', tenantId: 't-bigcorp', appId: 'app-1', userList, currentSyncTime: timeStamp, flag: 1, testFlag: 0, timeStamp });
  }
  const orgInfoList = Array.from({ length: n }, (_, d) => ({ orgCode: `d${d}`, orgName: `部门${d}`, parentCode: d === 0 ? '' : `d${Math.floor((d - 1) / 10)}` }));
  return JSON.stringify({ instanceId: 'i-big', tenantId: 't-bigcorp', orgInfoList, testFlag: 0, timeStamp });
}

function push(port: number, kind: string, body: string): Promise<{ ms: number; code: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/produceAPI/v2/${kind}`, headers: signedHeaders(body) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ ms: performance.now() - t0, code: (JSON.parse(text) as { resultCode: string }).resultCode }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** pushes `bodies` with `concurrency` in flight; throws on a non-success answer */
async function pushAll(port: number, bodies: Iterable<[string, string]>, concurrency: number): Promise<void> {
  const it = bodies[Symbol.iterator]();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let n = it.next(); !n.done; n = it.next()) {
        const [kind, body] = n.value;
        const r = await push(port, kind, body);
        if (r.code !== '000000') throw new Error(`${kind} answered ${r.code}`);
      }
    }),
  );
}

const ts = () => timeStampAt(Date.UTC(2026, 0, 1) + ++pushSeq * 1000);

function* tenantBodies(from: number, to: number, users: number): Generator<[string, string]> {
  for (let t = from; t < to; t++) {
    const tenantId = `t-ten${String(t).padStart(5, '0')}`;
    yield ['tenantSync', JSON.stringify({ instanceId: `i-${t}`, tenantId, tenantCode: `ten${t}`, name: `Tenant ${t}`, domainName: 'https://oa.example.com', flag: 1, testFlag: 0, timeStamp: ts() })];
    const userList = Array.from({ length: users }, (_, u) => ({ userName: `u${u}`, name: `用户${u}`, orgCode: '10', role: 'user', enable: 'true', email: `u${u}@ten${t}.example.com` }));
    yield ['authSync', JSON.stringify({ instanceId: `i-${t}`, tenantId, appId: 'app-1', userList, currentSyncTime: ts(), flag: 1, testFlag: 0, timeStamp: ts() })];
  }
}

/** sign-in (full OAuth through the sandbox) and sync latency against the probe tenant */
async function probeTenant(port: number, origin: string, rounds: number): Promise<{ signIn: number[]; tenantSync: number[]; authSync: number[] }> {
  const base = `http://127.0.0.1:${port}`;
  const out = { signIn: [] as number[], tenantSync: [] as number[], authSync: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const b = new Browser();
    const form = last(await b.follow(`${base}/login?tenant=probe`));
    const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'alice', continue: hiddenInput(form.body, 'continue')! });
    if (hops.find((h) => h.url.includes('/oauth/callback'))?.status !== 303) throw new Error(`probe sign-in failed: ${last(hops).status}`);
    out.signIn.push(performance.now() - t0);
    const tenantBody = JSON.stringify({ instanceId: 'i-probe', tenantId: 't-probe', tenantCode: 'probe', name: `Probe Ltd ${i}`, domainName: origin, flag: 1, testFlag: 0, timeStamp: ts() });
    const userList = [{ userName: 'alice', name: 'Alice', orgCode: '10', role: 'user', enable: 'true' }, ...Array.from({ length: 49 }, (_, u) => ({ userName: `u${u}`, name: `用户${u}-${i}`, orgCode: '10', role: 'user', enable: 'true' }))];
    const authBody = JSON.stringify({ instanceId: 'i-probe', tenantId: 't-probe', appId: 'app-1', userList, currentSyncTime: ts(), flag: 1, testFlag: 0, timeStamp: ts() });
    for (const [kind, body, into] of [['tenantSync', tenantBody, out.tenantSync], ['authSync', authBody, out.authSync]] as const) {
      const r = await push(port, kind, body);
      if (r.code !== '000000') throw new Error(`probe ${kind} answered ${r.code}`);
      into.push(r.ms);
    }
  }
  for (const a of Object.values(out)) a.sort((x, y) => x - y);
  return out;
}

/** /auth/verify on 16 hot sessions for `ms`, while `during` runs big pushes one after another */
async function verifyWhile(port: number, cookieName: string, cookieSecret: string, ms: number, during?: () => Promise<void>) {
  const cookies = Array.from({ length: 16 }, (_, i) => `${cookieName}=${encodeURIComponent(`s:${signature.sign(sid(i), cookieSecret)}`)}`);
  const request = (conn: number) =>
    Buffer.from(`GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookies[conn % 16]}\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: app.example.com\r\nX-Forwarded-Uri: /\r\nX-Forwarded-Method: GET\r\n\r\n`, 'latin1');
  const check = (_c: number, _n: number, status: number) => (status === 200 ? { ok: true } : { ok: false, note: `HTTP ${status}` });
  let stop = false;
  const pushes = (async () => {
    while (during && !stop) await during();
  })();
  const r = await runRawLoad({ port, concurrency: 8, durationMs: ms, maxRequests: 1e9, request, check });
  stop = true;
  await pushes;
  return r;
}

const GATEWAYS = [
  [0, 'snapshot cache (default)'],
  [1, 'every request reads the store (cacheTtlMs 0)'],
] as const;

/**
 * The cookie of every session 0..n-1, computed once (sid() and its HMAC) into one flat buffer
 * with offsets: the load generator copies a cookie into each request instead of building and
 * memoising a string per session, so its own cost per request does not grow with the population
 * (10^6 cookies are ~95 MB outside the JS heap; nothing for the client's GC to trace).
 */
class CookieTable {
  private buf = Buffer.alloc(0);
  private offsets = new Uint32Array(1);
  private n = 0;
  constructor(
    private readonly name: string,
    private readonly secret: string,
  ) {}
  get size(): number {
    return this.n;
  }
  /** computes the cookies of sessions size..n-1 (the HMACs run here, before any load) */
  async grow(n: number): Promise<void> {
    if (n <= this.n) return;
    const parts: Buffer[] = [this.buf.subarray(0, this.offsets[this.n])];
    const offsets = new Uint32Array(n + 1);
    offsets.set(this.offsets.subarray(0, this.n + 1));
    let at = offsets[this.n]!;
    for (let i = this.n; i < n; i++) {
      const b = Buffer.from(`${this.name}=${encodeURIComponent(`s:${signature.sign(sid(i), this.secret)}`)}`, 'latin1');
      parts.push(b);
      at += b.length;
      offsets[i + 1] = at;
      if (i % 50_000 === 0) await new Promise((r) => setImmediate(r)); // IPC with the gateway keeps flowing
    }
    this.buf = Buffer.concat(parts, at);
    this.offsets = offsets;
    this.n = n;
  }
  length(i: number): number {
    return this.offsets[i + 1]! - this.offsets[i]!;
  }
  copy(i: number, into: Buffer, at: number): number {
    return this.buf.copy(into, at, this.offsets[i]!, this.offsets[i + 1]!);
  }
}

/**
 * Which session the next request carries: uniform over all `size` sessions (hot 0, the worst
 * case: most miss every cache), or uniform over a hot set of `hot` sessions spread evenly over
 * the population (the realistic case: the active sessions are few).
 */
function drawer(size: number, hot: number): () => number {
  if (hot === 0) return () => Math.floor(Math.random() * size);
  const stride = size / hot;
  return () => Math.floor(Math.floor(Math.random() * hot) * stride);
}

/**
 * The warm pass before a window: every session of a set that fits the gateway's caches once, in
 * order (so the window measures the steady state, not the first read and token of each session);
 * undefined for a larger set, which misses anyway (it gets the 1 s warm-up).
 */
function warmPass(size: number, hot: number): { count: number; draw: () => number } | undefined {
  const count = hot === 0 ? size : hot;
  if (count > WARM_MAX) return undefined;
  const stride = size / count;
  let k = 0;
  return { count, draw: () => Math.floor((k++ % count) * stride) };
}
/** the in-process caches' bound (snapshots, cookie memo, per-session answers: 20,000 each) */
const WARM_MAX = 20_000;

/** one raw /auth/verify request per call: a fixed template with the drawn session's cookie copied in; drawn[conn] is the session in flight */
function requestsFor(port: number, cookies: CookieTable, draw: () => number): { request: (conn: number, n: number) => Buffer; drawn: number[] } {
  const head = Buffer.from(`GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: `, 'latin1');
  const tail = Buffer.from('\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: app.example.com\r\nX-Forwarded-Uri: /dashboard\r\nX-Forwarded-Method: GET\r\n\r\n', 'latin1');
  const drawn: number[] = [];
  const request = (conn: number) => {
    const i = draw();
    drawn[conn] = i;
    const b = Buffer.allocUnsafe(head.length + cookies.length(i) + tail.length);
    head.copy(b, 0);
    const at = head.length + cookies.copy(i, b, head.length);
    tail.copy(b, at);
    return b;
  };
  return { request, drawn };
}

/**
 * --no-pin turns it off. During each load window the gateway process is bound to CPU 0, and this
 * process (the load generator) and the Redis server to CPU 1, as bench/cost.ts does: the rate is
 * then what one core of the gateway serves, not how the scheduler shared two cores between it,
 * the client and Redis.
 */
const PIN = !process.argv.includes('--no-pin') && availableParallelism() >= 2 && hasTaskset();
let redisPid: number | undefined;

/** gateway on CPU 0, client and Redis on CPU 1; `all`: everything back on every CPU */
function pin(gatewayPid: number, list: string): void {
  const all = list !== '0';
  pinProcess(gatewayPid, list);
  pinProcess(process.pid, all ? list : '1');
  if (redisPid) pinProcess(redisPid, all ? list : '1');
}

/** the pid listening on a loopback port (the Redis server this script started) */
function listenerPid(port: number): number | undefined {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

const perfDir = process.argv.includes('--perf') ? arg('--perf', '') : '';

/** perf record of one process for `seconds` (cpu-clock: this host has no hardware counters); resolves when perf has written `out` */
function perfRecord(pid: number, out: string, seconds: number): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '999', '-g', '-p', String(pid), '-o', out, '--', 'sleep', String(seconds)], { stdio: 'ignore' });
    p.once('exit', () => resolve());
    p.once('error', (e) => {
      process.stderr.write(`perf: ${e.message}\n`);
      resolve();
    });
  });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

/**
 * Seeding 10^6 sessions grows the AOF past auto-aof-rewrite-percentage several times, and a
 * rewrite of a 1 GB dataset (a forked child writing it all out, ~45 s at load 9) still ran
 * during the first windows after the step. One rewrite now, waited for: the windows after it
 * find no background rewrite (the reads that follow do not grow the AOF again).
 */
async function settlePersistence(port: number): Promise<number> {
  const t0 = Date.now();
  const busy = async () => /(aof_rewrite_in_progress|aof_rewrite_scheduled|rdb_bgsave_in_progress):1/.test(await redisCli(port, 'INFO', 'persistence'));
  while (await busy()) await new Promise((r) => setTimeout(r, 500));
  await redisCli(port, 'BGREWRITEAOF');
  await new Promise((r) => setTimeout(r, 200));
  while (await busy()) await new Promise((r) => setTimeout(r, 500));
  return Date.now() - t0;
}

async function usedMemory(port: number): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redisCli(port, 'INFO', 'memory'))![1]);
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

async function main(): Promise<void> {
  const sizes = arg('--sizes', '10000,100000').split(',').map(Number);
  const kinds = arg('--stores', 'redis,embedded').split(',');
  const seconds = Number(arg('--seconds', '4'));
  const facts = machineFacts();
  console.log(`- date: ${facts.date}; ${facts.cores} cores (${facts.cpu}), ${facts.memGiB} GiB, ${facts.platform}; Node ${facts.node}; load average at start ${loadAvg()}`);
  const memRows: string[][] = [];
  const loadRows: string[][] = [];
  const bigRows: string[][] = [];
  const bigPushes = process.argv.includes('--big');
  const tenantRows: string[][] = [];
  const tenantCounts = process.argv.includes('--tenants') ? arg('--tenants', '10,10000').split(',').map(Number) : [];
  const tenantsMode = tenantCounts.length > 0;
  // earlier versions kept each live session's last-seen time in a key of its own (seen:<sid>)
  const withSeen = arg('--record', 'current') === 'earlier';
  const redis = kinds.includes('redis') ? await startRedis({ appendonly: true }) : null;
  // the cookie secret as src/app.ts derives it from the test helper's session secret
  const cookieSecret = deriveKey('test-session-secret-0123456789abcdefghij', 'cookie').toString('base64url');
  const cookies = new CookieTable('bridge.sid', cookieSecret);
  // 0: uniform over the whole population; others: hot sets of that many sessions
  const hotSets = arg('--hot', '0,10000,1000').split(',').map(Number);
  if (redis && PIN) redisPid = listenerPid(redis.port);
  try {
    for (const kind of kinds) {
      const dir = kind === 'embedded' ? mkdtempSync(join(tmpdir(), 'bridge-scale-')) : '';
      const where = kind === 'redis' ? redis!.url : dir;
      const execArgv = perfDir ? [...process.execArgv, '--perf-basic-prof'] : process.execArgv;
      const role = await forkRole<{ ports: number[]; cookieName: string }>(SELF, kind === 'trivial' ? ['--trivial'] : ['--serve', kind, where, withSeen ? 'seen' : '', arg('--record', 'current')], { startTimeoutMs: 60_000, execArgv });
      if (role.ready.cookieName !== 'bridge.sid') throw new Error(`unexpected cookie name ${role.ready.cookieName}`);
      try {
        let have = 0;
        for (const size of sizes) {
          const before = kind === 'redis' ? await usedMemory(redis!.port) : 0;
          const t0 = Date.now();
          await role.ask('seed', { from: have, to: size }, 30 * 60_000);
          const seedMs = Date.now() - t0;
          if (kind === 'redis') {
            process.stderr.write(`redis ${size}: AOF rewrite after seeding took ${((await settlePersistence(redis!.port)) / 1000).toFixed(1)} s\n`);
            const after = await usedMemory(redis!.port);
            const usage = async (key: string) => Number(await redisCli(redis!.port, 'MEMORY', 'USAGE', key, 'SAMPLES', '0'));
            const one = await usage(`${PREFIX}temp:sess:${sid(0)}`);
            const userIdx = await usage(`${PREFIX}set:idx:user:prod:${tenantOf(0)}:${userOf(0)}`);
            // the tenant index is shared: its size over its members
            const tenantIdx = (await usage(`${PREFIX}set:idx:tenant:prod:${tenantOf(0)}`)) / Math.ceil(size / TENANTS);
            const seen = withSeen ? await usage(`${PREFIX}temp:seen:${sid(0)}`) : 0;
            const enc = await redisCli(redis!.port, 'OBJECT', 'ENCODING', `${PREFIX}temp:sess:${sid(0)}`);
            const strlen = await redisCli(redis!.port, 'STRLEN', `${PREFIX}temp:sess:${sid(0)}`);
            memRows.push([
              'redis',
              String(size),
              ((after - before) / (size - have)).toFixed(0),
              `${one} (value ${strlen} B, ${enc})`,
              String(userIdx),
              tenantIdx.toFixed(0),
              withSeen ? String(seen) : 'not written',
              (after / size).toFixed(0),
              `${(seedMs / 1000).toFixed(1)} s`,
            ]);
          } else if (kind === 'embedded') {
            await role.ask('checkpoint');
            memRows.push(['embedded', String(size), '–', '–', '–', '–', '–', (dirBytes(dir) / size).toFixed(0), `${(seedMs / 1000).toFixed(1)} s`]);
          }
          have = size;
          await cookies.grow(size);
          const gateways = kind === 'trivial' ? ([[0, 'bare node:http (the client alone)']] as const) : GATEWAYS;
          for (const [g, label] of gateways) {
            const port = role.ready.ports[g]!;
            for (const hot of hotSets) {
              if (hot !== 0 && hot >= size) continue; // the hot set would be the whole population
              const draw = drawer(size, hot);
              const requests = requestsFor(port, cookies, draw);
              const check = (conn: number, _n: number, status: number, head: string) =>
                status === 200 && (kind === 'trivial' || rawHeader(head, 'x-auth-request-user') === userOf(requests.drawn[conn]!)) ? { ok: true } : { ok: false, note: `HTTP ${status}` };
              if (PIN) pin(role.child.pid!, '0');
              try {
                const warm = warmPass(size, hot);
                if (warm) {
                  const w = requestsFor(port, cookies, warm.draw);
                  const wcheck = (conn: number, _n: number, status: number, head: string) =>
                    status === 200 && (kind === 'trivial' || rawHeader(head, 'x-auth-request-user') === userOf(w.drawn[conn]!)) ? { ok: true } : { ok: false, note: `warm pass: HTTP ${status}` };
                  await runRawLoad({ port, concurrency: 32, durationMs: 120_000, maxRequests: warm.count, request: w.request, check: wcheck });
                }
                await runRawLoad({ port, concurrency: 32, durationMs: 1000, maxRequests: 1e9, request: requests.request, check });
                const cpu0 = await role.ask<NodeJS.CpuUsage>('cpu');
                const client0 = process.cpuUsage();
                // --perf DIR: the store-reading gateway's uniform windows are recorded (cpu-clock, call graphs) to compare the sizes
                const recording = perfDir && g === 1 && hot === 0 ? perfRecord(role.child.pid!, join(perfDir, `${kind}-${size}.data`), seconds) : undefined;
                const r = await runRawLoad({ port, concurrency: 32, durationMs: seconds * 1000, maxRequests: 1e9, request: requests.request, check });
                await recording;
                const client = process.cpuUsage(client0);
                const cpu = await role.ask<NodeJS.CpuUsage>('cpu');
                const perReq = (u: { user: number; system: number }) => ((u.user + u.system) / Math.max(1, r.completed)).toFixed(0);
                const served = { user: cpu.user - cpu0.user, system: cpu.system - cpu0.system };
                loadRows.push([
                  kind,
                  String(size),
                  label,
                  hot === 0 ? `uniform over all ${size}` : `hot set of ${hot}`,
                  String(r.completed),
                  (r.completed / (r.elapsedMs / 1000)).toFixed(0),
                  fmtMs(percentile(r.latencies, 50)),
                  fmtMs(percentile(r.latencies, 99)),
                  String(r.failures),
                  perReq(served),
                  perReq(client),
                  r.hostCores.toFixed(2),
                  loadAvg().split(' ')[0]!,
                ]);
                process.stderr.write(`${kind} ${size} ${label}: ${loadRows.at(-1)!.join(' | ')}\n`);
              } finally {
                if (PIN) pin(role.child.pid!, `0-${availableParallelism() - 1}`);
              }
            }
          }
        }
        if (tenantsMode) {
          const port = role.ready.ports[0]!;
          const sandbox = await startOneAccessSandbox();
          try {
            const info = await sandbox.addTenant({
              tenantId: 't-probe',
              tenantCode: 'probe',
              name: 'Probe Ltd',
              clients: [{ clientId: 'client-probe', clientSecret: 'secret-probe-0123456789abcdef', redirectUris: [`http://127.0.0.1:${port}/oauth/callback`] }],
              users: [{ userName: 'alice', name: 'Alice', role: 'user', email: 'alice@probe.example.com', organizationCode: '10' }],
            });
            await pushAll(
              port,
              [
                ['tenantSync', JSON.stringify({ instanceId: 'i-probe', tenantId: 't-probe', tenantCode: 'probe', name: 'Probe Ltd', domainName: info.origin, flag: 1, testFlag: 0, timeStamp: ts() })],
                ['applicationSync', JSON.stringify({ instanceId: 'i-probe', tenantId: 't-probe', appId: 'app-1', clientId: 'client-probe', clientSecret: encryptClientSecret(PUBLIC_KEY_PEM, 'secret-probe-0123456789abcdef'), flag: 1, testFlag: 0, timeStamp: ts() })],
                ['authSync', JSON.stringify({ instanceId: 'i-probe', tenantId: 't-probe', appId: 'app-1', userList: [{ userName: 'alice', name: 'Alice', orgCode: '10', role: 'user', enable: 'true' }], currentSyncTime: ts(), flag: 1, testFlag: 0, timeStamp: ts() })],
              ],
              1,
            );
            let have = 0;
            for (const tenants of tenantCounts) {
              const t0 = Date.now();
              await pushAll(port, tenantBodies(have, tenants, 50), 4);
              const seedMs = Date.now() - t0;
              have = tenants;
              await probeTenant(port, info.origin, 3); // warm-up
              const p = await probeTenant(port, info.origin, 30);
              const d = (a: number[]) => `${fmtMs(percentile(a, 50))} / ${fmtMs(percentile(a, 99))}`;
              tenantRows.push([kind, `${tenants} × 50 users`, `${(seedMs / 1000).toFixed(0)} s`, d(p.signIn), d(p.tenantSync), d(p.authSync)]);
              process.stderr.write(`${kind} tenants ${tenantRows.at(-1)!.join(' | ')}\n`);
            }
          } finally {
            await sandbox.close();
          }
        }
        if (bigPushes) {
          const port = role.ready.ports[0]!;
          // one push of each kind first, timed on its own: the first after start (the gateway
          // started its verification workers and the embedded writer thread when it began to
          // listen, as main.ts does; before that, this push started them and waited)
          for (const [pk, n] of [
            ['authSync', 5000],
            ['allOrgSync', 10000],
          ] as const) {
            const p = await push(port, pk, bigBody(pk, n));
            if (p.code !== '000000') throw new Error(`${pk} answered ${p.code}`);
            bigRows.push([kind, `${pk} of ${n}, the first after start, alone`, '1', fmtMs(p.ms), '–', '–', '–', '–']);
          }
          await verifyWhile(port, role.ready.cookieName, cookieSecret, 1000);
          const base = await verifyWhile(port, role.ready.cookieName, cookieSecret, seconds * 1000);
          bigRows.push([kind, 'none (baseline)', '–', '–', fmtMs(percentile(base.latencies, 50)), fmtMs(percentile(base.latencies, 99)), fmtMs(base.latencies.at(-1) ?? 0), String(base.failures)]);
          for (const [pk, n] of [
            ['authSync', 5000],
            ['allOrgSync', 10000],
          ] as const) {
            const lat: number[] = [];
            const bytes = bigBody(pk, n).length;
            const r = await verifyWhile(port, role.ready.cookieName, cookieSecret, seconds * 1000, async () => {
              const p = await push(port, pk, bigBody(pk, n));
              if (p.code !== '000000') throw new Error(`${pk} answered ${p.code}`);
              lat.push(p.ms);
            });
            lat.sort((a, b) => a - b);
            bigRows.push([kind, `${pk} of ${n} (${(bytes / 1024).toFixed(0)} KiB), back to back`, String(lat.length), `${fmtMs(percentile(lat, 50))} / ${fmtMs(lat.at(-1) ?? 0)}`, fmtMs(percentile(r.latencies, 50)), fmtMs(percentile(r.latencies, 99)), fmtMs(r.latencies.at(-1) ?? 0), String(r.failures)]);
            process.stderr.write(`${kind} big ${bigRows.at(-1)!.join(' | ')}\n`);
          }
        }
      } finally {
        await role.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    killRoles();
    await redis?.stop();
  }
  console.log('');
  console.log(
    markdownTable(
      ['Store', 'Sessions', 'Redis bytes per session added (used_memory delta / sessions)', 'MEMORY USAGE of one record', 'user index key', 'tenant index per member', 'seen: key', 'Bytes per session, total (Redis used_memory or SQLite file) / sessions', 'Seeding time'],
      memRows,
      [false, true, true, true, true, true, true, true, true],
    ),
  );
  console.log('');
  console.log(
    markdownTable(
      ['Store', 'Sessions', 'Gateway', 'Sessions drawn', 'Requests', 'Req/s', 'p50 ms', 'p99 ms', 'Failures', 'Gateway CPU µs/req', 'Client CPU µs/req', 'Host CPU (cores)', 'Load (1 min)'],
      loadRows,
      [false, true, false, false, true, true, true, true, true, true, true, true, true],
    ),
  );
  console.log(PIN ? '\n(gateway pinned to CPU 0, load generator and Redis to CPU 1 during each window)' : '\n(not pinned)');
  if (tenantRows.length) {
    console.log('');
    console.log(markdownTable(['Store', 'Tenants in the directory', 'Seeding (tenantSync + authSync-50 each, 4 at a time)', 'Sign-in p50 / p99 ms (full OAuth, 4 hops)', 'tenantSync p50 / p99 ms', 'authSync-50 p50 / p99 ms'], tenantRows, [false, true, true, true, true, true]));
  }
  if (bigRows.length) {
    console.log('');
    console.log(markdownTable(['Store', 'Push', 'Pushes applied', 'Push latency p50 / max ms', 'verify p50 ms', 'verify p99 ms', 'verify max ms', 'verify failures'], bigRows, [false, false, true, true, true, true, true, true]));
  }
  console.log(`\nload average at the end ${loadAvg()}`);
}

if (process.argv[2] === '--trivial') await serveTrivial();
else if (process.argv[2] === '--serve') await serveGateways(process.argv[3]!, process.argv[4]!, process.argv[5] === 'seen', process.argv[6] === 'earlier');
else await main().then(() => process.exit(0));

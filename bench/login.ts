// Complete OAuth sign-ins per second through the gateway and the OneAccess sandbox on 127.0.0.1.
//
//   npx tsx bench/login.ts            full run (~100 s: embedded and Redis, 1 and 8 concurrent sign-ins,
//                                     plus one diagnostic row; per scenario 1.5 s warm-up then 10 s measured)
//   npx tsx bench/login.ts --quick    smoke run (~25 s; 0.5 s warm-up, 2 s measured)
//   options: --only <substr,...>      scenarios whose "store conn [diagnostic]" name contains one of
//                                     these ("redis 8", "embedded 8 sync-normal")
//            --profile <dir>          CPU-profile the gateway process during each measured window
//                                     (node:inspector, 100 µs sampling) and print where the time went
//            --baseline <checkout>    also run each product scenario on another checkout's gateway
//                                     (e.g. a `git worktree` of an earlier commit): right after this
//                                     code's, same sandbox, tenants and client (before/after side by side)
//            --rounds <n>             repeat the scenarios (with --baseline: alternating) n times
//
// Layout: three processes. This one is the client: a cookie-keeping walker per sign-in (bench/lib.ts
// Walker + signInOAuth) over keep-alive node:http. The gateway runs in a child (this file with
// --serve gateway ...): the app main.ts serves (test/helpers/gateway.ts buildGateway) on a fresh
// embedded store (SQLite, WAL, synchronous=FULL, in the OS temp dir) or on a private redis-server
// (appendonly yes, test helper, stopped by its PID). The OneAccess sandbox runs in another child
// (--serve sandbox), so the gateway's CPU and event loop are its own. bench/verify.ts forks the
// same two roles to create its sessions.
//
// Each sign-in is a fresh browser (empty cookie jar, so no OneAccess SSO session) walking:
//   1. GET  gateway /login?tenant=<code>     tenant lookup, login transaction, 303 to authorize
//   2. GET  sandbox /api/v1/oauth2/authorize  200 login form
//   3. POST sandbox /sandbox/login            302 to the gateway callback with code + state
//   4. GET  gateway /oauth/callback           code -> token -> userinfo -> directory -> session, 303
// Every answer is checked (status, redirect target, the session cookie at the end); a failure is
// counted with its step. Users: T tenants x U users, all synced (authSync) beforehand; sign-in i
// uses tenant i mod T and user (i div T) mod U, so consecutive sign-ins are different people and
// every sign-in makes a new session. After each scenario the last sessions are checked with
// /auth/verify (must be 200 with the right user).
//
// DIAGNOSTIC row (not a product configuration): "embedded, synchronous=NORMAL" is the same
// gateway with its SQLite connection switched to synchronous=NORMAL after opening, i.e. without an
// fsync per commit, to measure what the per-commit fsyncs cost a sign-in.
//
// Server-side (gateway child): time per request by route (arrival to response finish); the
// gateway's own OneAccess calls timed around globalThis.fetch (request to response headers;
// openid-client calls it through the connector's customFetch); every store-port call counted and
// timed; the gateway's bridge_upstream_duration_seconds{step="oauth-signin"} histogram (token +
// userinfo as the gateway itself records it) read before and after. Sandbox child: time per
// endpoint. Prints a markdown report; writes nothing else (temp store directory removed).
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Store } from '../src/store/store.ts';
import { canonicalPath } from '../src/web/canonical-path.ts';
import {
  commandDelta,
  fmtMs,
  forkRole,
  formatProfile,
  hostCpuBusy,
  hostCpuSnapshot,
  killRoles,
  loadAvg,
  machineFacts,
  markdownTable,
  percentile,
  redisCommandStats,
  serveRole,
  signInOAuth,
  summarizeCpuProfile,
  Walker,
  WindowMeter,
  SIGN_IN_STEPS,
  type RoleHandle,
  type WindowUsage,
} from './lib.ts';

// ---------------------------------------------------------------------------------------------
// shared shapes (also used by bench/verify.ts through IPC)

export interface Dist {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export function dist(values: number[]): Dist {
  const v = [...values].sort((a, b) => a - b);
  const mean = v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  return { count: v.length, mean, p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99) };
}

export interface GatewayStats {
  usage: WindowUsage;
  /** gateway handler time per route label, ms */
  routes: Record<string, Dist>;
  /** the gateway's calls to OneAccess, ms (token, userinfo) */
  upstream: Record<string, Dist>;
  /** store-port calls by method: count and total ms */
  store: Record<string, { calls: number; ms: number }>;
  /** delta of bridge_upstream_duration_seconds{step="oauth-signin"} over the window */
  oauthSignin: { count: number; sumMs: number; p50Le: string; p99Le: string };
  profile?: string;
}

export interface SandboxStats {
  usage: WindowUsage;
  routes: Record<string, Dist>;
}

export interface GatewayReady {
  port: number;
  /** diagnostic listener: verifier.decide() without express (bench/verify.ts what-if row) */
  fastPort: number;
  base: string;
  pid: number;
  storeKind: string;
}

export interface TenantSetup {
  tenantId: string;
  tenantCode: string;
  clientId: string;
  clientSecret: string;
  users: Array<{ userName: string; name: string; role: 'admin' | 'user'; email: string }>;
}

// ---------------------------------------------------------------------------------------------
// child: the gateway

function gatewayRoute(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!;
  if (path === '/login' || path === '/oauth/callback' || path === '/auth/verify') return path;
  if (path.startsWith('/produceAPI/')) return 'sync';
  return 'other';
}

const STORE_METHODS = ['getDoc', 'getDocs', 'listDocs', 'write', 'listAudit', 'putTemp', 'getTemp', 'takeTemp', 'deleteTemp', 'touchTemp', 'addMember', 'putAll', 'members', 'removeMember', 'publish', 'ping'] as const;

/** bucket deltas of a Prometheus histogram series rendered by src/ops/metrics.ts */
function histogramSeries(text: string, name: string, labels: string): { buckets: Array<[string, number]>; sum: number; count: number } {
  const buckets: Array<[string, number]> = [];
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}_bucket{${labels},le="`)) {
      const le = line.slice(line.indexOf('le="') + 4, line.indexOf('"}'));
      buckets.push([le, Number(line.slice(line.lastIndexOf(' ') + 1))]);
    } else if (line.startsWith(`${name}_sum{${labels}}`)) sum = Number(line.slice(line.lastIndexOf(' ') + 1));
    else if (line.startsWith(`${name}_count{${labels}}`)) count = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return { buckets, sum, count };
}

async function serveGateway(storeKind: 'embedded' | 'redis', where: string, overridesJson: string, diagnostic: string): Promise<void> {
  await serveRole(async () => {
    const { openEmbeddedStore } = await import('../src/store/embedded.ts');
    const { openRedisStore } = await import('../src/store/redis.ts');
    const { buildGateway, signedHeaders } = await import('../test/helpers/gateway.ts');
    const { freePort } = await import('../test/helpers/redis-server.ts');
    const { PUBLIC_KEY_PEM, nextTimeStamp } = await import('../test/helpers/login-env.ts');
    const { encryptClientSecret } = await import('../src/marketplace/client-secret.ts');

    let dir: string | null = null;
    let store: Store;
    if (storeKind === 'embedded') {
      dir = mkdtempSync(join(tmpdir(), 'bench-login-'));
      store = openEmbeddedStore(dir);
    } else store = await openRedisStore(where, { keyPrefix: `bench-login-${process.pid}:` });

    let recording = false;
    const meter = new WindowMeter();
    let routes = new Map<string, number[]>();
    let upstream = new Map<string, number[]>();
    let storeCalls = new Map<string, { calls: number; ms: number }>();
    const push = (m: Map<string, number[]>, k: string, v: number) => {
      let a = m.get(k);
      if (!a) m.set(k, (a = []));
      a.push(v);
    };

    // every store-port call, counted and timed (on embedded: the SQLite statement incl. its fsync;
    // on Redis: the round trip). Sessions go through the store port on every adapter, so their
    // reads and writes are counted here too.
    const s = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const m of STORE_METHODS) {
      const orig = s[m]!.bind(store);
      s[m] = async (...a: unknown[]) => {
        const t0 = performance.now();
        try {
          return await orig(...a);
        } finally {
          if (recording) {
            const c = storeCalls.get(m) ?? { calls: 0, ms: 0 };
            c.calls += 1;
            c.ms += performance.now() - t0;
            storeCalls.set(m, c);
          }
        }
      };
    }

    // the gateway's calls to OneAccess (undici request(), src/login/upstream-http.ts), timed from
    // undici's diagnostics channels: request created to response headers (the answers are a few
    // hundred bytes, so the body adds nothing)
    const pending = new WeakMap<object, number>();
    diagnostics.subscribe('undici:request:create', (m) => {
      if (recording) pending.set((m as { request: object }).request, performance.now());
    });
    diagnostics.subscribe('undici:request:headers', (m) => {
      const { request } = m as { request: { path: string } };
      const t0 = pending.get(request);
      if (!recording || t0 === undefined) return;
      push(upstream, request.path.includes('/oauth2/token') ? 'token' : request.path.includes('/oauth2/userinfo') ? 'userinfo' : 'other', performance.now() - t0);
    });

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const overrides = JSON.parse(overridesJson) as Record<string, unknown>;
    const gw = await buildGateway(store, { publicUrl: base, port, ...overrides });
    if (diagnostic === 'sync-normal') {
      // DIAGNOSTIC for bench/login.ts: the embedded store's connection without an fsync per commit
      // (WAL + synchronous=NORMAL: durable across a process crash, not across a power loss)
      (store as unknown as { db: { pragma(s: string): unknown } }).db.pragma('synchronous = NORMAL');
    }
    if (diagnostic === 'verify-first') {
      // DIAGNOSTIC for bench/verify.ts: the /auth/verify route moved to the front of the express
      // router (before the ops, sync and JWKS routers), as a one-line reordering in app.ts would do
      const stack = (gw.app.router as unknown as { stack: Array<{ route?: { path?: string | string[] } }> }).stack;
      const i = stack.findIndex((l) => [l.route?.path].flat().includes('/auth/verify'));
      if (i < 0) throw new Error('no /auth/verify route layer');
      stack.unshift(...stack.splice(i, 1));
    }
    const server = http.createServer((req, res) => {
      const t0 = performance.now();
      res.on('finish', () => {
        if (recording) push(routes, gatewayRoute(req.url), performance.now() - t0);
      });
      // what main.ts serves: the forward-auth fast path, then express
      gw.listener(req, res);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

    // DIAGNOSTIC for bench/verify.ts, not the product's path: the same gateway's verifier.decide()
    // answered straight from node:http, without express in front (a what-if for a fast path). It
    // believes X-Forwarded-Uri from anyone; a real fast path would keep the trusted-peer check.
    const fast = http.createServer((req, res) => {
      const t0 = performance.now();
      res.on('finish', () => {
        if (recording) push(routes, 'fast /auth/verify', performance.now() - t0);
      });
      const uri = req.headers['x-forwarded-uri'];
      Promise.resolve(gw.verifier.decide({ sid: gw.sessions.sidOf(req), path: () => canonicalPath(typeof uri === 'string' ? uri : ''), loginUrl: () => `${base}/login` })).then(
        (v) => {
          gw.metrics.verify.inc({ outcome: v.ok ? 'allowed' : String(v.status) });
          if (v.ok) res.writeHead(200, { 'Cache-Control': 'no-store', ...v.headers }).end();
          else res.writeHead(v.status, { 'Cache-Control': 'no-store', 'Content-Type': 'application/json' }).end(JSON.stringify({ error: v.reason }));
        },
        () => res.writeHead(503).end(),
      );
    });
    fast.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => fast.listen(0, '127.0.0.1', resolve));

    const sync = async (kind: string, body: Record<string, unknown>) => {
      const raw = JSON.stringify(body);
      const res = await fetch(`${base}/produceAPI/v2/${kind}`, { method: 'POST', headers: signedHeaders(raw), body: raw });
      const json = (await res.json()) as { resultCode?: string; resultMsg?: string };
      if (json.resultCode !== '000000') throw new Error(`${kind}: ${json.resultCode} ${json.resultMsg}`);
    };

    const oauthHist = () => histogramSeries(gw.metrics.render(), 'bridge_upstream_duration_seconds', 'step="oauth-signin"');
    let hist0 = oauthHist();
    let inspector: Session | null = null;

    return {
      ready: { port, base, pid: process.pid, storeKind, fastPort: (fast.address() as { port: number }).port } satisfies GatewayReady,
      handlers: {
        /** the three syncs a bound tenant gets from the marketplace: tenant, app (sealed secret), users */
        addTenant: async (arg: unknown) => {
          const t = arg as TenantSetup & { origin: string };
          await sync('tenantSync', { instanceId: `inst-${t.tenantId}`, orderId: 'CS1', tenantId: t.tenantId, tenantCode: t.tenantCode, name: `${t.tenantCode} Ltd`, domainName: t.origin, flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
          await sync('applicationSync', { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, appId: 'app-1', clientId: t.clientId, clientSecret: encryptClientSecret(PUBLIC_KEY_PEM, t.clientSecret), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
          const userList = t.users.map((u) => ({ userName: u.userName, name: u.name, orgCode: '10', role: u.role, enable: 'true', email: u.email }));
          await sync('authSync', { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, appId: 'app-1', userList, currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
          return true;
        },
        reset: async (arg: unknown) => {
          routes = new Map();
          upstream = new Map();
          storeCalls = new Map();
          hist0 = oauthHist();
          if ((arg as { profile?: boolean } | undefined)?.profile) {
            inspector = new Session();
            inspector.connect();
            await inspector.post('Profiler.enable');
            await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
            await inspector.post('Profiler.start');
          }
          meter.start();
          recording = true;
          return true;
        },
        stats: async (arg: unknown) => {
          recording = false;
          const usage = meter.stop();
          let profile: string | undefined;
          if (inspector) {
            const { profile: p } = await inspector.post('Profiler.stop');
            inspector.disconnect();
            inspector = null;
            const dirOut = (arg as { profileDir?: string } | undefined)?.profileDir ?? tmpdir();
            profile = join(dirOut, `gateway-${storeKind}-${process.pid}-${Date.now()}.cpuprofile`);
            writeFileSync(profile, JSON.stringify(p));
          }
          const h1 = oauthHist();
          const count = h1.count - hist0.count;
          const le = (q: number) => {
            const target = q * count;
            for (const [i, [bound, c]] of h1.buckets.entries()) if (c - (hist0.buckets[i]?.[1] ?? 0) >= target) return bound;
            return '?';
          };
          const toDist = (m: Map<string, number[]>) => Object.fromEntries([...m].map(([k, v]) => [k, dist(v)]));
          return {
            usage,
            routes: toDist(routes),
            upstream: toDist(upstream),
            store: Object.fromEntries(storeCalls),
            oauthSignin: { count, sumMs: (h1.sum - hist0.sum) * 1000, p50Le: count ? le(0.5) : '–', p99Le: count ? le(0.99) : '–' },
            ...(profile ? { profile } : {}),
          } satisfies GatewayStats;
        },
      },
      stop: async () => {
        server.closeAllConnections();
        server.close();
        fast.closeAllConnections();
        fast.close();
        await gw.close();
        await store.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// child: the OneAccess sandbox

function sandboxRoute(method: string | undefined, url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!;
  if (path.endsWith('/oauth2/authorize')) return 'authorize';
  if (path === '/sandbox/login' && method === 'POST') return 'login-form';
  if (path.endsWith('/oauth2/token')) return 'token';
  if (path.endsWith('/oauth2/userinfo')) return 'userinfo';
  return 'other';
}

async function serveSandbox(): Promise<void> {
  await serveRole(async () => {
    let recording = false;
    let routes = new Map<string, number[]>();
    const meter = new WindowMeter();
    // time every request of every sandbox listener: the sandbox builds its servers with
    // http.createServer at addTenant time, through the default export patched here
    const origCreate = http.createServer;
    http.createServer = ((...args: Parameters<typeof http.createServer>) => {
      const srv = origCreate(...args);
      srv.keepAliveTimeout = 30_000;
      srv.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
        const t0 = performance.now();
        res.on('finish', () => {
          if (!recording) return;
          const k = sandboxRoute(req.method, req.url);
          let a = routes.get(k);
          if (!a) routes.set(k, (a = []));
          a.push(performance.now() - t0);
        });
      });
      return srv;
    }) as typeof http.createServer;
    const { startOneAccessSandbox } = await import('../src/sandbox/oneaccess.ts');
    const sandbox = await startOneAccessSandbox();
    return {
      ready: { pid: process.pid },
      handlers: {
        addTenant: async (arg: unknown) => {
          const t = arg as TenantSetup & { redirectUris: string[] };
          const info = await sandbox.addTenant({
            tenantId: t.tenantId,
            tenantCode: t.tenantCode,
            name: `${t.tenantCode} Ltd`,
            clients: [{ clientId: t.clientId, clientSecret: t.clientSecret, redirectUris: t.redirectUris }],
            users: t.users.map((u) => ({ ...u, organizationCode: '10' })),
          });
          return info.origin;
        },
        reset: () => {
          routes = new Map();
          meter.start();
          recording = true;
          return true;
        },
        stats: () => {
          recording = false;
          return { usage: meter.stop(), routes: Object.fromEntries([...routes].map(([k, v]) => [k, dist(v)])) } satisfies SandboxStats;
        },
      },
      stop: () => sandbox.close(),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// the sign-in population and starting the two roles (used by bench/verify.ts too)

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '欧阳'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '涛', '明', '超', '秀英', '霞', '平', '志刚', '建华', '晓东', '婷婷', '子涵'];

export function population(tenants: number, usersPerTenant: number): TenantSetup[] {
  return Array.from({ length: tenants }, (_, t) => {
    const code = `corp${String(t).padStart(2, '0')}`;
    return {
      tenantId: `t-${code}`,
      tenantCode: code,
      clientId: `client-${code}`,
      clientSecret: `secret-${code}-0123456789abcdef`,
      users: Array.from({ length: usersPerTenant }, (_, u) => ({
        userName: `user${String(u).padStart(4, '0')}`,
        name: `${SURNAMES[(u + t) % SURNAMES.length]}${GIVEN[(u * 7 + t) % GIVEN.length]}`,
        role: u % 25 === 0 ? ('admin' as const) : ('user' as const),
        email: `user${String(u).padStart(4, '0')}@${code}.example.com`,
      })),
    };
  });
}

const SELF = fileURLToPath(import.meta.url);

/** diagnostics: 'verify-first' moves the /auth/verify route to the front of the router (bench/verify.ts); 'sync-normal' runs the embedded store without an fsync per commit */
export async function startGatewayRole(storeKind: 'embedded' | 'redis', where: string, overrides: Record<string, unknown> = {}, diagnostic = ''): Promise<RoleHandle<GatewayReady>> {
  return forkRole<GatewayReady>(SELF, ['--serve', 'gateway', storeKind, where, JSON.stringify(overrides), diagnostic]);
}

export async function startSandboxRole(): Promise<RoleHandle<{ pid: number }>> {
  return forkRole<{ pid: number }>(SELF, ['--serve', 'sandbox']);
}

/** each tenant in the sandbox (accepting every gateway's callback) and synced into every gateway */
export async function setUpTenants(sandbox: RoleHandle<{ pid: number }>, gateways: Array<RoleHandle<GatewayReady>>, tenants: TenantSetup[]): Promise<void> {
  for (const t of tenants) {
    const origin = await sandbox.ask<string>('addTenant', { ...t, redirectUris: gateways.map((g) => `${g.ready.base}/oauth/callback`) });
    for (const g of gateways) await g.ask('addTenant', { ...t, origin });
  }
}

/** the commit measured, and whether src/ had uncommitted changes (others edit it concurrently) */
export function codeState(): string {
  const git = (...a: string[]) => spawnSync('git', a, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'not a git checkout';
  const dirty = git('status', '--porcelain', '--', 'src').stdout.split('\n').filter(Boolean).length;
  return `commit ${head.stdout.trim()}${dirty ? ` + ${dirty} uncommitted change(s) under src/ (others' work in progress)` : ', src/ clean'}`;
}

// ---------------------------------------------------------------------------------------------
// client: the sign-in loop

interface LoopResult {
  completed: number;
  failures: number;
  problems: Map<string, number>;
  elapsedMs: number;
  /** whole sign-in, client-observed, ms, sorted */
  total: number[];
  /** per step, sorted */
  steps: number[][];
  clientElu: number;
  hostCores: number;
  /** the last few sessions made, with their user, for the after-check */
  lastSessions: Array<{ cookie: string; userName: string }>;
}

let signInSeq = 0;

async function signInLoop(base: string, tenants: TenantSetup[], concurrency: number, durationMs: number, maxSignIns: number): Promise<LoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const total: number[] = [];
  const steps: number[][] = SIGN_IN_STEPS.map(() => []);
  const problems = new Map<string, number>();
  const lastSessions: Array<{ cookie: string; userName: string }> = [];
  let failures = 0;
  let started = 0;
  const elu0 = performance.eventLoopUtilization();
  const host0 = hostCpuSnapshot();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    while (performance.now() < deadline && started < maxSignIns) {
      started += 1;
      const i = signInSeq++;
      const t = tenants[i % tenants.length]!;
      const u = t.users[Math.floor(i / tenants.length) % t.users.length]!;
      const s0 = performance.now();
      const r = await signInOAuth(new Walker(agent), base, t.tenantCode, u.userName);
      const ms = performance.now() - s0;
      r.steps.forEach((v, k) => steps[k]!.push(v));
      if (!r.ok) {
        failures += 1;
        problems.set(r.note!, (problems.get(r.note!) ?? 0) + 1);
        continue;
      }
      total.push(ms);
      lastSessions.push({ cookie: r.cookie!, userName: u.userName });
      if (lastSessions.length > 8) lastSessions.shift();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  const clientElu = performance.eventLoopUtilization(elu0).utilization;
  const hostCores = hostCpuBusy(host0, hostCpuSnapshot());
  agent.destroy();
  total.sort((a, b) => a - b);
  for (const s of steps) s.sort((a, b) => a - b);
  return { completed: total.length, failures, problems, elapsedMs, total, steps, clientElu, hostCores, lastSessions };
}

/** /auth/verify with each session: 200 and the right user, else a problem */
async function checkSessions(base: string, sessions: Array<{ cookie: string; userName: string }>): Promise<string[]> {
  const bad: string[] = [];
  for (const s of sessions) {
    const res = await fetch(`${base}/auth/verify`, { headers: { cookie: s.cookie } });
    await res.arrayBuffer();
    if (res.status !== 200 || res.headers.get('x-auth-request-user') !== s.userName) bad.push(`verify after sign-in: HTTP ${res.status} user ${res.headers.get('x-auth-request-user')} (expected ${s.userName})`);
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------
// main

interface Scenario {
  store: 'embedded' | 'redis';
  concurrency: number;
  /** '' or a diagnostic variant of the gateway process ('sync-normal') */
  diagnostic: string;
}

interface Row extends Scenario {
  /** what the report's Store column says */
  label: string;
  m: LoopResult;
  warmProblems: Map<string, number>;
  after: string[];
  gw: GatewayStats;
  sb: SandboxStats;
  /** Redis commands during the window (Redis rows) */
  redisCmds: Map<string, number> | null;
}

const argv = process.argv.slice(2);
/** the key of the baseline checkout's gateway among a store's gateways */
const BASELINE = 'baseline';
/** for the report: which checkout the "[baseline …]" rows ran */
let baselineNote = '';
const option = (name: string): string | null => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? null) : null;
};

async function main(): Promise<void> {
  const quick = argv.includes('--quick');
  const only = option('--only')?.split(',') ?? null;
  const profileDir = option('--profile');
  const WARMUP_MS = quick ? 500 : 1500;
  const MEASURE_MS = quick ? 2000 : 10_000;
  const MAX_SIGNINS = 20_000;
  const tenants = population(quick ? 4 : 20, quick ? 25 : 50);
  const ROUNDS = Number(option('--rounds') ?? 1);
  const baselineDir = option('--baseline');
  const baseline = baselineDir
    ? { file: join(realpathSync(baselineDir), 'bench', 'login.ts'), label: `[baseline ${spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: baselineDir, encoding: 'utf8' }).stdout.trim()}]` }
    : null;
  if (baselineDir) baselineNote = `${realpathSync(baselineDir)} (its own src/ and bench/login.ts, this run's node_modules)`;
  const loadBefore = loadAvg();
  const rows: Row[] = [];
  const skipped: string[] = [];
  const { startRedis } = await import('../test/helpers/redis-server.ts');
  // the last scenario is a DIAGNOSTIC, not a product configuration: the embedded store with its
  // SQLite connection switched to synchronous=NORMAL (WAL: no fsync per commit), to measure what
  // the per-commit fsyncs cost a sign-in (see the report)
  const all: Scenario[] = [
    ...(['embedded', 'redis'] as const).flatMap((store) => [1, 8].map((concurrency) => ({ store, concurrency, diagnostic: '' }))),
    { store: 'embedded', concurrency: 8, diagnostic: 'sync-normal' },
  ];
  const scenarios = all.filter((s) => !only || only.some((o) => `${s.store} ${s.concurrency}${s.diagnostic ? ` ${s.diagnostic}` : ''}`.includes(o)));

  for (const store of ['embedded', 'redis'] as const) {
    const mine = scenarios.filter((s) => s.store === store);
    if (!mine.length) continue;
    let redis: Awaited<ReturnType<typeof startRedis>> = null;
    const gateways = new Map<string, RoleHandle<GatewayReady>>();
    let sandbox: RoleHandle<{ pid: number }> | null = null;
    try {
      if (store === 'redis') {
        redis = await startRedis({ appendonly: true });
        if (!redis) {
          skipped.push('Redis rows skipped: redis-server is not installed');
          continue;
        }
      }
      const t0 = performance.now();
      const diagnostics = [...new Set(mine.map((s) => s.diagnostic))];
      const started = await Promise.all([startSandboxRole(), ...diagnostics.map((d) => startGatewayRole(store, redis?.url ?? '-', {}, d))]);
      sandbox = started[0] as RoleHandle<{ pid: number }>;
      diagnostics.forEach((d, i) => gateways.set(d, started[i + 1] as RoleHandle<GatewayReady>));
      // the baseline checkout's gateway, same store kind, same sandbox and tenants (product scenarios only)
      if (baseline) gateways.set(BASELINE, await forkRole<GatewayReady>(baseline.file, ['--serve', 'gateway', store, redis?.url ?? '-', '{}', '']));
      await setUpTenants(sandbox, [...gateways.values()], tenants);
      process.stderr.write(`  ${store}: ${gateways.size} gateway(s) + sandbox up, ${tenants.length} tenants x ${tenants[0]!.users.length} users synced in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      const runs = Array.from({ length: ROUNDS }, () => mine.flatMap((s) => (baseline && !s.diagnostic ? [{ s, key: s.diagnostic }, { s, key: BASELINE }] : [{ s, key: s.diagnostic }]))).flat();
      for (const { s, key } of runs) {
        const gateway = gateways.get(key)!;
        const warm = await signInLoop(gateway.ready.base, tenants, s.concurrency, WARMUP_MS, 2000);
        await Promise.all([gateway.ask('reset', { profile: !!profileDir }), sandbox.ask('reset')]);
        const cmds0 = redis ? await redisCommandStats(redis.port) : null;
        const m = await signInLoop(gateway.ready.base, tenants, s.concurrency, MEASURE_MS, MAX_SIGNINS);
        const [gw, sb] = await Promise.all([gateway.ask<GatewayStats>('stats', { profileDir }), sandbox.ask<SandboxStats>('stats')]);
        const redisCmds = redis && cmds0 ? commandDelta(cmds0, await redisCommandStats(redis.port)) : null;
        const after = await checkSessions(gateway.ready.base, m.lastSessions);
        const label = s.diagnostic === 'sync-normal' ? 'embedded, synchronous=NORMAL (diagnostic)' : key === BASELINE ? `${store} ${baseline!.label}` : store;
        rows.push({ ...s, label, m, warmProblems: warm.problems, after, gw, sb, redisCmds });
        process.stderr.write(`  done: ${label} ${s.concurrency} conn.: ${m.completed} sign-ins, ${m.failures} failures, load ${loadAvg()}\n`);
      }
    } finally {
      for (const g of gateways.values()) await g.stop();
      await sandbox?.stop();
      await redis?.stop();
    }
  }
  report(rows, skipped, { quick, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, tenants, loadBefore, loadAfter: loadAvg(), profileDir });
  process.exitCode = rows.some((r) => r.m.failures > 0 || r.after.length > 0 || r.warmProblems.size > 0) ? 1 : 0;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const pp = (sorted: number[]) => `${fmtMs(percentile(sorted, 50))} / ${fmtMs(percentile(sorted, 99))}`;
const dp = (d: Dist | undefined) => (d ? `${fmtMs(d.p50)} / ${fmtMs(d.p99)}` : '–');

function report(rows: Row[], skipped: string[], run: { quick: boolean; warmupMs: number; measureMs: number; tenants: TenantSetup[]; loadBefore: string; loadAfter: string; profileDir: string | null }): void {
  const f = machineFacts();
  const out: string[] = [];
  out.push(`## Sign-in (bench/login.ts)${run.quick ? ' — quick run' : ''}`, '');
  out.push(`- date: ${f.date}`);
  out.push(`- machine: ${f.cpu}, ${f.cores} cores, ${f.memGiB} GiB, ${f.platform}; Node ${f.node}`);
  out.push(`- code: ${codeState()}`);
  if (baselineNote) out.push(`- baseline rows: ${baselineNote}; each product scenario measured on this code, then on the baseline, in turn`);
  out.push(`- host load average (1/5/15 min): ${run.loadBefore} before, ${run.loadAfter} after`);
  out.push(`- population: ${run.tenants.length} tenants x ${run.tenants[0]!.users.length} synced users (each tenant its own sandbox origin); each sign-in a fresh browser, a different user than the previous one, a new session`);
  out.push(`- per scenario: ${run.warmupMs / 1000} s warm-up, then ${run.measureMs / 1000} s measured; closed loop, N browsers each walking one sign-in at a time`);
  if (run.profileDir) out.push(`- PROFILED RUN (gateway sampled every 100 µs during the measured window): the rates below are lowered by the profiler`);
  out.push('');
  const header1 = ['Store', 'Conn.', 'Sign-ins', 'Sign-ins/s', 'Whole sign-in p50 / p99 ms', ...SIGN_IN_STEPS.map((s) => `${s} p50 / p99 ms`), 'Gateway ELU / CPU', 'Sandbox ELU / CPU', 'Client ELU', 'Host CPU (cores)', 'Failures'];
  out.push(
    markdownTable(
      header1,
      rows.map((r) => [
        r.label,
        String(r.concurrency),
        String(r.m.completed),
        (r.m.completed / (r.m.elapsedMs / 1000)).toFixed(1),
        pp(r.m.total),
        ...r.m.steps.map(pp),
        `${pct(r.gw.usage.elu)} / ${pct(r.gw.usage.cpu)}`,
        `${pct(r.sb.usage.elu)} / ${pct(r.sb.usage.cpu)}`,
        pct(r.m.clientElu),
        r.m.hostCores.toFixed(2),
        String(r.m.failures + r.after.length),
      ]),
      header1.map((_, i) => i >= 1),
    ),
  );
  out.push('');
  out.push('Steps as the client saw them (request written to last byte read). Gateway and sandbox are separate processes; ELU = share of the window the event loop was busy, CPU = process CPU time / wall time.');
  out.push('');
  const header2 = ['Store', 'Conn.', 'gateway /login p50 / p99', 'gateway callback p50 / p99', 'token call p50 / p99', 'userinfo call p50 / p99', 'sandbox token / userinfo handler p50', 'callback rest (mean)', 'oauth-signin metric mean (p50 bucket)', 'gateway CPU ms per sign-in'];
  out.push(
    markdownTable(
      header2,
      rows.map((r) => {
        const cb = r.gw.routes['/oauth/callback'];
        const tok = r.gw.upstream['token'];
        const ui = r.gw.upstream['userinfo'];
        const rest = cb && tok && ui ? cb.mean - tok.mean - ui.mean : NaN;
        const o = r.gw.oauthSignin;
        return [
          r.label,
          String(r.concurrency),
          dp(r.gw.routes['/login']),
          dp(cb),
          dp(tok),
          dp(ui),
          `${fmtMs(r.sb.routes['token']?.p50 ?? NaN)} / ${fmtMs(r.sb.routes['userinfo']?.p50 ?? NaN)}`,
          fmtMs(rest),
          o.count ? `${fmtMs(o.sumMs / o.count)} (≤ ${Number(o.p50Le) * 1000} ms)` : '–',
          fmtMs((r.gw.usage.cpu * r.m.elapsedMs) / Math.max(1, r.m.completed)),
        ];
      }),
      header2.map((_, i) => i >= 1),
    ),
  );
  out.push('');
  out.push('All times in ms. Inside the gateway: handler time per route (request arrival to response finish). Token / userinfo call: the gateway\'s own request to the sandbox (undici diagnostics channels), request to response headers (includes the sandbox\'s handler and both processes\' queueing). "Callback rest" = mean callback − mean token call − mean userinfo call: transaction take, tenant and app lookup, secret unsealing, openid-client, directory lookup, sign-in policy, session regenerate + save + indexes, audit write, redirect. The oauth-signin metric is the gateway\'s own bridge_upstream_duration_seconds{step="oauth-signin"} over the window (token + userinfo inside openid-client; bucket bounds only). Gateway CPU per sign-in: its CPU time in the window / completed sign-ins.');
  out.push('');
  const header3 = ['Store', 'Conn.', 'store-port calls per sign-in (× mean ms each)', 'store ms per sign-in', 'Redis commands per sign-in'];
  out.push(
    markdownTable(
      header3,
      rows.map((r) => {
        const n = r.m.completed + r.m.failures;
        const calls = Object.entries(r.gw.store)
          .sort((a, b) => b[1].ms - a[1].ms)
          .map(([k, v]) => `${k} ${(v.calls / n).toFixed(1)} × ${fmtMs(v.ms / v.calls)}`)
          .join(', ');
        const storeMs = Object.values(r.gw.store).reduce((a, v) => a + v.ms, 0) / n;
        const cmds = r.redisCmds
          ? [...r.redisCmds]
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => `${k} ${(v / n).toFixed(1)}`)
              .join(', ')
          : '–';
        return [r.label, String(r.concurrency), calls, fmtMs(storeMs), cmds];
      }),
      [false, true, false, true, false],
    ),
  );
  out.push('');
  out.push('Store-port calls: every call the gateway made through the store interface in the window, per sign-in, with the mean time of one call (embedded: the SQLite statement or transaction including its fsync, run synchronously on the event loop; Redis: the round trip including the wait for the event loop). Session records go through the store port too (results before 2026-12-01 predate that: there, Redis sessions went through connect-redis and only the Redis command counts included them).');
  for (const sk of skipped) out.push(`- ${sk}`);
  const bad = rows.filter((r) => r.m.failures || r.after.length || r.warmProblems.size);
  if (bad.length) {
    out.push('', '### Failures');
    for (const r of bad) for (const [what, k] of [...r.m.problems, ...[...r.warmProblems].map(([a, b]) => [`(warm-up) ${a}`, b] as const), ...r.after.map((a) => [a, 1] as const)]) out.push(`- ${r.label} ${r.concurrency}: ${k} × ${what}`);
  } else out.push('', 'Every step answered as expected and every checked session verified (200, right user).');
  for (const r of rows) {
    if (!r.gw.profile) continue;
    out.push('', `### Gateway CPU profile, ${r.label}, ${r.concurrency} conn. (${r.gw.profile})`, '', '```', formatProfile(summarizeCpuProfile(r.gw.profile)), '```');
  }
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------------------------------------

const isMain = !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(SELF);
if (isMain && argv[0] === '--serve') {
  if (argv[1] === 'gateway') await serveGateway(argv[2] as 'embedded' | 'redis', argv[3] ?? '-', argv[4] ?? '{}', argv[5] ?? '');
  else if (argv[1] === 'sandbox') await serveSandbox();
  else throw new Error(`unknown role ${argv[1]}`);
} else if (isMain) {
  try {
    await main();
  } catch (e) {
    killRoles();
    throw e;
  }
}

// GET /auth/verify (the forward-auth hot path) over real HTTP on 127.0.0.1, measured in one run
// next to a bare node:http ceiling and a hand-written express-session + connect-redis check.
//
//   npx tsx bench/verify.ts            full run (~4 min: 3 rounds x 9 targets, each 1 s warm-up
//                                      then 5 s measured, 50 keep-alive connections)
//   npx tsx bench/verify.ts --quick    smoke run (~45 s: 1 round, 0.3 s warm-up, 1.5 s measured)
//   options: --only <substr,...>       targets whose name contains one of these
//            --rounds <n>              rounds (default 3, quick 1)
//            --profile <dir>           CPU-profile the gateway targets in their last measured window
//                                      (node:inspector, 100 µs) and print where the time went
//            --baseline <checkout>     also measure the gateway of another checkout (e.g. a
//                                      `git worktree` of an earlier commit, its node_modules in
//                                      place): each gateway row gets a twin "[baseline <commit>]"
//                                      served by that checkout's bench/login.ts, measured right
//                                      after it in every round, with the same sandbox, Redis,
//                                      client and request shape (before/after side by side)
//
// Targets, each its own server process (children of this one), all alive for the whole run and
// measured one at a time, round after round (interleaved, so a noisy minute hits all of them):
//   ceiling        bare node:http answering 200 with no body
//   vendor         express + express-session + connect-redis (what a vendor writes by hand):
//                  session({ store: new RedisStore({ client }), secret, resave: false,
//                  saveUninitialized: false }) and app.get('/check', (req, res) =>
//                  req.session.user ? res.sendStatus(200) : res.sendStatus(401)); its sessions are
//                  created beforehand through a POST route of the same app, in the same Redis
//   gateway        the gateway main.ts serves (bench/login.ts --serve gateway), on embedded and on
//                  Redis; sessions from real OAuth sign-ins through the OneAccess sandbox
//                  (bench/login.ts --serve sandbox)
//   gateway, no snapshot cache   the same with access.cacheTtlMs = 0: every request reads its
//                  session from the store (the worst case of the hot path)
// and three DIAGNOSTIC rows, to show where the gateway's time goes (not product configurations):
//   express 5 alone            an express app (trust proxy off, etag off) whose only route answers
//                              /auth/verify with a real gateway answer's identity headers
//   /auth/verify first         a gateway (Redis) whose /auth/verify route layer is moved to the
//                              front of the express router (what reordering app.ts would give)
//   decide() on bare node:http the Redis gateway's own verifier.decide() served by a plain
//                              node:http listener in the same process, no express in front
// One private redis-server (appendonly yes, everysec; test helper, stopped by its PID) holds the
// vendor's and the Redis gateway's sessions.
//
// Client: this process, bench/lib.ts runRawLoad (raw keep-alive sockets, one request in flight
// per connection, bounded by time and count), 50 connections. Every target gets the same request
// shape (a browser's Cookie, User-Agent, Accept and a proxy's X-Forwarded-* headers); 16 sessions
// per target, used round-robin. Every answer is checked: 200, and for the gateway the
// X-Auth-Request-User of that session's user and an X-Auth-Request-Jwt; anything else is counted
// as a failure. Store reads per request: the gateway's store-port calls counted in its process,
// and Redis commands counted with INFO commandstats before and after each window.
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import http from 'node:http';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  commandDelta,
  fmtMs,
  forkRole,
  formatProfile,
  killRoles,
  loadAvg,
  machineFacts,
  markdownTable,
  median,
  percentile,
  rawHeader,
  redisCommandStats,
  runRawLoad,
  serveRole,
  signInOAuth,
  summarizeCpuProfile,
  Walker,
  WindowMeter,
  type LoadResult,
  type Outcome,
  type RoleHandle,
  type WindowUsage,
} from './lib.ts';
import { codeState, dist, population, setUpTenants, startGatewayRole, startSandboxRole, type Dist, type GatewayReady, type GatewayStats } from './login.ts';

// ---------------------------------------------------------------------------------------------
// children: the ceiling and the vendor's check

interface SimpleStats {
  usage: WindowUsage;
  handler: Dist;
}

/** the same thin per-request timing every target's server gets (the gateway's is in login.ts) */
function timedServer(handler: http.RequestListener, onTime: (ms: number) => void): http.Server {
  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    res.on('finish', () => onTime(performance.now() - t0));
    handler(req, res);
  });
  server.keepAliveTimeout = 30_000;
  return server;
}

async function serveSimple(kind: 'ceiling' | 'vendor' | 'express-floor', redisUrl: string): Promise<void> {
  await serveRole(async () => {
    let recording = false;
    let times: number[] = [];
    const meter = new WindowMeter();
    let handler: http.RequestListener;
    let close = async () => {};
    // express floor: only express itself answering with a gateway's identity headers (set by 'setHeaders')
    let floorHeaders: Record<string, string> = {};
    if (kind === 'express-floor') {
      const app = express();
      app.disable('x-powered-by');
      app.set('etag', false);
      app.all('/auth/verify', (_req, res) => {
        res.set('Cache-Control', 'no-store');
        res.set(floorHeaders).status(200).end();
      });
      handler = app;
    } else if (kind === 'ceiling') {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-length': '0' });
        res.end();
      };
    } else {
      // written as a vendor would, with the defaults of every library
      const client = createClient({ url: redisUrl });
      await client.connect();
      const app = express();
      app.use(session({ store: new RedisStore({ client }), secret: 'vendor-session-secret-0123456789abcdef', resave: false, saveUninitialized: false }));
      app.post('/bench-login', express.json(), (req, res) => {
        (req.session as unknown as { user?: unknown }).user = req.body as unknown;
        res.sendStatus(200);
      });
      app.get('/check', (req, res) => ((req.session as unknown as { user?: unknown }).user ? res.sendStatus(200) : res.sendStatus(401)));
      handler = app;
      close = async () => {
        await client.quit();
      };
    }
    const server = timedServer(handler, (ms) => {
      if (recording) times.push(ms);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      ready: { port: (server.address() as { port: number }).port, pid: process.pid },
      handlers: {
        setHeaders: (h: unknown) => {
          floorHeaders = h as Record<string, string>;
          return true;
        },
        reset: () => {
          times = [];
          meter.start();
          recording = true;
          return true;
        },
        stats: () => {
          recording = false;
          return { usage: meter.stop(), handler: dist(times) } satisfies SimpleStats;
        },
      },
      stop: async () => {
        server.closeAllConnections();
        server.close();
        await close();
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// client

interface Target {
  name: string;
  kind: 'ceiling' | 'vendor' | 'gateway' | 'floor';
  store: '–' | 'embedded' | 'redis';
  port: number;
  /** the gateway's route label whose handler times to report */
  route?: string;
  /** one prepared request per session */
  requests: Buffer[];
  /** the user each session belongs to (gateway: checked in X-Auth-Request-User) */
  users: string[];
  role: RoleHandle<{ port: number; pid: number }> | RoleHandle<GatewayReady>;
  usesRedis: boolean;
}

interface Measured {
  round: number;
  m: LoadResult;
  usage: WindowUsage;
  handler: Dist | undefined;
  store: GatewayStats['store'] | null;
  redisCmds: Map<string, number> | null;
  profile?: string;
}

const SESSIONS = 16;
const CONNECTIONS = 50;

function request(port: number, path: string, cookie: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36\r\n` +
      `Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nCookie: ${cookie}\r\n` +
      `X-Forwarded-Proto: https\r\nX-Forwarded-Host: app.example.com\r\nX-Forwarded-Uri: /dashboard?tab=orders\r\nX-Forwarded-Method: GET\r\n\r\n`,
    'latin1',
  );
}

function checker(t: Target): (conn: number, n: number, status: number, head: string) => Outcome {
  if (t.kind !== 'gateway') return (_c, _n, status) => (status === 200 ? { ok: true } : { ok: false, note: `HTTP ${status}` });
  return (conn, n, status, head) => {
    if (status !== 200) return { ok: false, note: `HTTP ${status}` };
    const want = t.users[(conn + n) % t.users.length];
    const user = rawHeader(head, 'x-auth-request-user');
    if (user !== want) return { ok: false, note: `X-Auth-Request-User ${user ?? 'missing'} (expected ${want})` };
    if ((rawHeader(head, 'x-auth-request-jwt')?.length ?? 0) < 100) return { ok: false, note: 'no X-Auth-Request-Jwt' };
    return { ok: true };
  };
}

const argv = process.argv.slice(2);
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
  const ROUNDS = Number(option('--rounds') ?? (quick ? 1 : 3));
  const WARMUP_MS = quick ? 300 : 1000;
  const MEASURE_MS = quick ? 1500 : 5000;
  const MAX_REQUESTS = 500_000;
  const loadBefore = loadAvg();
  const { startRedis } = await import('../test/helpers/redis-server.ts');

  const redis = await startRedis({ appendonly: true });
  if (!redis) throw new Error('redis-server is not installed (apt-get install -y redis-server): the vendor baseline and the Redis rows need it');
  const roles: Array<{ stop(): Promise<void> }> = [];
  const results = new Map<string, Measured[]>();
  const targets: Target[] = [];
  const sessionBytes: Record<string, number> = {};
  try {
    const self = fileURLToPath(import.meta.url);
    const t0 = performance.now();
    const [ceiling, vendor, floor, gwEmb, gwRedis, gwEmbNc, gwRedisNc, gwFirst, sandbox] = await Promise.all([
      forkRole<{ port: number; pid: number }>(self, ['--serve', 'ceiling', '-']),
      forkRole<{ port: number; pid: number }>(self, ['--serve', 'vendor', redis.url]),
      forkRole<{ port: number; pid: number }>(self, ['--serve', 'express-floor', '-']),
      startGatewayRole('embedded', '-'),
      startGatewayRole('redis', redis.url),
      startGatewayRole('embedded', '-', { access: { cacheTtlMs: 0 } }),
      startGatewayRole('redis', redis.url, { access: { cacheTtlMs: 0 } }),
      startGatewayRole('redis', redis.url, {}, 'verify-first'),
      startSandboxRole(),
    ]);
    roles.push(ceiling, vendor, floor, gwEmb, gwRedis, gwEmbNc, gwRedisNc, gwFirst, sandbox);
    const gateways = [gwEmb, gwRedis, gwEmbNc, gwRedisNc, gwFirst];
    // the same four gateway configurations, served by the baseline checkout's code
    const baselineDir = option('--baseline');
    const baseline = baselineDir
      ? await (async () => {
          const file = join(realpathSync(baselineDir), 'bench', 'login.ts');
          const start = (kind: 'embedded' | 'redis', where: string, overrides: Record<string, unknown> = {}) =>
            forkRole<GatewayReady>(file, ['--serve', 'gateway', kind, where, JSON.stringify(overrides), '']);
          const [emb, red, embNc, redNc] = await Promise.all([start('embedded', '-'), start('redis', redis.url), start('embedded', '-', { access: { cacheTtlMs: 0 } }), start('redis', redis.url, { access: { cacheTtlMs: 0 } })]);
          roles.push(emb, red, embNc, redNc);
          gateways.push(emb, red, embNc, redNc);
          const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: baselineDir, encoding: 'utf8' }).stdout.trim();
          baselineNote = `${realpathSync(baselineDir)} at commit ${head} (its own src/ and bench/login.ts, this run's node_modules)`;
          return { label: `[baseline ${head}]`, emb, red, embNc, redNc };
        })()
      : null;
    const tenants = population(2, SESSIONS / 2);
    await setUpTenants(sandbox, gateways, tenants);
    const people = tenants.flatMap((t) => t.users.map((u) => ({ tenant: t, user: u })));

    // sessions: real sign-ins on every gateway; the vendor's through its own login route, with a
    // user object like the gateway's identity + upstream tokens
    const agent = new http.Agent({ keepAlive: true });
    const gatewaySessions = async (g: RoleHandle<GatewayReady>) => {
      const cookies: string[] = [];
      for (const p of people) {
        const r = await signInOAuth(new Walker(agent), g.ready.base, p.tenant.tenantCode, p.user.userName);
        if (!r.ok) throw new Error(`sign-in for the verify sessions failed: ${r.note}`);
        cookies.push(r.cookie!);
      }
      return cookies;
    };
    const vendorCookies: string[] = [];
    for (const p of people) {
      const body = JSON.stringify({
        sub: `u_${Buffer.from(p.user.userName + p.tenant.tenantId).toString('base64url').slice(0, 22)}`,
        tenant: p.tenant.tenantId,
        tenant_code: p.tenant.tenantCode,
        tenant_name: `${p.tenant.tenantCode} Ltd`,
        user_name: p.user.userName,
        name: p.user.name,
        email: p.user.email,
        role: p.user.role,
        org_code: '10',
        idp: 'oneaccess-oauth',
        accessToken: 'AT-'.padEnd(46, 'x'),
        refreshToken: 'RT-'.padEnd(46, 'y'),
        expiresAt: Date.now() + 7200_000,
        createdAt: Date.now(),
      });
      const res = await fetch(`http://127.0.0.1:${vendor.ready.port}/bench-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      const sid = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='))?.split(';')[0];
      if (res.status !== 200 || !sid) throw new Error(`vendor session: HTTP ${res.status}`);
      vendorCookies.push(sid);
    }
    const users = people.map((p) => p.user.userName);
    const gwTarget = (name: string, store: 'embedded' | 'redis', g: RoleHandle<GatewayReady>, cookies: string[]): Target => ({
      name,
      kind: 'gateway',
      store,
      port: g.ready.port,
      requests: cookies.map((c) => request(g.ready.port, '/auth/verify', c)),
      users,
      role: g,
      usesRedis: store === 'redis',
    });
    const embCookies = await gatewaySessions(gwEmb);
    const redisCookies = await gatewaySessions(gwRedis);
    /** a gateway row, and its baseline twin right after it */
    const withTwin = async (name: string, store: 'embedded' | 'redis', g: RoleHandle<GatewayReady>, cookies: string[], twin?: RoleHandle<GatewayReady>): Promise<Target[]> =>
      baseline && twin ? [gwTarget(name, store, g, cookies), gwTarget(`${name} ${baseline.label}`, store, twin, await gatewaySessions(twin))] : [gwTarget(name, store, g, cookies)];
    targets.push(
      { name: 'ceiling: bare node:http 200', kind: 'ceiling', store: '–', port: ceiling.ready.port, requests: embCookies.map((c) => request(ceiling.ready.port, '/auth/verify', c)), users, role: ceiling, usesRedis: false },
      { name: 'vendor: express-session + connect-redis /check', kind: 'vendor', store: 'redis', port: vendor.ready.port, requests: vendorCookies.map((c) => request(vendor.ready.port, '/check', c)), users, role: vendor, usesRedis: true },
      ...(await withTwin('gateway /auth/verify', 'embedded', gwEmb, embCookies, baseline?.emb)),
      ...(await withTwin('gateway /auth/verify', 'redis', gwRedis, redisCookies, baseline?.red)),
      ...(await withTwin('gateway /auth/verify, no snapshot cache', 'embedded', gwEmbNc, await gatewaySessions(gwEmbNc), baseline?.embNc)),
      ...(await withTwin('gateway /auth/verify, no snapshot cache', 'redis', gwRedisNc, await gatewaySessions(gwRedisNc), baseline?.redNc)),
    );
    // diagnostics: what express alone costs, and the gateway's decide() without express in front
    const sample = await fetch(`http://127.0.0.1:${gwEmb.ready.port}/auth/verify`, { headers: { cookie: embCookies[0]! } });
    await sample.arrayBuffer();
    const identity = Object.fromEntries([...sample.headers].filter(([k]) => k.startsWith('x-auth-request-')));
    await floor.ask('setHeaders', identity);
    targets.push(
      { name: 'diagnostic: express 5 alone, same identity headers', kind: 'floor', store: '–', port: floor.ready.port, requests: embCookies.map((c) => request(floor.ready.port, '/auth/verify', c)), users, role: floor, usesRedis: false },
      gwTarget('diagnostic: gateway with /auth/verify as the first express route', 'redis', gwFirst, await gatewaySessions(gwFirst)),
      {
        ...gwTarget('diagnostic: gateway decide() on bare node:http (no express)', 'redis', gwRedis, redisCookies),
        port: gwRedis.ready.fastPort,
        requests: redisCookies.map((c) => request(gwRedis.ready.fastPort, '/auth/verify', c)),
        route: 'fast /auth/verify',
      },
    );
    agent.destroy();
    // session record sizes in Redis (what each check reads when it reads)
    const rc = createClient({ url: redis.url });
    await rc.connect();
    for (const [label, pattern] of [
      ['vendor', 'sess:*'],
      ['gateway', `bench-login-${gwRedis.ready.pid}:sess:*`],
    ] as const) {
      const keys = await rc.keys(pattern);
      if (keys[0]) sessionBytes[label] = await rc.strLen(keys[0]);
    }
    await rc.quit();
    process.stderr.write(`  ${roles.length} servers up, ${SESSIONS} sessions per target in ${((performance.now() - t0) / 1000).toFixed(1)} s; load ${loadAvg()}\n`);

    const chosen = targets.filter((t) => !only || only.some((o) => `${t.name} ${t.store}`.includes(o)));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of chosen) {
        const check = checker(t);
        const load = (durationMs: number) =>
          runRawLoad({ port: t.port, concurrency: CONNECTIONS, durationMs, maxRequests: MAX_REQUESTS, request: (k, n) => t.requests[(k + n) % t.requests.length]!, check });
        const warm = await load(WARMUP_MS);
        const profile = !!profileDir && t.kind === 'gateway' && round === ROUNDS;
        await t.role.ask('reset', { profile });
        const c0 = t.usesRedis ? await redisCommandStats(redis.port) : null;
        const m = await load(MEASURE_MS);
        const c1 = t.usesRedis ? await redisCommandStats(redis.port) : null;
        const st = await t.role.ask<SimpleStats | GatewayStats>('stats', { profileDir });
        const gs = t.kind === 'gateway' ? (st as GatewayStats) : null;
        if (warm.failures) for (const [k, v] of warm.problems) m.problems.set(`(warm-up) ${k}`, (m.problems.get(`(warm-up) ${k}`) ?? 0) + v);
        const row: Measured = {
          round,
          m: { ...m, failures: m.failures + warm.failures },
          usage: st.usage,
          handler: gs ? gs.routes[t.route ?? '/auth/verify'] : (st as SimpleStats).handler,
          store: gs ? gs.store : null,
          redisCmds: c0 && c1 ? commandDelta(c0, c1) : null,
          ...(gs?.profile ? { profile: gs.profile } : {}),
        };
        const key = `${t.name}|${t.store}`;
        results.set(key, [...(results.get(key) ?? []), row]);
        process.stderr.write(`  round ${round}: ${t.name} [${t.store}] ${(m.completed / (m.elapsedMs / 1000)).toFixed(0)} req/s, ${m.failures + warm.failures} failures, load ${loadAvg()}\n`);
      }
    }
  } finally {
    for (const r of roles.reverse()) await r.stop();
    await redis.stop();
  }
  report(targets, results, sessionBytes, { quick, rounds: ROUNDS, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, loadBefore, loadAfter: loadAvg() });
  process.exitCode = [...results.values()].flat().some((r) => r.m.failures > 0) ? 1 : 0;
}

const rate = (m: LoadResult) => m.completed / (m.elapsedMs / 1000);
const pct = (x: number) => `${Math.round(x * 100)}%`;

function report(targets: Target[], results: Map<string, Measured[]>, sessionBytes: Record<string, number>, run: { quick: boolean; rounds: number; warmupMs: number; measureMs: number; loadBefore: string; loadAfter: string }): void {
  const f = machineFacts();
  const out: string[] = [];
  out.push(`## Forward-auth /auth/verify (bench/verify.ts)${run.quick ? ' — quick run' : ''}`, '');
  out.push(`- date: ${f.date}`);
  out.push(`- machine: ${f.cpu}, ${f.cores} cores, ${f.memGiB} GiB, ${f.platform}; Node ${f.node}`);
  out.push(`- code: ${codeState()}`);
  if (baselineNote) out.push(`- baseline rows: ${baselineNote}`);
  out.push(`- host load average (1/5/15 min): ${run.loadBefore} before, ${run.loadAfter} after`);
  out.push(
    `- ${CONNECTIONS} keep-alive connections, one request in flight each, raw-socket client in its own process; per target and round ${run.warmupMs / 1000} s warm-up, then ${run.measureMs / 1000} s measured; ${run.rounds} round(s), targets interleaved within each round; ${SESSIONS} sessions per target, round-robin`,
  );
  if (sessionBytes['vendor'] || sessionBytes['gateway']) out.push(`- session record in Redis: vendor ${sessionBytes['vendor'] ?? '?'} B, gateway ${sessionBytes['gateway'] ?? '?'} B`);
  out.push('');
  const ceilKey = targets.find((t) => t.kind === 'ceiling');
  const vendKey = targets.find((t) => t.kind === 'vendor');
  const byRound = (t: Target | undefined, round: number) => (t ? results.get(`${t.name}|${t.store}`)?.find((r) => r.round === round) : undefined);
  const header = ['Target', 'Store', 'Req/s (median)', 'Req/s range', 'p50 ms', 'p99 ms', 'of ceiling', 'vs vendor', 'Server p50 / p99 ms', 'Server ELU / CPU', 'Client ELU', 'Host CPU (cores)', 'Session reads per request', 'Failures / requests'];
  const rows: string[][] = [];
  for (const t of targets) {
    const rs = results.get(`${t.name}|${t.store}`);
    if (!rs?.length) continue;
    const rates = rs.map((r) => rate(r.m));
    const med = median(rates);
    const r = rs.find((x) => rate(x.m) === med)!;
    const ratios = (other: Target | undefined) => rs.map((x) => rate(x.m) / rate(byRound(other, x.round)?.m ?? ({ completed: NaN, elapsedMs: 1 } as LoadResult))).filter(Number.isFinite);
    const ofCeil = median(ratios(ceilKey));
    const vsVendor = median(ratios(vendKey));
    const total = rs.reduce((a, x) => a + x.m.completed, 0);
    const fails = rs.reduce((a, x) => a + x.m.failures, 0);
    // reads of the session: the store-port reads (embedded) and the Redis commands in the window
    let reads = '–';
    if (t.kind === 'gateway' && t.store === 'embedded') {
      const n = rs.reduce((a, x) => a + (x.store?.['getTemp']?.calls ?? 0), 0);
      const touches = rs.reduce((a, x) => a + (x.store?.['touchTemp']?.calls ?? 0), 0);
      reads = `${(n / total).toFixed(4)} (${n} getTemp, ${touches} touchTemp in ${total})`;
    } else if (t.usesRedis) {
      const sum = new Map<string, number>();
      for (const x of rs) for (const [k, v] of x.redisCmds ?? []) sum.set(k, (sum.get(k) ?? 0) + v);
      const all = [...sum].sort((a, b) => b[1] - a[1]);
      reads = all.length ? all.map(([k, v]) => `${k} ${(v / total).toFixed(4)}`).join(', ') + ` (${all.map(([k, v]) => `${v} ${k.toUpperCase()}`).join(', ')} in ${total})` : `0 commands in ${total}`;
    }
    rows.push([
      t.name,
      t.store,
      med.toFixed(0),
      `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`,
      fmtMs(percentile(r.m.latencies, 50)),
      fmtMs(percentile(r.m.latencies, 99)),
      t.kind === 'ceiling' ? '100%' : pct(ofCeil),
      t.kind === 'vendor' ? '1.00×' : t.kind === 'ceiling' ? '–' : `${vsVendor.toFixed(2)}×`,
      r.handler ? `${fmtMs(r.handler.p50)} / ${fmtMs(r.handler.p99)}` : '–',
      `${pct(r.usage.elu)} / ${pct(r.usage.cpu)}`,
      pct(r.m.clientElu),
      r.m.hostCores.toFixed(2),
      reads,
      `${fails} / ${total}`,
    ]);
  }
  out.push(markdownTable(header, rows, header.map((_, i) => i >= 2 && i !== 12)));
  out.push('');
  out.push(
    'Each row is the round with the median rate; "range" is the lowest and highest rate over the rounds; "of ceiling" and "vs vendor" are the medians of the per-round ratios (each round measures all targets within about a minute). Latency is client-observed; server p50/p99 is request arrival to response finish inside the server. Server ELU: share of the window its event loop was busy; CPU: its CPU time / wall time. Client ELU near 100% would mean the load generator was the limit. Host CPU counts every process on the machine. Session reads per request: embedded — store-port getTemp calls (session reads) counted in the gateway; Redis — every command Redis executed in the window (INFO commandstats), divided by the requests. Failures: any answer that was not 200 (gateway: with the session\'s user in X-Auth-Request-User and an X-Auth-Request-Jwt).',
  );
  const bad = [...results].filter(([, rs]) => rs.some((r) => r.m.problems.size));
  if (bad.length) {
    out.push('', '### Failures');
    for (const [k, rs] of bad) for (const r of rs) for (const [what, n] of r.m.problems) out.push(`- ${k.replace('|', ' [')}] round ${r.round}: ${n} × ${what}`);
  } else out.push('', 'Every answer was 200; every gateway answer carried the right user and a JWT.');
  for (const [k, rs] of results) {
    for (const r of rs) {
      if (!r.profile) continue;
      out.push('', `### Gateway CPU profile: ${k.replace('|', ' [')}] (${r.profile})`, '', '```', formatProfile(summarizeCpuProfile(r.profile)), '```');
    }
  }
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------------------------------------

const isMain = !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (isMain && argv[0] === '--serve') {
  await serveSimple(argv[1] as 'ceiling' | 'vendor' | 'express-floor', argv[2] ?? '-');
} else if (isMain) {
  try {
    await main();
  } catch (e) {
    killRoles();
    throw e;
  }
}

// Cost per request: gateway CPU per OAuth sign-in, and /auth/verify against a bare node:http
// server, side by side in one run with one load generator (wrk).
//
//   npx tsx bench/cost.ts [--stores embedded,redis] [--rounds 3] [--seconds 5] [--signin-seconds 8] [--signin-runin 20]
//                         [--spin-us 10] [--no-fixed] [--verify-only]
//                         [--connections 32] [--profile DIR] [--perf DIR]
//   npx tsx bench/cost.ts --instances [--rounds 3] ...   one gateway vs two on one Redis (see instances())
//
// Processes: this one (the driver and the sign-in client), a bare node:http server (the ceiling:
// `writeHead(200, {content-length: 0})`), a second one answering with a gateway's complete 200
// headers (what node:http costs for the answer forward-auth must give), one gateway per store (test/helpers/gateway.ts
// buildGateway, the app main.ts serves, served by `http.createServer(gateway.listener)` exactly
// like the ceiling, with no instrumentation in the gateway process), and the OneAccess sandbox
// (bench/login.ts's role). Embedded: a fresh SQLite store in the temp dir (WAL, synchronous=FULL);
// Redis: a private redis-server (appendonly yes, everysec), stopped by its PID.
//
// Sign-in: closed loop of 4 browsers for --signin-seconds, each a full OAuth sign-in of a fresh
// browser (bench/lib.ts signInOAuth: /login, authorize, login form, /oauth/callback), every step
// checked. Gateway CPU per sign-in = the gateway process's CPU time (user + system,
// process.cpuUsage) over the window / completed sign-ins. The gateway serves nothing else then.
// Two windows per gateway: right after a 1 s warm-up (a fresh process), and after --signin-runin
// seconds more of sign-ins (0: only the first), since V8 optimises the per-sign-in code only
// after many calls; the rows say how many sign-ins the process had done before each window.
//
// Verify: `wrk -t1 -c<connections> -d<seconds>s --latency` with a Lua script that sends a browser's
// Cookie/User-Agent/Accept and a proxy's X-Forwarded-Proto/Host/Uri/Method, rotating over 64
// sessions made by real sign-ins (the ceiling gets the very same requests). Rounds interleave the
// targets (ceiling, embedded, Redis), 1 s warm-up each; "of ceiling" is the median of the
// per-round ratios; servers on CPU 0 and wrk on CPU 1 (see PIN). Every gateway answer must be 200 (wrk's non-2xx count), and each session was
// checked once beforehand (200 with its user in X-Auth-Request-User).
//
// Diagnostic rows (kept apart from the targets in the ratios' meaning): --spin-us, the headers'
// ceiling plus a busy loop per request; and, unless --no-fixed, each gateway's own process
// answering verify on a second listener with a fixed 200 (a real answer's headers, no decision):
// what Node's HTTP code costs in a process that has also served sign-ins through express, whose
// type feedback V8 shares with the verify path (a bare server that also served other routes is
// slower on the same answer), against the gateway's row: what its own decision costs. With
// --verify-only (Redis), one more row: a second Redis gateway process on the same keys that
// serves nothing but the verify load (no sign-in, no sync, no express route ever reaches it;
// the sessions come from the first one): the whole decision in a process whose HTTP code has
// seen only forward-auth, i.e. what serving forward-auth from a process of its own would give.
//
// --profile DIR: after the rounds, one more sign-in window and one more verify window per gateway
// with the V8 CPU profiler on (what `node --cpu-prof` records, limited to the window), summarised.
// --perf DIR: after the rounds, one more verify window per target under Linux `perf record -g`
// (the servers run with --perf-basic-prof), summarised in µs per request by part of the request,
// kernel included (bench/perf-profile.ts): where the gateway's time goes beyond the ceilings'.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../src/store/store.ts';
import { forkRole, formatProfile, hasTaskset, pinProcess, killRoles, loadAvg, machineFacts, markdownTable, median, serveRole, signInOAuth, summarizeCpuProfile, Walker, WindowMeter, wrk, wrkScript, type RoleHandle, type WindowUsage, type WrkResult } from './lib.ts';
import { codeState, population, setUpTenants, startSandboxRole, type GatewayReady, type TenantSetup } from './login.ts';
import { formatLeaves, formatPerfTable, hasPerf, perfRecord, summarizePerf, type PerfSummary } from './perf-profile.ts';

const SELF = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};

interface Ready {
  port: number;
  base: string;
  pid: number;
}

// ---------------------------------------------------------------------------------------------
// children

/** the V8 CPU profiler over a measured window (what `node --cpu-prof` records, limited to it) */
class WindowProfiler {
  private inspector: Session | null = null;

  async start(): Promise<void> {
    this.inspector = new Session();
    this.inspector.connect();
    await this.inspector.post('Profiler.enable');
    await this.inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await this.inspector.post('Profiler.start');
  }

  /** the profile's file, or undefined when none was started */
  async stop(file: string): Promise<string | undefined> {
    if (!this.inspector) return undefined;
    const { profile } = await this.inspector.post('Profiler.stop');
    this.inspector.disconnect();
    this.inspector = null;
    writeFileSync(file, JSON.stringify(profile));
    return file;
  }
}

/** a role's 'reset' (start the window, and the profiler when asked) and 'stats' (end it) */
function windowHandlers(meter: WindowMeter, profiler: WindowProfiler, fileTag: string) {
  return {
    reset: async (arg: unknown) => {
      if ((arg as { profile?: boolean } | undefined)?.profile) await profiler.start();
      meter.start();
      return true;
    },
    stats: async (arg: unknown) => {
      const usage = meter.stop();
      const a = arg as { profileDir?: string; label?: string } | undefined;
      const profile = a?.profileDir ? await profiler.stop(join(a.profileDir, `cost-${a.label}-${fileTag}${process.pid}.cpuprofile`)) : undefined;
      return { usage, ...(profile ? { profile } : {}) };
    },
  };
}

async function serveCeiling(): Promise<void> {
  await serveRole(async () => {
    const meter = new WindowMeter();
    const profiler = new WindowProfiler();
    // 'answer': the headers to send (the headers-ceiling sends a gateway's own 200 answer headers)
    let headers: Record<string, string> = { 'content-length': '0' };
    let spinMs = 0;
    const server = http.createServer({ keepAliveTimeout: 30_000 }, (_req, res) => {
      if (spinMs > 0) for (const end = performance.now() + spinMs; performance.now() < end; );
      res.writeHead(200, headers);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return {
      ready: { port, base: `http://127.0.0.1:${port}`, pid: process.pid } satisfies Ready,
      handlers: {
        ...windowHandlers(meter, profiler, ''),
        answer: (arg) => {
          const a = arg as { headers: Record<string, string>; spinUs?: number };
          headers = { ...a.headers, 'content-length': '0' };
          spinMs = (a.spinUs ?? 0) / 1000;
          return true;
        },
      },
      stop: async () => {
        server.closeAllConnections();
        server.close();
      },
    };
  });
}

async function serveGateway(kind: 'embedded' | 'redis', where: string, prefix: string): Promise<void> {
  await serveRole(async () => {
    const { openEmbeddedStore } = await import('../src/store/embedded.ts');
    const { openRedisStore } = await import('../src/store/redis.ts');
    const { buildGateway, signedHeaders } = await import('../test/helpers/gateway.ts');
    const { freePort } = await import('../test/helpers/redis-server.ts');
    const { PUBLIC_KEY_PEM, nextTimeStamp } = await import('../test/helpers/login-env.ts');
    const { encryptClientSecret } = await import('../src/marketplace/client-secret.ts');
    let dir: string | null = null;
    let store: Store;
    if (kind === 'embedded') store = openEmbeddedStore((dir = mkdtempSync(join(tmpdir(), 'bench-cost-'))));
    else store = await openRedisStore(where, { keyPrefix: prefix || `bench-cost-${process.pid}:` });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const gw = await buildGateway(store, { publicUrl: base, port });
    const server = http.createServer({ keepAliveTimeout: 30_000 }, gw.listener);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    // DIAGNOSTIC (the "fixed answer" rows): a second listener in this same process that answers
    // /auth/verify with a fixed 200 (the headers of a real answer, set by 'answer') and hands
    // everything else to the gateway: the headers' ceiling in a process that has served what
    // the gateway serves (sign-ins through express, its syncs), without the gateway's decision
    let fixed: Record<string, string> = { 'content-length': '0' };
    const fixedServer = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
      if (req.url?.startsWith('/auth/verify')) res.writeHead(200, fixed).end();
      else gw.listener(req, res);
    });
    await new Promise<void>((resolve) => fixedServer.listen(0, '127.0.0.1', resolve));
    const sync = async (what: string, body: Record<string, unknown>) => {
      const raw = JSON.stringify(body);
      const res = await fetch(`${base}/produceAPI/v2/${what}`, { method: 'POST', headers: signedHeaders(raw), body: raw });
      const json = (await res.json()) as { resultCode?: string; resultMsg?: string };
      if (json.resultCode !== '000000') throw new Error(`${what}: ${json.resultCode} ${json.resultMsg}`);
    };
    const meter = new WindowMeter();
    const profiler = new WindowProfiler();
    return {
      ready: { port, base, pid: process.pid, storeKind: kind, fastPort: port, fixedPort: (fixedServer.address() as { port: number }).port } satisfies GatewayReady & { fixedPort: number },
      handlers: {
        answer: (arg) => {
          fixed = { ...(arg as { headers: Record<string, string> }).headers, 'content-length': '0' };
          return true;
        },
        addTenant: async (arg: unknown) => {
          const t = arg as TenantSetup & { origin: string };
          await sync('tenantSync', { instanceId: `inst-${t.tenantId}`, orderId: 'CS1', tenantId: t.tenantId, tenantCode: t.tenantCode, name: `${t.tenantCode} Ltd`, domainName: t.origin, flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
          await sync('applicationSync', { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, appId: 'app-1', clientId: t.clientId, clientSecret: encryptClientSecret(PUBLIC_KEY_PEM, t.clientSecret), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
          const userList = t.users.map((u) => ({ userName: u.userName, name: u.name, orgCode: '10', role: u.role, enable: 'true', email: u.email }));
          await sync('authSync', { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, appId: 'app-1', userList, currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
          return true;
        },
        ...windowHandlers(meter, profiler, `${kind}-`),
      },
      stop: async () => {
        server.closeAllConnections();
        server.close();
        fixedServer.closeAllConnections();
        fixedServer.close();
        await gw.close();
        await store.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// the driver

interface Stats {
  usage: WindowUsage;
  profile?: string;
}

/** the Redis gateway's key prefix, shared by --verify-only's second process */
const REDIS_PREFIX = `bench-cost-${process.pid}:`;

/**
 * --pin (the default on 2 or more cores, where taskset exists): during the verify rounds every
 * server is bound to CPU 0 and wrk to CPU 1, so a target's rate is what one core of it serves
 * rather than how the scheduler shared two cores between it and wrk (on this 2-core host the
 * unpinned ratio moved by ±40% from round to round).
 */
const PIN = !argv.includes('--no-pin') && availableParallelism() >= 2 && hasTaskset();

async function signInWindow(base: string | string[], tenants: TenantSetup[], seconds: number, seq: { n: number }, browsers = 4): Promise<{ completed: number; failures: string[]; elapsedMs: number; cookies: Array<{ cookie: string; user: string }> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const failures: string[] = [];
  const cookies: Array<{ cookie: string; user: string }> = [];
  let completed = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: browsers }, async () => {
      while (performance.now() < deadline) {
        const i = seq.n++;
        const t = tenants[i % tenants.length]!;
        const u = t.users[Math.floor(i / tenants.length) % t.users.length]!;
        const r = await signInOAuth(new Walker(agent), Array.isArray(base) ? base[i % base.length]! : base, t.tenantCode, u.userName);
        if (!r.ok) failures.push(r.note!);
        else {
          completed += 1;
          cookies.push({ cookie: r.cookie!, user: u.userName });
        }
      }
    }),
  );
  const elapsedMs = performance.now() - t0;
  agent.destroy();
  return { completed, failures, elapsedMs, cookies };
}

async function main(): Promise<void> {
  const stores = option('--stores', 'embedded,redis').split(',') as Array<'embedded' | 'redis'>;
  const rounds = Number(option('--rounds', '3'));
  const seconds = Number(option('--seconds', '5'));
  const signInSeconds = Number(option('--signin-seconds', '8'));
  const signInRunIn = Number(option('--signin-runin', '20'));
  const spinUs = Number(option('--spin-us', '10'));
  const fixedRows = !argv.includes('--no-fixed');
  const verifyOnlyRow = argv.includes('--verify-only');
  const connections = Number(option('--connections', '32'));
  const profileDir = argv.includes('--profile') ? option('--profile', tmpdir()) : null;
  const perfDir = argv.includes('--perf') ? option('--perf', tmpdir()) : null;
  if (perfDir && !hasPerf()) throw new Error('--perf needs Linux perf (apt-get install -y linux-perf)');
  // --perf: the servers' JIT-compiled functions get names for perf (/tmp/perf-<pid>.map)
  const serverArgv = perfDir ? { execArgv: [...process.execArgv, '--perf-basic-prof'] } : {};
  const loadBefore = loadAvg();
  const work = mkdtempSync(join(tmpdir(), 'bench-cost-drv-'));
  const { startRedis } = await import('../test/helpers/redis-server.ts');
  const redis = stores.includes('redis') ? await startRedis({ appendonly: true }) : null;
  const roles: Array<RoleHandle<unknown>> = [];
  const out: string[] = [];
  try {
    const ceiling = await forkRole<Ready>(SELF, ['--serve', 'ceiling'], serverArgv);
    roles.push(ceiling);
    // the same bare server answering with a gateway's complete 200 headers (identity token and
    // headers, cache-control): what node:http itself costs for the answer the gateway must give
    const headersCeiling = await forkRole<Ready>(SELF, ['--serve', 'ceiling'], serverArgv);
    roles.push(headersCeiling);
    // DIAGNOSTIC: the headers' ceiling with a busy loop of --spin-us µs per request, standing in
    // for the gateway's own work: over loopback a slower server also pays more per write (the
    // client is more often asleep when the answer arrives), so its throughput falls further than
    // its own CPU alone says. 0: no such row.
    const spinCeiling = spinUs > 0 ? await forkRole<Ready>(SELF, ['--serve', 'ceiling']) : null;
    if (spinCeiling) roles.push(spinCeiling);
    let answerHeaders: Record<string, string> | null = null;
    const gateways: Array<{ kind: string; role: RoleHandle<GatewayReady & { fixedPort: number }> }> = [];
    for (const kind of stores) {
      const role = await forkRole<GatewayReady & { fixedPort: number }>(SELF, ['--serve', 'gateway', kind, redis?.url ?? '-', kind === 'redis' ? REDIS_PREFIX : ''], serverArgv);
      roles.push(role);
      gateways.push({ kind, role });
    }
    // DIAGNOSTIC (--verify-only): a second Redis gateway process on the same keys, which serves
    // nothing but the verify load: the same decision in a process whose HTTP code has seen only it
    const verifyOnly = verifyOnlyRow && redis ? await forkRole<GatewayReady & { fixedPort: number }>(SELF, ['--serve', 'gateway', 'redis', redis.url, REDIS_PREFIX], serverArgv) : null;
    if (verifyOnly) roles.push(verifyOnly);
    const sandbox = await startSandboxRole();
    roles.push(sandbox);
    const tenants = population(4, 50);
    await setUpTenants(
      sandbox,
      gateways.map((g) => g.role),
      tenants,
    );
    process.stderr.write(`set up; load ${loadAvg()}\n`);

    // sign-ins: CPU per sign-in, and the sessions the verify load uses
    const signRows: string[][] = [];
    const scripts = new Map<string, string>();
    const seq = { n: 0 };
    for (const g of gateways) {
      // two windows: a fresh process (1 s of sign-ins first), and the same process once it has
      // run --signin-runin seconds more (V8 optimises a function only after many calls)
      let w: Awaited<ReturnType<typeof signInWindow>> | null = null;
      const before = seq.n;
      for (const phase of ['fresh', 'run in'] as const) {
        await signInWindow(g.role.ready.base, tenants, phase === 'fresh' ? 1 : signInRunIn, seq);
        const made = seq.n - before;
        await g.role.ask('reset');
        w = await signInWindow(g.role.ready.base, tenants, signInSeconds, seq);
        const st = await g.role.ask<Stats>('stats', {});
        const cpuMs = st.usage.cpu * w.elapsedMs;
        signRows.push([`${g.kind}, after ${made} sign-ins`, String(w.completed), (w.completed / (w.elapsedMs / 1000)).toFixed(1), (cpuMs / w.completed).toFixed(2), `${Math.round(st.usage.elu * 100)}% / ${Math.round(st.usage.cpu * 100)}%`, String(w.failures.length), loadAvg()]);
        process.stderr.write(`sign-in ${g.kind}: ${signRows.at(-1)!.join(' | ')}\n`);
        if (w.failures.length) process.stderr.write(`  failures: ${[...new Set(w.failures)].slice(0, 5).join('; ')}\n`);
        if (signInRunIn <= 0) break;
      }
      const sessions = w!.cookies.slice(-64);
      for (const s of sessions) {
        const res = await fetch(`${g.role.ready.base}/auth/verify`, { headers: { cookie: s.cookie, 'x-forwarded-uri': '/dashboard' } });
        await res.arrayBuffer();
        if (res.status !== 200 || res.headers.get('x-auth-request-user') !== s.user) throw new Error(`verify of a fresh session: HTTP ${res.status}, user ${res.headers.get('x-auth-request-user')} (expected ${s.user})`);
        answerHeaders ??= Object.fromEntries([...res.headers].filter(([k]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)));
      }
      scripts.set(g.kind, wrkScript(work, g.kind, sessions.map((s) => s.cookie)));
      if (!scripts.has('ceiling')) scripts.set('ceiling', wrkScript(work, 'ceiling', sessions.map((s) => s.cookie)));
    }

    // verify: interleaved rounds
    const targets: Array<{ name: string; port: number; script: string; role: RoleHandle<unknown> }> = [
      { name: 'ceiling: bare node:http 200', port: ceiling.ready.port, script: scripts.get('ceiling')!, role: ceiling },
      { name: "bare node:http 200 with a gateway's answer headers", port: headersCeiling.ready.port, script: scripts.get('ceiling')!, role: headersCeiling },
      ...(spinCeiling ? [{ name: `diagnostic: the headers' ceiling + ${spinUs} µs busy loop per request`, port: spinCeiling.ready.port, script: scripts.get('ceiling')!, role: spinCeiling }] : []),
      ...gateways.flatMap((g) => [
        { name: `gateway /auth/verify, ${g.kind}`, port: g.role.ready.port, script: scripts.get(g.kind)!, role: g.role as RoleHandle<unknown> },
        ...(fixedRows ? [{ name: `diagnostic: the ${g.kind} gateway's process answering verify with a fixed 200 (no decision)`, port: g.role.ready.fixedPort, script: scripts.get(g.kind)!, role: g.role as RoleHandle<unknown> }] : []),
      ]),
      ...(verifyOnly ? [{ name: 'diagnostic: a second redis gateway process on the same store that serves only verify', port: verifyOnly.ready.port, script: scripts.get('redis')!, role: verifyOnly as RoleHandle<unknown> }] : []),
    ];
    if (fixedRows) for (const g of gateways) await g.role.ask('answer', { headers: answerHeaders ?? {} });
    await headersCeiling.ask('answer', { headers: answerHeaders ?? {} });
    await spinCeiling?.ask('answer', { headers: answerHeaders ?? {}, spinUs });
    const all = availableParallelism();
    if (PIN) for (const t of targets) pinProcess(t.role.child.pid!, '0');
    const results = new Map<string, Array<WrkResult & { cpu: number; cpuUsPerRequest: number; load: string }>>();
    for (let r = 1; r <= rounds; r++) {
      for (const t of targets) {
        await wrk(t.port, t.script, 1, connections, PIN);
        await t.role.ask('reset');
        const m = await wrk(t.port, t.script, seconds, connections, PIN);
        const st = await t.role.ask<Stats>('stats', {});
        results.set(t.name, [...(results.get(t.name) ?? []), { ...m, cpu: st.usage.cpu, cpuUsPerRequest: (st.usage.cpuMs * 1000) / m.requests, load: loadAvg() }]);
        process.stderr.write(`round ${r} ${t.name}: ${m.rps.toFixed(0)} req/s, ${results.get(t.name)!.at(-1)!.cpuUsPerRequest.toFixed(1)} µs CPU per request, p50 ${m.p50}, p99 ${m.p99}, non-2xx ${m.non2xx} ${m.errors}; load ${loadAvg()}\n`);
      }
    }
    if (PIN) for (const t of targets) pinProcess(t.role.child.pid!, `0-${all - 1}`);
    const ceil = results.get(targets[0]!.name)!;
    const headersCeil = results.get(targets[1]!.name)!;
    const verifyRows = targets.map((t) => {
      const rs = results.get(t.name)!;
      const rates = rs.map((x) => x.rps);
      const ratios = rs.map((x, i) => x.rps / ceil[i]!.rps);
      const headerRatios = rs.map((x, i) => x.rps / headersCeil[i]!.rps);
      const med = rs.find((x) => x.rps === median(rates))!;
      return [
        t.name,
        median(rates).toFixed(0),
        `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`,
        t === targets[0] ? '100%' : `${Math.round(median(ratios) * 100)}%`,
        t === targets[0] ? '–' : ratios.map((x) => `${Math.round(x * 100)}%`).join(', '),
        t === targets[0] || t === targets[1] ? '–' : `${Math.round(median(headerRatios) * 100)}%`,
        med.p50,
        med.p99,
        `${Math.round(med.cpu * 100)}%`,
        median(rs.map((x) => x.cpuUsPerRequest)).toFixed(1),
        String(rs.reduce((a, x) => a + x.non2xx, 0)),
        rs.map((x) => x.load.split(' ')[0]).join(', '),
      ];
    });

    const profiles: string[] = [];
    if (profileDir) {
      // the headers' ceiling under the same load: what node:http itself spends on the same answer
      await headersCeiling.ask('reset', { profile: true });
      await wrk(headersCeiling.ready.port, scripts.get('ceiling')!, seconds, connections, PIN);
      const sc = await headersCeiling.ask<Stats>('stats', { profileDir, label: 'verify-headers-ceiling' });
      profiles.push(`### CPU profile: the headers' ceiling (bare node:http with a gateway's answer headers; ${sc.profile})`, '', '```', formatProfile(summarizeCpuProfile(sc.profile!), 20), '```', '');
      for (const g of gateways) {
        await g.role.ask('reset', { profile: true });
        const w = await signInWindow(g.role.ready.base, tenants, signInSeconds, seq);
        const st = await g.role.ask<Stats>('stats', { profileDir, label: 'signin' });
        profiles.push(`### Gateway CPU profile: sign-in, ${g.kind} (${w.completed} sign-ins; ${st.profile})`, '', '```', formatProfile(summarizeCpuProfile(st.profile!), 20), '```', '');
        await g.role.ask('reset', { profile: true });
        await wrk(g.role.ready.port, scripts.get(g.kind)!, seconds, connections, PIN);
        const sv = await g.role.ask<Stats>('stats', { profileDir, label: 'verify' });
        profiles.push(`### Gateway CPU profile: /auth/verify, ${g.kind} (${sv.profile})`, '', '```', formatProfile(summarizeCpuProfile(sv.profile!), 20), '```', '');
      }
    }

    const perfOut: string[] = [];
    if (perfDir) {
      // one more verify window per target (not the busy-loop diagnostic), pinned as in the rounds
      if (PIN) for (const t of targets) pinProcess(t.role.child.pid!, '0');
      const summaries: Array<{ name: string; summary: PerfSummary }> = [];
      for (const t of targets.filter((x) => !x.name.includes('busy loop'))) {
        const pid = t.role.child.pid!;
        await wrk(t.port, t.script, 1, connections, PIN);
        const file = join(perfDir, `cost-perf-${t.name.replace(/[^a-z0-9]+/gi, '-')}-${pid}.data`);
        const m = await perfRecord(pid, file, () => wrk(t.port, t.script, seconds, connections, PIN));
        const summary = summarizePerf(file, pid, m.requests);
        const fixedKind = /^diagnostic: the (\S+) gateway's process/.exec(t.name)?.[1];
        const short = t === targets[0] ? 'bare' : t === targets[1] ? 'headers' : fixedKind ? `fixed 200 in gateway ${fixedKind}` : t.name.replace('gateway /auth/verify, ', 'gateway ');
        summaries.push({ name: short, summary });
        perfOut.push(`#### perf: ${t.name} (${m.requests} requests, ${m.rps.toFixed(0)} req/s; ${file}): main-thread leaf functions, µs per request`, '', '```', formatLeaves(summary), '```', '');
      }
      if (PIN) for (const t of targets) pinProcess(t.role.child.pid!, `0-${all - 1}`);
      perfOut.unshift(`### perf: where a verify request's CPU goes, kernel included (perf record -g, one ${seconds} s window per target after the rounds; bare = the bare ceiling, headers = the headers' ceiling)`, '', formatPerfTable(summaries), '');
    }

    const f = machineFacts();
    out.push(`## Cost per request (bench/cost.ts)`, '');
    out.push(`- date: ${new Date().toISOString().slice(0, 16)} UTC; ${f.cpu}, ${f.cores} cores, ${f.memGiB} GiB, ${f.platform}; Node ${f.node}`);
    out.push(`- code: ${codeState()}`);
    out.push(`- load average (1/5/15 min): ${loadBefore} before, ${loadAvg()} after`);
    out.push(`- sign-ins: 4 browsers, ${signInSeconds} s; verify: wrk -t1 -c${connections}, ${rounds} round(s) × ${seconds} s per target, interleaved; ${PIN ? 'servers pinned to CPU 0, wrk to CPU 1' : 'not pinned'}`, '');
    out.push(markdownTable(['Store', 'Sign-ins', 'Sign-ins/s', 'Gateway CPU ms per sign-in', 'Gateway ELU / CPU', 'Failures', 'Load after'], signRows, [false, true, true, true, true, true, false]));
    out.push('');
    out.push(markdownTable(['Target', 'Req/s (median)', 'Req/s range', 'of ceiling (median)', 'of ceiling per round', "of the headers' ceiling (median)", 'p50', 'p99', 'Server CPU', 'Server CPU µs per request (median)', 'Non-2xx', 'Load (1 min) per round'], verifyRows, [false, true, true, true, false, true, true, true, true, true, true, false]));
    out.push('');
    out.push(...profiles);
    out.push(...perfOut);
  } finally {
    for (const r of roles.reverse()) await r.stop();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(out.join('\n'));
}

/**
 * --instances: one gateway process vs two on one Redis (same key prefix, so they share sessions
 * and the directory). Sign-ins: 8 browsers, spread over the instances (alternating); verify: one
 * wrk -c<connections> against one instance, or one wrk -c<connections/2> against each at once
 * (rates summed). Rounds interleave one and two.
 */
async function instances(): Promise<void> {
  const rounds = Number(option('--rounds', '3'));
  const seconds = Number(option('--seconds', '5'));
  const signInSeconds = Number(option('--signin-seconds', '8'));
  const connections = Number(option('--connections', '32'));
  const loadBefore = loadAvg();
  const work = mkdtempSync(join(tmpdir(), 'bench-cost-drv-'));
  const { startRedis } = await import('../test/helpers/redis-server.ts');
  const redis = await startRedis({ appendonly: true });
  if (!redis) throw new Error('redis-server is not installed');
  const roles: Array<RoleHandle<unknown>> = [];
  const out: string[] = [];
  try {
    const gws: Array<RoleHandle<GatewayReady>> = [];
    for (let i = 0; i < 2; i++) {
      const g = await forkRole<GatewayReady>(SELF, ['--serve', 'gateway', 'redis', redis.url, 'bench-two:']);
      roles.push(g);
      gws.push(g);
    }
    const sandbox = await startSandboxRole();
    roles.push(sandbox);
    const tenants = population(4, 50);
    // the directory is shared: synced through the first instance, the sandbox accepts both callbacks
    for (const t of tenants) {
      const origin = await sandbox.ask<string>('addTenant', { ...t, redirectUris: gws.map((g) => `${g.ready.base}/oauth/callback`) });
      await gws[0]!.ask('addTenant', { ...t, origin });
    }
    const seq = { n: 0 };
    const made = await signInWindow(gws.map((g) => g.ready.base), tenants, 2, seq, 8);
    if (made.failures.length) throw new Error(`sign-ins failed: ${made.failures[0]}`);
    const sessions = made.cookies.slice(-64);
    for (const [k, g] of gws.entries()) {
      const s = sessions[k]!;
      const res = await fetch(`${g.ready.base}/auth/verify`, { headers: { cookie: s.cookie, 'x-forwarded-uri': '/' } });
      await res.arrayBuffer();
      if (res.status !== 200 || res.headers.get('x-auth-request-user') !== s.user) throw new Error(`a session is not valid on instance ${k}: HTTP ${res.status}`);
    }
    const script = wrkScript(work, 'two', sessions.map((s) => s.cookie));
    const rows: string[][] = [];
    const per = new Map<string, { signIns: number[]; verify: number[] }>();
    for (let r = 1; r <= rounds; r++) {
      for (const n of [1, 2]) {
        const use = gws.slice(0, n);
        for (const g of use) await g.ask('reset');
        const w = await signInWindow(use.map((g) => g.ready.base), tenants, signInSeconds, seq, 8);
        const su = await Promise.all(use.map((g) => g.ask<Stats>('stats', {})));
        await Promise.all(use.map((g) => wrk(g.ready.port, script, 1, Math.max(1, Math.floor(connections / n)))));
        for (const g of use) await g.ask('reset');
        const v = await Promise.all(use.map((g) => wrk(g.ready.port, script, seconds, Math.max(1, Math.floor(connections / n)))));
        const vu = await Promise.all(use.map((g) => g.ask<Stats>('stats', {})));
        const signRate = w.completed / (w.elapsedMs / 1000);
        const vRate = v.reduce((a, x) => a + x.rps, 0);
        const key = `${n}`;
        const p = per.get(key) ?? { signIns: [], verify: [] };
        p.signIns.push(signRate);
        p.verify.push(vRate);
        per.set(key, p);
        rows.push([
          String(r),
          n === 1 ? 'one instance' : 'two instances',
          signRate.toFixed(1),
          su.map((x) => `${Math.round(x.usage.cpu * 100)}%`).join(' + '),
          String(w.failures.length),
          vRate.toFixed(0),
          vu.map((x) => `${Math.round(x.usage.cpu * 100)}%`).join(' + '),
          String(v.reduce((a, x) => a + x.non2xx, 0)),
          loadAvg().split(' ')[0]!,
        ]);
        process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
      }
    }
    const f = machineFacts();
    out.push('## Two gateway instances vs one on one Redis (bench/cost.ts --instances)', '');
    out.push(`- date: ${new Date().toISOString().slice(0, 16)} UTC; ${f.cpu}, ${f.cores} cores, ${f.memGiB} GiB, ${f.platform}; Node ${f.node}`);
    out.push(`- code: ${codeState()}`);
    out.push(`- load average (1/5/15 min): ${loadBefore} before, ${loadAvg()} after`, '');
    out.push(markdownTable(['Round', 'Gateways', 'Sign-ins/s (8 browsers)', 'Gateway CPU during sign-ins', 'Sign-in failures', 'Verify req/s (wrk, summed)', 'Gateway CPU during verify', 'Verify non-2xx', 'Load (1 min)'], rows, [true, false, true, true, true, true, true, true, true]));
    out.push('');
    const med = (k: string, f2: 'signIns' | 'verify') => median(per.get(k)![f2]);
    out.push(`Medians: sign-ins/s ${med('1', 'signIns').toFixed(1)} (one) vs ${med('2', 'signIns').toFixed(1)} (two); verify req/s ${med('1', 'verify').toFixed(0)} vs ${med('2', 'verify').toFixed(0)}.`);
  } finally {
    for (const r of roles.reverse()) await r.stop();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(out.join('\n'));
}

const isMain = !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(SELF);
if (isMain && argv[0] === '--serve') {
  if (argv[1] === 'ceiling') await serveCeiling();
  else await serveGateway(argv[2] as 'embedded' | 'redis', argv[3] ?? '-', argv[4] ?? '');
} else if (isMain) {
  try {
    await (argv.includes('--instances') ? instances() : main());
  } catch (e) {
    killRoles();
    throw e;
  }
}

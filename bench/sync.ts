// Throughput and latency of the marketplace sync receiver over real HTTP on 127.0.0.1.
//
//   npx tsx bench/sync.ts            full run (~100 s: per scenario 1.5 s warm-up, then 5 s measured,
//                                    10 s for authSync-500)
//   npx tsx bench/sync.ts --quick    smoke run (~12 s; five of the eight scenarios, 0.5 s each,
//                                    authSync-500 at 4 connections)
//   options: --only <substr,...>     run the scenarios whose name contains one of these
//            --profile <dir>         start the gateway servers with --cpu-prof into <dir>
//
// Layout: this process is the load generator; every server runs in a child process (this file
// with --serve), so the client's work does not share the server's event loop. The gateway is the
// one main.ts serves (test/helpers/gateway.ts), on the embedded store (fresh SQLite directory
// in the OS temp dir, WAL + synchronous=FULL) or on a private redis-server (test helper; stopped
// by its PID). The ceiling is a bare node:http handler that reads the body and answers a fixed
// 200 JSON.
//
// Signing: every request is signed before its timed loop starts (warm-up and measurement each
// get their own batch, signed just before they run), with x-timestamp = signing time, so the
// oldest request is a few seconds old when it is sent (window: 60 s) and client-side signing
// costs nothing inside the timed loop. Every request has its own random nonce. The canonical form
// of each body template is computed once with the product's own canonicalize(parseJson()); the
// per-request values (tenantId, tenantCode, timeStamp, currentSyncTime) are ASCII placeholders
// substituted into both the body and its canonical text, then each request is HMAC'd with
// kitSignatureHex. The gateway re-verifies every body, so a wrong shortcut would show up as 000001.
//
// Every connection has its own tenant and its own queue of bodies with strictly increasing
// timeStamps, sent one at a time, so every request really writes (no "older change ignored").
// Every reply is checked: HTTP 200 and resultCode 000000 and not stale, else it is a failure.
// Prints a markdown table and the machine facts; writes nothing (the temp store directory is removed).
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGateway, KIT_KEY, timeStampAt } from '../test/helpers/gateway.ts';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.ts';
import { openEmbeddedStore } from '../src/store/embedded.ts';
import { openRedisStore } from '../src/store/redis.ts';
import type { Store } from '../src/store/store.ts';
import { canonicalize, parseJson } from '../src/marketplace/canonical-json.ts';
import { kitSignatureHex } from '../src/marketplace/signature.ts';
import { fmtMs, machineFacts, markdownTable, percentile, runLoad, type LoadResult, type PreparedRequest, type Reply, type Outcome } from './lib.ts';

// ---------------------------------------------------------------------------------------------
// server side (child process)

type Target = 'ceiling' | 'embedded' | 'redis';

interface StatsMessage {
  type: 'stats';
  /** request arrival to response finish, ms */
  handler: number[];
  /** store.write calls: [ms, number of doc writes] */
  write: Array<[number, number]>;
  /** store.putTemp calls (the nonce), ms */
  putTemp: number[];
  /** server event-loop utilization over the recorded window, 0..1 */
  elu: number;
  /** server CPU time (user + system) / wall time over the window; 1 = one core busy */
  cpu: number;
  /** longest event-loop delay seen in the window, ms (a long turn serving many queued calls counts) */
  maxLoopDelayMs: number;
}

type ToChild = { cmd: 'reset' } | { cmd: 'stats' } | { cmd: 'stop' };
type FromChild = { type: 'ready'; port: number } | StatsMessage;

const CEILING_REPLY = JSON.stringify({ resultCode: '000000', resultMsg: 'success.' });

async function serve(target: Target, where: string): Promise<void> {
  let recording = false;
  let handler: number[] = [];
  let write: Array<[number, number]> = [];
  let putTemp: number[] = [];
  let elu0 = performance.eventLoopUtilization();
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let store: Store | null = null;
  let closeGateway = async () => {};
  let app: http.RequestListener;

  if (target === 'ceiling') {
    app = (req, res) => {
      req.on('data', () => {});
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CEILING_REPLY) });
        res.end(CEILING_REPLY);
      });
    };
  } else {
    const s: Store = target === 'embedded' ? openEmbeddedStore(where) : await openRedisStore(where, { keyPrefix: `bench-${process.pid}:` });
    store = s;
    // time the store calls of interest (the embedded store is synchronous underneath, so this is
    // exactly the SQLite transaction with its fsync; on Redis it includes the round trip)
    const origWrite = s.write.bind(s);
    s.write = async (writes, audit) => {
      const t0 = performance.now();
      try {
        return await origWrite(writes, audit);
      } finally {
        if (recording) write.push([performance.now() - t0, writes.length]);
      }
    };
    const origPut = s.putTemp.bind(s);
    s.putTemp = async (key, value, ttlMs, opts) => {
      const t0 = performance.now();
      try {
        return await origPut(key, value, ttlMs, opts);
      } finally {
        if (recording) putTemp.push(performance.now() - t0);
      }
    };
    const gw = await buildGateway(s);
    closeGateway = () => gw.close();
    app = gw.app;
  }

  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    res.on('finish', () => {
      if (recording) handler.push(performance.now() - t0);
    });
    app(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  const stop = async () => {
    server.closeAllConnections();
    server.close();
    await closeGateway();
    await store?.close();
    process.exit(0); // also writes the --cpu-prof profile
  };
  process.on('disconnect', () => void stop()); // the parent went away
  process.on('message', (m: ToChild) => {
    if (m.cmd === 'reset') {
      handler = [];
      write = [];
      putTemp = [];
      recording = true;
      elu0 = performance.eventLoopUtilization();
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
      loopDelay.reset();
      loopDelay.enable();
      send({ type: 'stats', handler: [], write: [], putTemp: [], elu: 0, cpu: 0, maxLoopDelayMs: 0 });
    } else if (m.cmd === 'stats') {
      recording = false;
      loopDelay.disable();
      const c = process.cpuUsage(cpu0);
      const cpu = (c.user + c.system) / 1000 / (performance.now() - wall0);
      const elu = performance.eventLoopUtilization(elu0).utilization;
      send({ type: 'stats', handler, write, putTemp, elu, cpu, maxLoopDelayMs: loopDelay.max / 1e6 });
    } else if (m.cmd === 'stop') void stop();
  });
  send({ type: 'ready', port });
}

function send(m: FromChild): void {
  process.send!(m);
}

// ---------------------------------------------------------------------------------------------
// client side: servers as child processes

interface ServerHandle {
  target: Target;
  port: number;
  child: ChildProcess;
  /** clears the server-side timings and starts recording */
  reset(): Promise<void>;
  /** stops recording and returns what was recorded */
  stats(): Promise<StatsMessage>;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

async function startServer(target: Target, where: string, profileDir: string | null): Promise<ServerHandle> {
  const execArgv = [...process.execArgv];
  if (profileDir && target !== 'ceiling') execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const child = fork(SELF, ['--serve', target, where], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const next = (): Promise<FromChild> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${target} server exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m: FromChild) => {
        child.off('exit', onExit);
        resolve(m);
      });
    });
  const ready = await withTimeout(next(), 20_000, `${target} server start`);
  if (ready.type !== 'ready') throw new Error('unexpected first message');
  const ask = async (cmd: ToChild): Promise<StatsMessage> => {
    const reply = next();
    child.send(cmd);
    const m = await withTimeout(reply, 10_000, `${target} server ${cmd.cmd}`);
    if (m.type !== 'stats') throw new Error('unexpected reply');
    return m;
  };
  return {
    target,
    port: ready.port,
    child,
    reset: async () => void (await ask({ cmd: 'reset' })),
    stats: () => ask({ cmd: 'stats' }),
    stop: () => stopChild(child),
  };
}

const children = new Set<ChildProcess>();

/** asks the child to stop, then SIGKILL by its PID if it has not exited within 5 s */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  if (child.connected) child.send({ cmd: 'stop' } satisfies ToChild);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

// ---------------------------------------------------------------------------------------------
// request bodies

const PH = { tenant: '__TENANT__', code: '__CODE__', ts: '__TS__', cst: '__CST__' } as const;

/** 17-digit body timeStamps, strictly increasing over the whole run */
const tsBase = Date.now() - 24 * 3600_000;
let tsSeq = 0;
const nextTimeStamp = () => timeStampAt(tsBase + ++tsSeq);

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '欧阳'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '涛', '明', '超', '秀英', '霞', '平', '志刚', '建华', '晓东', '婷婷', '子涵'];
const PINYIN = ['wang', 'li', 'zhang', 'liu', 'chen', 'yang', 'huang', 'zhao', 'wu', 'zhou', 'xu', 'sun', 'ma', 'zhu', 'hu', 'guo', 'he', 'lin', 'luo', 'ouyang'];
const POSITIONS = ['软件工程师', '高级软件工程师', '产品经理', '测试工程师', '销售代表', '人力资源专员', '财务主管', '运维工程师', '项目经理', '客户成功经理'];
const PLACES = ['深圳市南山区科技园', '北京市海淀区中关村软件园', '上海市浦东新区张江高科技园区', '杭州市西湖区文三路', '成都市高新区天府软件园'];

/** 500 realistic users: Chinese names, positions and places, every field the schema knows */
function users500(): Array<Record<string, unknown>> {
  return Array.from({ length: 500 }, (_, i) => {
    const s = i % SURNAMES.length;
    const id = String(i).padStart(4, '0');
    return {
      userName: `${PINYIN[s]}.${id}`,
      name: `${SURNAMES[s]}${GIVEN[(i * 7) % GIVEN.length]}`,
      orgCode: `D${String(1001 + (i % 24))}`,
      position: POSITIONS[i % POSITIONS.length],
      employeeCode: `E2024${id}`,
      role: i % 25 === 0 ? 'admin' : 'user',
      // 10 of 500 disabled: each makes the gateway look up that user's sessions, as in production
      enable: i % 50 === 49 ? 'false' : 'true',
      mobile: `138${String(10_000_000 + i * 7919).slice(-8)}`,
      email: `${PINYIN[s]}.${id}@acme-corp.example.com`,
      workPlace: PLACES[i % PLACES.length],
      entryDate: `20${String(15 + (i % 10)).padStart(2, '0')}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
      extension: { employeeType: 1 + (i % 3) },
    };
  });
}

type BodyKind = 'tenantSync' | 'authSync';

interface Template {
  kind: BodyKind;
  /** JSON text of the body with placeholders */
  raw: string;
  /** its canonical form (what x-sign covers), same placeholders */
  canonical: string;
}

function makeTemplate(kind: BodyKind): Template {
  const body =
    kind === 'tenantSync'
      ? { instanceId: 'inst-bench-0001', orderId: 'CS2611250001', tenantId: PH.tenant, tenantCode: PH.code, name: '深圳市基准测试科技有限公司', domainName: 'https://bench.example-oneaccess.com', flag: 2, testFlag: 0, timeStamp: PH.ts }
      : { instanceId: 'inst-bench-0001', tenantId: PH.tenant, appId: 'app-bench-01', userList: users500(), currentSyncTime: PH.cst, flag: 2, testFlag: 0, timeStamp: PH.ts };
  const raw = JSON.stringify(body);
  const canonical = canonicalize(parseJson(raw));
  for (const p of Object.values(PH)) if (raw.includes(p) !== canonical.includes(p)) throw new Error(`placeholder ${p} does not survive canonicalization`);
  return { kind, raw, canonical };
}

function fill(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [k, v] of Object.entries(values)) out = out.split(k).join(v);
  return out;
}

/** one queue per connection; connection k always writes tenant t-bench-{k} */
function prepareSigned(t: Template, concurrency: number, perQueue: number): PreparedRequest[][] {
  const path = `/produceAPI/v2/${t.kind}`;
  const queues: PreparedRequest[][] = Array.from({ length: concurrency }, () => []);
  for (let n = 0; n < perQueue; n++) {
    for (let k = 0; k < concurrency; k++) {
      const ts = nextTimeStamp();
      const values = { [PH.tenant]: `t-bench-${k}`, [PH.code]: `bench${k}`, [PH.ts]: ts, [PH.cst]: ts };
      const timestamp = String(Date.now());
      const nonce = randomBytes(32).toString('hex').toUpperCase();
      const sign = kitSignatureHex(KIT_KEY, nonce, timestamp, fill(t.canonical, values));
      queues[k]!.push({
        path,
        headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-nonce': nonce, 'x-sign': sign },
        body: Buffer.from(fill(t.raw, values), 'utf8'),
      });
    }
  }
  return queues;
}

/** the ceiling ignores everything: the same few requests over and over */
function prepareUnsigned(t: Template, concurrency: number, perQueue: number): PreparedRequest[][] {
  const one = prepareSigned(t, concurrency, 1);
  return one.map(([req]) => Array.from({ length: perQueue }, () => req!));
}

function check(reply: Reply): Outcome {
  if (reply.status !== 200) return { ok: false, note: `HTTP ${reply.status}: ${reply.body.slice(0, 160)}` };
  let parsed: { resultCode?: string; resultMsg?: string };
  try {
    parsed = JSON.parse(reply.body) as typeof parsed;
  } catch {
    return { ok: false, note: `not JSON: ${reply.body.slice(0, 160)}` };
  }
  if (parsed.resultCode !== '000000') return { ok: false, note: `${parsed.resultCode} ${parsed.resultMsg}` };
  if (/older/.test(parsed.resultMsg ?? '')) return { ok: false, note: `stale, did not write: ${parsed.resultMsg}` };
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// scenarios

interface Scenario {
  name: string;
  target: Target;
  kind: BodyKind;
  concurrency: number;
}

interface Row {
  s: Scenario;
  m: LoadResult;
  warmFailures: LoadResult['problems'];
  stats: StatsMessage;
  bodyBytes: number;
}

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const option = (name: string): string | null => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? null) : null;
};

async function main(): Promise<void> {
  const quick = flag('--quick');
  const only = option('--only')?.split(',') ?? null;
  const profileDir = option('--profile');
  const WARMUP_MS = quick ? 200 : 1500;
  // authSync-500 takes tens of ms per call: measure it longer so p99 rests on 100+ samples
  const MEASURE_MS = { tenantSync: quick ? 500 : 5000, authSync: quick ? 500 : 10_000 };
  const C = 16;

  const all: Scenario[] = [
    { name: 'ceiling: bare node:http, tenantSync-size body', target: 'ceiling', kind: 'tenantSync', concurrency: C },
    { name: 'ceiling: bare node:http, authSync-500 body', target: 'ceiling', kind: 'authSync', concurrency: C },
    { name: 'tenantSync', target: 'embedded', kind: 'tenantSync', concurrency: C },
    { name: 'tenantSync', target: 'redis', kind: 'tenantSync', concurrency: C },
    { name: 'authSync-500', target: 'embedded', kind: 'authSync', concurrency: C },
    { name: 'authSync-500', target: 'redis', kind: 'authSync', concurrency: C },
    { name: 'authSync-500 (one at a time)', target: 'embedded', kind: 'authSync', concurrency: 1 },
    { name: 'authSync-500 (one at a time)', target: 'redis', kind: 'authSync', concurrency: 1 },
  ];
  // --quick is a smoke run: the one-at-a-time rows and the large-body ceiling only in full runs
  // (authSync-500 at 4 connections: 16 queued calls take ~1 s just to drain at the end of each phase)
  const quickSet = (s: Scenario) => s.concurrency > 1 && !(s.target === 'ceiling' && s.kind === 'authSync');
  const scenarios = all
    .filter((s) => (only ? only.some((o) => `${s.name} ${s.target}`.includes(o)) : !quick || quickSet(s)))
    .map((s) => (quick && !only && s.kind === 'authSync' ? { ...s, concurrency: 4 } : s));
  const loadBefore = os.loadavg();
  const templates = { tenantSync: makeTemplate('tenantSync'), authSync: makeTemplate('authSync') };

  let redis: RedisServer | null = null;
  const dirs: string[] = [];
  const servers = new Map<Target, ServerHandle>();
  const rows: Row[] = [];
  const skipped: string[] = [];
  const cleanup = async () => {
    for (const s of servers.values()) await s.stop();
    servers.clear();
    await redis?.stop();
    redis = null;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    for (const target of ['ceiling', 'embedded', 'redis'] as const) {
      const mine = scenarios.filter((s) => s.target === target);
      if (mine.length === 0) continue;
      let where = '-';
      if (target === 'embedded') {
        where = mkdtempSync(join(tmpdir(), 'bench-sync-'));
        dirs.push(where);
      } else if (target === 'redis') {
        redis = await startRedis({ appendonly: true });
        if (!redis) {
          skipped.push('Redis rows skipped: redis-server is not installed');
          continue;
        }
        where = redis.url;
      }
      const t0 = performance.now();
      const server = await startServer(target, where, profileDir);
      process.stderr.write(`  ${target} server up in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      servers.set(target, server);
      for (const s of mine) {
        const t0 = performance.now();
        const row = await runScenario(s, server, templates[s.kind], WARMUP_MS, MEASURE_MS[s.target === 'ceiling' ? 'tenantSync' : s.kind]);
        rows.push(row);
        process.stderr.write(`  done: ${s.name} [${s.target}, ${s.concurrency} conn.] ${row.m.completed} requests, ${row.m.failures} failures, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      }
      await server.stop();
      servers.delete(target);
      if (target === 'redis') {
        await redis?.stop();
        redis = null;
      }
    }
  } finally {
    await cleanup();
  }

  report(rows, skipped, { quick, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, profileDir, loadBefore, loadAfter: os.loadavg() });
  process.exitCode = rows.some((r) => r.m.failures > 0 || r.warmFailures.size > 0) ? 1 : 0;
}

async function runScenario(s: Scenario, server: ServerHandle, t: Template, warmupMs: number, measureMs: number): Promise<Row> {
  const signed = s.target !== 'ceiling';
  const prepare = (perQueue: number) => (signed ? prepareSigned(t, s.concurrency, perQueue) : prepareUnsigned(t, s.concurrency, perQueue));
  // upper bounds on the number of requests (memory: each signed authSync-500 body is ~157 KB; the
  // ceiling's queues repeat one request object, so they cost nothing)
  const maxTotal = !signed ? 200_000 : t.kind === 'authSync' ? 1500 : 60_000;
  const warmTotal = t.kind === 'authSync' ? Math.max(8, 4 * s.concurrency) : 4000;

  const warm = await runLoad({ port: server.port, concurrency: s.concurrency, durationMs: warmupMs, queues: prepare(Math.ceil(warmTotal / s.concurrency)), check });
  // size the signed batch from the warm-up rate, with room to spare; the loop still stops at measureMs
  const rate = warm.completed / (warm.elapsedMs / 1000);
  // (tenantSync bodies are cheap to sign: never fewer than 30 000, the warm-up rate can be far off)
  const floor = t.kind === 'tenantSync' ? 30_000 : 4 * s.concurrency;
  const total = !signed ? maxTotal : Math.min(maxTotal, Math.max(floor, Math.ceil(rate * (measureMs / 1000) * 3)));
  const queues = prepare(Math.ceil(total / s.concurrency));
  await server.reset();
  const m = await runLoad({ port: server.port, concurrency: s.concurrency, durationMs: measureMs, queues, check });
  const stats = await server.stats();
  return { s, m, warmFailures: warm.problems, stats, bodyBytes: queues[0]![0]!.body.length };
}

/** the commit measured, and whether src/ had uncommitted changes (others edit it concurrently) */
function codeState(): string {
  const git = (...a: string[]) => spawnSync('git', a, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'not a git checkout';
  const dirty = git('status', '--porcelain', '--', 'src').stdout.split('\n').filter(Boolean).length;
  return `commit ${head.stdout.trim()}${dirty ? ` + ${dirty} uncommitted change(s) under src/` : ', src/ clean'}`;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

interface RunInfo {
  quick: boolean;
  warmupMs: number;
  measureMs: Record<BodyKind, number>;
  profileDir: string | null;
  loadBefore: number[];
  loadAfter: number[];
}

function report(rows: Row[], skipped: string[], run: RunInfo): void {
  const f = machineFacts();
  const header = ['Scenario', 'Store', 'Conn.', 'Requests', 'Req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'Server p50 ms', 'store.write p50 / p99 ms', 'Nonce put p50 ms', 'Server ELU / CPU / max loop delay', 'Client ELU', 'Host CPU (cores)', 'Failures'];
  const body = rows.map(({ s, m, stats }) => {
    const writes = stats.write.map(([ms]) => ms).sort((a, b) => a - b);
    const handler = [...stats.handler].sort((a, b) => a - b);
    const puts = [...stats.putTemp].sort((a, b) => a - b);
    return [
      s.name,
      s.target === 'ceiling' ? '–' : s.target,
      String(s.concurrency),
      `${m.completed}${m.endedByCount ? '*' : ''}`,
      (m.completed / (m.elapsedMs / 1000)).toFixed(0),
      fmtMs(percentile(m.latencies, 50)),
      fmtMs(percentile(m.latencies, 90)),
      fmtMs(percentile(m.latencies, 99)),
      fmtMs(percentile(handler, 50)),
      writes.length ? `${fmtMs(percentile(writes, 50))} / ${fmtMs(percentile(writes, 99))}` : '–',
      puts.length ? fmtMs(percentile(puts, 50)) : '–',
      `${pct(stats.elu)} / ${pct(stats.cpu)} / ${fmtMs(stats.maxLoopDelayMs)} ms`,
      pct(m.clientElu),
      m.hostCores.toFixed(2),
      String(m.failures),
    ];
  });
  const out: string[] = [];
  out.push(`## Sync receiver (bench/sync.ts)${run.quick ? ' — quick run' : ''}`, '');
  out.push(`- date: ${f.date}`);
  out.push(`- machine: ${f.cpu}, ${f.cores} cores, ${f.memGiB} GiB, ${f.platform}`);
  out.push(`- code: ${codeState()}`);
  out.push(`- Node ${f.node}; client and each server in separate processes on 127.0.0.1; keep-alive node:http`);
  out.push(
    `- per scenario: ${run.warmupMs / 1000} s warm-up, then up to ${run.measureMs.tenantSync / 1000} s (tenantSync, ceiling) or ${run.measureMs.authSync / 1000} s (authSync-500) measured; closed loop, one request in flight per connection`,
  );
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  out.push(`- host load average (1/5/15 min): ${la(run.loadBefore)} before, ${la(run.loadAfter)} after`);
  if (Math.max(run.loadBefore[0]!, run.loadAfter[0]!) > f.cores) {
    out.push(`- WARNING: the host was busy with other work (1-min load above ${f.cores} cores); compare the Host CPU column with the server's and client's share before trusting a row`);
  }
  const sizes = new Map(rows.map((r) => [r.s.kind, r.bodyBytes]));
  out.push(`- bodies: tenantSync ${sizes.get('tenantSync') ?? '?'} B; authSync-500 ${sizes.get('authSync') ?? '?'} B (500 users, Chinese names, all fields)`);
  out.push('');
  out.push(markdownTable(header, body, [false, false, true, true, true, true, true, true, true, true, true, true, true, true, true]));
  out.push('');
  out.push('Latency is client-observed (request written to reply read). Server p50: request arrival to response finish in the server process.');
  out.push('store.write: the one atomic directory write per sync call (embedded: the SQLite transaction incl. fsync; Redis: the Lua script round trip).');
  out.push('Nonce put: the replay-cache insert (putTemp ifAbsent) every signed call makes before applying.');
  out.push('Server ELU: share of the window the server event loop was busy (blocking fsync counts as busy); CPU: its CPU time / wall time (a blocking fsync is busy but not CPU); max loop delay: the longest a timer waited (one loop turn can serve many queued calls back to back). Client ELU near 100% means the load generator, not the server, was the limit. Host CPU: all processes on the host (ours, redis-server and anything else), in cores.');
  if (rows.some((r) => r.m.endedByCount)) out.push('`*` the pre-signed batch ran out before the time limit (the rate is still completed / elapsed).');
  for (const sk of skipped) out.push(`- ${sk}`);
  const bad = rows.filter((r) => r.m.failures > 0 || r.warmFailures.size > 0);
  if (bad.length) {
    out.push('', '### Failures');
    for (const r of bad) {
      for (const [what, n] of [...r.m.problems, ...[...r.warmFailures].map(([k, v]) => [`(warm-up) ${k}`, v] as const)]) {
        out.push(`- ${r.s.name} [${r.s.target}]: ${n} × ${what}`);
      }
    }
  } else out.push('', 'Every reply was HTTP 200 with resultCode 000000 and no stale write.');
  if (run.profileDir) out.push('', `CPU profiles of the gateway servers: ${run.profileDir}`);
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------------------------------------

if (argv[0] === '--serve') {
  await serve(argv[1] as Target, argv[2] ?? '-');
} else {
  try {
    await main();
  } catch (e) {
    for (const c of children) c.kill('SIGKILL');
    throw e;
  }
}

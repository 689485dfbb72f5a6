// Shared helpers for the benchmarks in bench/: a bounded closed-loop HTTP load generator over
// keep-alive node:http, percentiles, machine facts and a markdown table. No dependencies.
// Further down (added for bench/login.ts and bench/verify.ts): a leaner raw-socket load generator
// for small GET requests, a cookie-keeping HTTP walker and the OAuth sign-in it walks, server-side
// window meters, a child-process role harness and a CPU-profile summarizer; at the end, the wrk
// runner and its Lua script for the forward-auth benchmarks (bench/cost.ts, bench/shared-feedback.ts).
import { execFile, execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** One request, fully prepared before the timed loop (body bytes and headers, signature included). */
export interface PreparedRequest {
  /** default POST */
  method?: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Reply {
  status: number;
  body: string;
  headers?: http.IncomingHttpHeaders;
}

export interface Outcome {
  ok: boolean;
  /** a short description of what went wrong (grouped and counted), or a note on a success */
  note?: string;
}

export interface LoadOptions {
  port: number;
  concurrency: number;
  /** stop sending after this long (requests already in flight complete) */
  durationMs: number;
  /** one queue per connection, consumed in order; the run also ends when every queue is empty */
  queues: PreparedRequest[][];
  /** judges each reply; anything not ok is a failure */
  check: (reply: Reply) => Outcome;
  /** per-request timeout; a timeout counts as a failure */
  timeoutMs?: number;
}

export interface LoadResult {
  completed: number;
  failures: number;
  /** failure (and note) descriptions with their counts */
  problems: Map<string, number>;
  notes: Map<string, number>;
  elapsedMs: number;
  /** client-observed latency of every completed request, ms, sorted ascending */
  latencies: number[];
  /** true when a queue ran dry before the time limit */
  endedByCount: boolean;
  /** event-loop utilization of this (the client) process during the run, 0..1 */
  clientElu: number;
  /** CPU busy on the whole host during the run, in cores (every process, not only ours) */
  hostCores: number;
}

/**
 * Closed loop: `concurrency` workers, each with its own keep-alive connection and its own queue,
 * send one request at a time. Bounded by the queues' length and by durationMs.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { port, concurrency, durationMs, queues, check } = opts;
  if (queues.length !== concurrency) throw new Error('one queue per connection');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies: number[] = [];
  const problems = new Map<string, number>();
  const notes = new Map<string, number>();
  let failures = 0;
  let endedByCount = false;
  const elu0 = performance.eventLoopUtilization();
  const host0 = hostCpuSnapshot();
  const started = performance.now();
  const deadline = started + durationMs;

  async function worker(queue: PreparedRequest[]): Promise<void> {
    for (let i = 0; ; i++) {
      if (performance.now() >= deadline) return;
      const req = queue[i];
      if (!req) {
        endedByCount = true;
        return;
      }
      const t0 = performance.now();
      let outcome: Outcome;
      try {
        outcome = check(await post(agent, port, req, timeoutMs));
      } catch (e) {
        outcome = { ok: false, note: `transport: ${(e as Error).message}` };
      }
      latencies.push(performance.now() - t0);
      if (!outcome.ok) {
        failures += 1;
        bump(problems, outcome.note ?? 'failed');
      } else if (outcome.note) bump(notes, outcome.note);
    }
  }

  await Promise.all(queues.map((q) => worker(q)));
  const elapsedMs = performance.now() - started;
  const clientElu = performance.eventLoopUtilization(elu0).utilization;
  const hostCores = hostCpuBusy(host0, hostCpuSnapshot());
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { completed: latencies.length, failures, problems, notes, elapsedMs, latencies, endedByCount, clientElu, hostCores };
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** POST (or req.method) over the given keep-alive agent; resolves with status and body text. */
export function post(agent: http.Agent, port: number, req: PreparedRequest, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: '127.0.0.1', port, method: req.method ?? 'POST', path: req.path, agent, headers: { ...req.headers, 'content-length': String(req.body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function machineFacts(): { cpu: string; cores: number; node: string; date: string; platform: string; memGiB: number } {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** CPU time of the whole host (all cores) at one instant, for hostCpuBusy() */
export function hostCpuSnapshot(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    total += t;
    busy += t - c.times.idle;
  }
  return { busy, total };
}

/** host CPU busy between two snapshots, in cores (2 = both cores of a 2-core host fully busy) */
export function hostCpuBusy(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  const cores = os.cpus().length;
  return b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * cores : NaN;
}

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAlign: readonly boolean[] = []): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const sep = header.map((_, i) => (rightAlign[i] ? '---:' : '---'));
  return [line(header), line(sep), ...rows.map(line)].join('\n');
}

/** 1/5/15-minute load averages of the host, formatted */
export function loadAvg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// raw-socket load generator (bench/verify.ts)

export interface RawLoadOptions {
  port: number;
  concurrency: number;
  /** stop sending after this long (requests in flight complete) */
  durationMs: number;
  /** stop sending after this many requests in total (bounded in count as well as in time) */
  maxRequests: number;
  /** the complete request bytes (HTTP/1.1, keep-alive, no body) of request n on connection k */
  request: (conn: number, n: number) => Buffer;
  /** judges a reply from its status and its raw header block (latin1, lines joined by \r\n) */
  check: (conn: number, n: number, status: number, head: string) => Outcome;
  /** per-request timeout; a timeout counts as a failure and the connection is opened again */
  timeoutMs?: number;
}

/**
 * Closed loop like runLoad(), but over raw net.Sockets: each connection writes a prepared request
 * and parses only the status line, the header block and Content-Length / chunked framing of the
 * answer. Several times cheaper per request than http.request(), so a small-GET benchmark on a
 * 2-core host measures the server rather than the client. One request in flight per connection.
 */
export async function runRawLoad(opts: RawLoadOptions): Promise<LoadResult> {
  const { port, concurrency, durationMs, maxRequests, check } = opts;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const latencies: number[] = [];
  const problems = new Map<string, number>();
  const notes = new Map<string, number>();
  let failures = 0;
  let sent = 0;
  let endedByCount = false;
  const elu0 = performance.eventLoopUtilization();
  const host0 = hostCpuSnapshot();
  const started = performance.now();
  const deadline = started + durationMs;
  const inFlight = new Map<number, { t0: number; sock: net.Socket }>();

  const CRLF2 = Buffer.from('\r\n\r\n');
  const CHUNK_END = Buffer.from('\r\n0\r\n\r\n');

  function worker(k: number): Promise<void> {
    return new Promise((resolve) => {
      let n = 0;
      let sock: net.Socket;
      let pending: Buffer | null = null;
      let t0 = 0;
      let busy = false;
      let done = false;

      const finish = () => {
        if (done) return;
        done = true;
        inFlight.delete(k);
        sock.removeAllListeners();
        sock.on('error', () => {});
        sock.destroy();
        resolve();
      };
      const fail = (note: string) => {
        failures += 1;
        bump(problems, note);
      };
      const next = () => {
        if (performance.now() >= deadline) return finish();
        if (sent >= maxRequests) {
          endedByCount = true;
          return finish();
        }
        sent += 1;
        busy = true;
        pending = null;
        t0 = performance.now();
        inFlight.set(k, { t0, sock });
        sock.write(opts.request(k, n));
      };
      const onData = (chunk: Buffer) => {
        pending = pending ? Buffer.concat([pending, chunk]) : chunk;
        const headEnd = pending.indexOf(CRLF2);
        if (headEnd < 0) return;
        const head = pending.toString('latin1', 0, headEnd);
        let total: number;
        const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
        if (cl) total = headEnd + 4 + Number(cl[1]);
        else if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
          const body = pending.subarray(headEnd + 2); // keep the \r\n before the first chunk size
          const end = body.indexOf(CHUNK_END);
          if (end < 0) return;
          total = headEnd + 2 + end + CHUNK_END.length;
        } else total = headEnd + 4; // no body (204/304) or framing we do not expect
        if (pending.length < total) return;
        const ms = performance.now() - t0;
        busy = false;
        inFlight.delete(k);
        latencies.push(ms);
        const status = Number(head.slice(9, 12));
        let outcome: Outcome;
        try {
          outcome = check(k, n, status, head);
        } catch (e) {
          outcome = { ok: false, note: `check threw: ${(e as Error).message}` };
        }
        if (!outcome.ok) fail(outcome.note ?? `HTTP ${status}`);
        else if (outcome.note) bump(notes, outcome.note);
        n += 1;
        pending = null;
        if (/\r\nconnection:[ \t]*close/i.test(head)) {
          sock.removeAllListeners();
          sock.on('error', () => {});
          sock.destroy();
          connect();
        } else next();
      };
      const connect = () => {
        if (performance.now() >= deadline) return resolve();
        sock = net.connect({ host: '127.0.0.1', port });
        sock.setNoDelay(true);
        sock.on('data', onData);
        sock.on('error', () => {}); // 'close' follows and reports
        sock.on('close', () => {
          if (done) return;
          if (busy) fail('transport: connection closed before the answer');
          busy = false;
          inFlight.delete(k);
          setTimeout(connect, 10); // reopen; bounded by the deadline
        });
        sock.once('connect', next);
      };
      connect();
    });
  }

  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [, f] of inFlight) if (now - f.t0 > timeoutMs) f.sock.destroy(new Error('timeout'));
  }, 250);
  await Promise.all(Array.from({ length: concurrency }, (_, k) => worker(k)));
  clearInterval(watchdog);
  const elapsedMs = performance.now() - started;
  const clientElu = performance.eventLoopUtilization(elu0).utilization;
  const hostCores = hostCpuBusy(host0, hostCpuSnapshot());
  latencies.sort((a, b) => a - b);
  return { completed: latencies.length, failures, problems, notes, elapsedMs, latencies, endedByCount, clientElu, hostCores };
}

/** a header's value from a raw header block (first occurrence, case-insensitive), or undefined */
export function rawHeader(head: string, name: string): string | undefined {
  const re = new RegExp(`\\r\\n${name.replace(/[-]/g, '\\-')}:[ \\t]*([^\\r\\n]*)`, 'i');
  return re.exec(head)?.[1];
}

// ---------------------------------------------------------------------------------------------
// a cookie-keeping HTTP walker and the OAuth sign-in through the gateway and the sandbox

export interface WalkPage {
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** client-observed time from writing the request to the last body byte */
  ms: number;
}

/** One browser: a cookie jar per host:port (names and values only), manual redirects. */
export class Walker {
  readonly jar = new Map<string, Map<string, string>>();
  constructor(private readonly agent: http.Agent, private readonly timeoutMs = 20_000) {}

  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(new URL(origin).host)?.get(name);
  }

  request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<WalkPage> {
    const u = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html,application/json', ...init.headers };
    const jar = this.jar.get(u.host);
    if (jar?.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: Buffer | undefined;
    if (init.form) {
      body = Buffer.from(new URLSearchParams(init.form).toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const r = http.request({ host: u.hostname, port: u.port, method: init.method ?? 'GET', path: u.pathname + u.search, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          this.store(u, res.headers['set-cookie']);
          resolve({ url, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 });
        });
      });
      r.setTimeout(this.timeoutMs, () => r.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      r.on('error', reject);
      r.end(body);
    });
  }

  private store(u: URL, lines: string[] | undefined): void {
    for (const line of lines ?? []) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      let jar = this.jar.get(u.host);
      if (!jar) this.jar.set(u.host, (jar = new Map()));
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }
}

export const SIGN_IN_STEPS = ['GET /login', 'GET authorize', 'POST login form', 'GET /oauth/callback'] as const;

export interface SignInResult {
  ok: boolean;
  /** which step failed and how */
  note?: string;
  /** client-observed ms of each step that ran, in SIGN_IN_STEPS order */
  steps: number[];
  /** `bridge.sid=<value>` for a Cookie header, once signed in */
  cookie?: string;
}

/**
 * A complete OAuth sign-in as a browser without a OneAccess session walks it: gateway /login →
 * sandbox authorize (login form) → POST /sandbox/login → gateway /oauth/callback (303 + session
 * cookie). Every answer's status and redirect target is checked.
 */
export async function signInOAuth(w: Walker, gatewayBase: string, tenant: string, userName: string, cookieName = 'bridge.sid'): Promise<SignInResult> {
  const steps: number[] = [];
  const fail = (i: number, what: string): SignInResult => ({ ok: false, note: `${SIGN_IN_STEPS[i]}: ${what}`, steps });
  try {
    const start = await w.request(`${gatewayBase}/login?tenant=${encodeURIComponent(tenant)}`);
    steps.push(start.ms);
    const authorize = start.headers.location;
    if (start.status !== 303 || !authorize?.includes('/oauth2/authorize')) return fail(0, `HTTP ${start.status} ${start.body.slice(0, 120)}`);
    const form = await w.request(authorize);
    steps.push(form.ms);
    const cont = /name="continue" value="([^"]*)"/.exec(form.body)?.[1]?.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    if (form.status !== 200 || !cont) return fail(1, `HTTP ${form.status}, no login form ${form.body.slice(0, 120)}`);
    const posted = await w.request(`${new URL(authorize).origin}/sandbox/login`, { method: 'POST', form: { userName, continue: cont } });
    steps.push(posted.ms);
    const callback = posted.headers.location;
    if (posted.status !== 302 || !callback?.startsWith(`${gatewayBase}/oauth/callback?`)) return fail(2, `HTTP ${posted.status} → ${callback ?? '-'} ${posted.body.slice(0, 120)}`);
    const done = await w.request(callback);
    steps.push(done.ms);
    const sid = w.cookie(gatewayBase, cookieName);
    if (done.status !== 303 || !sid) return fail(3, `HTTP ${done.status} ${done.body.slice(0, 160)}`);
    return { ok: true, steps, cookie: `${cookieName}=${sid}` };
  } catch (e) {
    return fail(steps.length, `transport: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// server side: what a server process did during a measured window

export interface WindowUsage {
  /** event-loop utilization over the window, 0..1 */
  elu: number;
  /** process CPU time (user + system) / wall time; 1 = one core busy */
  cpu: number;
  /** process CPU time (user + system) over the window, ms */
  cpuMs: number;
  /** longest event-loop delay seen in the window, ms */
  maxLoopDelayMs: number;
}

export class WindowMeter {
  private elu0 = performance.eventLoopUtilization();
  private cpu0 = process.cpuUsage();
  private wall0 = performance.now();
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });

  start(): void {
    this.elu0 = performance.eventLoopUtilization();
    this.cpu0 = process.cpuUsage();
    this.wall0 = performance.now();
    this.delay.reset();
    this.delay.enable();
  }

  stop(): WindowUsage {
    this.delay.disable();
    const c = process.cpuUsage(this.cpu0);
    return {
      elu: performance.eventLoopUtilization(this.elu0).utilization,
      cpu: (c.user + c.system) / 1000 / (performance.now() - this.wall0),
      cpuMs: (c.user + c.system) / 1000,
      maxLoopDelayMs: this.delay.max / 1e6,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// child-process roles: a server runs in a child (this or another bench file with --serve ...),
// answers commands over IPC, and is stopped by its PID

type RoleRequest = { id: number; cmd: string; arg?: unknown };
type RoleReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface RoleHandle<Ready> {
  child: ChildProcess;
  ready: Ready;
  ask<T = unknown>(cmd: string, arg?: unknown, timeoutMs?: number): Promise<T>;
  /** asks the child to stop (it exits, writing a --cpu-prof profile if asked), SIGKILL by PID after 5 s */
  stop(): Promise<void>;
}

const liveRoles = new Set<ChildProcess>();
/** every role child still running; a parent that fails kills these by PID */
export function killRoles(): void {
  for (const c of liveRoles) c.kill('SIGKILL');
}

/** Forks `file` with args, waits for its ready message (what serveRole's setup returned). */
export async function forkRole<Ready>(file: string, args: string[], opts: { execArgv?: string[]; startTimeoutMs?: number } = {}): Promise<RoleHandle<Ready>> {
  const child = fork(file, args, { execArgv: opts.execArgv ?? process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  liveRoles.add(child);
  child.once('exit', () => liveRoles.delete(child));
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let onReady: ((r: Ready) => void) | null = null;
  let onReadyFail: ((e: Error) => void) | null = null;
  child.on('message', (m: { ready?: Ready; readyError?: string } | RoleReply) => {
    if ('ready' in m) return onReady?.(m.ready as Ready);
    if ('readyError' in m) return onReadyFail?.(new Error(`${file} ${args.join(' ')}: ${m.readyError}`));
    const w = waiting.get((m as RoleReply).id);
    if (!w) return;
    waiting.delete((m as RoleReply).id);
    if ((m as RoleReply).ok) w.resolve((m as { result: unknown }).result);
    else w.reject(new Error((m as { error: string }).error));
  });
  child.once('exit', (code) => {
    const e = new Error(`${args.join(' ')} exited (${code})`);
    onReadyFail?.(e);
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  const ready = await withTimeout(
    new Promise<Ready>((resolve, reject) => {
      onReady = resolve;
      onReadyFail = reject;
    }),
    opts.startTimeoutMs ?? 120_000, // a dozen tsx children starting at once on a busy 2-core host take a while
    `${args.join(' ')} start`,
  ).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  onReadyFail = null;
  return {
    child,
    ready,
    ask: <T>(cmd: string, arg?: unknown, timeoutMs = 60_000) =>
      withTimeout(
        new Promise<T>((resolve, reject) => {
          const id = ++seq;
          waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
          child.send({ id, cmd, arg } satisfies RoleRequest);
        }),
        timeoutMs,
        `${args.join(' ')} ${cmd}`,
      ),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.send({ id: 0, cmd: '__stop' } satisfies RoleRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child side: runs setup (its result is the ready message), then answers commands with the
 * handlers; `__stop` (or the parent going away) runs stop and exits.
 */
export async function serveRole(setup: () => Promise<{ ready: unknown; handlers: Record<string, (arg: unknown) => unknown>; stop: () => Promise<void> }>): Promise<void> {
  let role: Awaited<ReturnType<typeof setup>>;
  try {
    role = await setup();
  } catch (e) {
    process.send!({ readyError: (e as Error).stack ?? String(e) });
    process.exit(1);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await withTimeout(role.stop(), 4000, 'stop');
    } catch {
      /* exit anyway */
    }
    process.exit(0); // also writes a --cpu-prof profile
  };
  process.on('disconnect', () => void stop());
  process.on('message', async (m: RoleRequest) => {
    if (m.cmd === '__stop') return void stop();
    const h = role.handlers[m.cmd];
    try {
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      const result = await h(m.arg);
      process.send!({ id: m.id, ok: true, result } satisfies RoleReply);
    } catch (e) {
      process.send!({ id: m.id, ok: false, error: (e as Error).stack ?? String(e) } satisfies RoleReply);
    }
  });
  process.send!({ ready: role.ready });
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

// ---------------------------------------------------------------------------------------------
// CPU profiles (.cpuprofile from node --cpu-prof)

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface ProfileSummary {
  /** sampled wall time, ms */
  totalMs: number;
  idleMs: number;
  /** everything but (idle) */
  busyMs: number;
  /** self time grouped: (garbage collector), (program), node internals, a package, a src/ file */
  groups: Array<{ name: string; ms: number }>;
  /** functions by self time */
  self: Array<{ name: string; ms: number }>;
  /** functions under `focus` (and packages) by inclusive time: the share of busy samples whose stack holds them */
  inclusive: Array<{ name: string; ms: number }>;
}

/**
 * Self and inclusive time from a .cpuprofile. `focus` (a path fragment such as "/src/") names
 * the files whose functions get inclusive times; packages get one inclusive entry each.
 * `window` keeps only the samples taken in [fromUs, toUs] on the profile's clock (monotonic µs,
 * process.hrtime's): what ran during one stall of the event loop (bench/stall-profile.ts).
 */
export function summarizeCpuProfile(file: string, focus = '/src/', top = 25, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const where = (url: string) => {
    if (!url) return '';
    const nm = url.lastIndexOf('/node_modules/');
    if (nm >= 0) {
      const rest = url.slice(nm + '/node_modules/'.length).split('/');
      return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    }
    if (url.startsWith('node:')) return 'node internals';
    const f = url.indexOf(focus);
    return f >= 0 ? url.slice(f + 1) : url.replace(/^file:\/\//, '');
  };
  const label = (n: ProfileNode) => {
    const w = where(n.callFrame.url);
    return `${n.callFrame.functionName || '(anonymous)'}${w ? ` ${w}${n.callFrame.url.includes('/node_modules/') || n.callFrame.url.startsWith('node:') ? '' : `:${n.callFrame.lineNumber + 1}`}` : ''}`;
  };
  const groupOf = (n: ProfileNode) => {
    const name = n.callFrame.functionName;
    if (!n.callFrame.url && name.startsWith('(')) return name;
    return where(n.callFrame.url) || '(native)';
  };
  const self = new Map<string, number>();
  const groups = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const deltas = p.timeDeltas;
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    at += deltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const n = byId.get(p.samples[i]!)!;
    total += dt;
    if (n.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    self.set(label(n), (self.get(label(n)) ?? 0) + dt);
    groups.set(groupOf(n), (groups.get(groupOf(n)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!;
      const url = node.callFrame.url;
      let key: string | null = null;
      if (url.includes('/node_modules/')) key = `[package] ${where(url)}`;
      else if (url.includes(focus)) key = label(node);
      if (key && !seen.has(key)) {
        seen.add(key);
        incl.set(key, (incl.get(key) ?? 0) + dt);
      }
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms }));
  return { totalMs: total, idleMs: idle, busyMs: total - idle, groups: sorted(groups), self: sorted(self), inclusive: sorted(incl) };
}

/** a ProfileSummary as indented text lines (shares of busy time) */
export function formatProfile(s: ProfileSummary, lines = 15): string {
  const pct = (ms: number) => `${((ms / s.busyMs) * 100).toFixed(1)}%`.padStart(6);
  const out = [`busy ${s.busyMs.toFixed(0)} ms of ${s.totalMs.toFixed(0)} ms sampled`];
  out.push('  self time by group:', ...s.groups.slice(0, lines).map((g) => `    ${pct(g.ms)}  ${g.name}`));
  out.push('  self time by function:', ...s.self.slice(0, lines).map((g) => `    ${pct(g.ms)}  ${g.name}`));
  out.push('  inclusive (synchronous stacks) by src function / package:', ...s.inclusive.slice(0, lines + 10).map((g) => `    ${pct(g.ms)}  ${g.name}`));
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Redis command counts (INFO commandstats over a raw RESP connection; no client library)

/** calls per command name (lower case) since the server started or CONFIG RESETSTAT */
export function redisCommandStats(port: number, timeoutMs = 5000): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => sock.destroy(new Error('INFO commandstats timed out')), timeoutMs);
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => sock.write('*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n'));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\r\n');
      if (nl < 0 || buf[0] !== '$') return;
      const len = Number(buf.slice(1, nl));
      if (buf.length < nl + 2 + len) return;
      clearTimeout(timer);
      sock.end();
      const out = new Map<string, number>();
      for (const line of buf.slice(nl + 2, nl + 2 + len).split('\r\n')) {
        const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
        if (m) out.set(m[1]!, Number(m[2]));
      }
      resolve(out);
    });
  });
}

/** after − before per command, without the INFO calls themselves; zero counts left out */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) {
    if (k === 'info') continue;
    const n = v - (before.get(k) ?? 0);
    if (n > 0) d.set(k, n);
  }
  return d;
}

/** taskset (util-linux) is there to pin processes to CPUs */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** binds a process and all its threads to the CPUs in `list` (taskset syntax, e.g. '0' or '0-1') */
export function pinProcess(pid: number, list: string): void {
  execFileSync('taskset', ['-apc', list, String(pid)], { stdio: 'ignore' });
}

// ---------------------------------------------------------------------------------------------
// wrk, the load generator of the forward-auth benchmarks (bench/cost.ts, bench/shared-feedback.ts)

export interface WrkResult {
  rps: number;
  requests: number;
  non2xx: number;
  errors: string;
  p50: string;
  p99: string;
}

/** pinned: wrk on CPU 1 (the verify rounds, with the servers on CPU 0) */
export function wrk(port: number, script: string, seconds: number, connections: number, pinned = false): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `http://127.0.0.1:${port}/auth/verify`];
  return new Promise((resolve, reject) => {
    execFile(pinned ? 'taskset' : 'wrk', pinned ? ['-c', '1', 'wrk', ...args] : args, { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(err);
      const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
      const lat = (p: string) => new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(stdout)?.[1] ?? '?';
      resolve({
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        requests: num(/(\d+) requests in/),
        non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
        errors: /Socket errors:[^\n]*/.exec(stdout)?.[0] ?? '',
        p50: lat('50'),
        p99: lat('99'),
      });
    });
  });
}

/** a wrk Lua script sending a browser's and a proxy's headers to /auth/verify, rotating over `cookies` */
export function wrkScript(dir: string, name: string, cookies: string[]): string {
  const file = join(dir, `${name}.lua`);
  const lua = `local cookies = { ${cookies.map((c) => JSON.stringify(c)).join(', ')} }
local i = 0
local h = {
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
  ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  ["X-Forwarded-Proto"] = "https",
  ["X-Forwarded-Host"] = "app.example.com",
  ["X-Forwarded-Uri"] = "/dashboard?tab=1",
  ["X-Forwarded-Method"] = "GET",
}
request = function()
  i = i + 1
  h["Cookie"] = cookies[(i % #cookies) + 1]
  return wrk.format("GET", "/auth/verify", h)
end
`;
  writeFileSync(file, lua);
  return file;
}

/** the middle value (the lower of the two middle ones for an even count); NaN for none */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

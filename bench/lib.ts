// Shared helpers for the benchmarks in bench/: a bounded closed-loop HTTP load generator over
// keep-alive node:http, percentiles, machine facts and a markdown table. No dependencies.
import http from 'node:http';
import os from 'node:os';

/** One request, fully prepared before the timed loop (body bytes and headers, signature included). */
export interface PreparedRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Reply {
  status: number;
  body: string;
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

/** POST over the given keep-alive agent; resolves with status and body text. */
export function post(agent: http.Agent, port: number, req: PreparedRequest, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: req.path, agent, headers: { ...req.headers, 'content-length': String(req.body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
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

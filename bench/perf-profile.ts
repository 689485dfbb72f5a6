// Linux `perf` over a measured window of one server process: CPU samples of every kind (kernel
// included: the socket write syscalls and the wake-ups of the reader on the other CPU, which the
// V8 profiler sees only as one native function), grouped into the parts of a request, in µs per
// request. Used by bench/cost.ts --perf; needs `perf` (Debian: linux-perf) and a server started
// with node --perf-basic-prof (so its JIT-compiled functions have names in /tmp/perf-<pid>.map).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { markdownTable } from './lib.ts';

export const PERF_HZ = 1999;

export function hasPerf(): boolean {
  return spawnSync('sh', ['-c', 'command -v perf']).status === 0;
}

/** records `pid` (all its threads, call graphs) into `file` while `during` runs */
export async function perfRecord<T>(pid: number, file: string, during: () => Promise<T>): Promise<T> {
  const rec = spawn('perf', ['record', '-F', String(PERF_HZ), '-g', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  rec.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => rec.once('exit', (code) => resolve(code)));
  await new Promise((r) => setTimeout(r, 300)); // perf attaches
  try {
    return await during();
  } finally {
    rec.kill('SIGINT');
    const code = await exited;
    if (code !== 0 && code !== null) throw new Error(`perf record exited ${code}: ${err.slice(-500)}`);
  }
}

interface Sample {
  tid: number;
  /** leaf first: [symbol, dso] */
  frames: Array<[string, string]>;
}

/**
 * V8 appends to /tmp/perf-<pid>.map and never takes an entry back: when code is collected and new
 * code is compiled at the same address, both entries stay, and perf names the samples after the
 * first one (a function that no longer exists: in a gateway that had served sign-ins, the verify
 * window's samples in parserOnHeadersComplete were named after a rate-limit closure). This
 * rewrites the map so that a later entry replaces every earlier one it overlaps: the window is
 * recorded after the code it runs was compiled, so the latest entries are the ones its samples
 * hit. V8's own file stays whole under a second name, /tmp/perf-<pid>.map.v8 (a hard link made the
 * first time; V8 keeps appending to it), and each call reads that one, so a later window of the
 * same process also gets the code compiled in between.
 */
export function latestPerfMap(pid: number): void {
  const file = `/tmp/perf-${pid}.map`;
  const live = `${file}.v8`;
  if (!existsSync(live)) {
    if (!existsSync(file)) return;
    linkSync(file, live);
  }
  const entries = readFileSync(live, 'utf8')
    .split('\n')
    .map((line) => {
      const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
      return m ? { start: parseInt(m[1]!, 16), end: parseInt(m[1]!, 16) + parseInt(m[2]!, 16), line } : null;
    })
    .filter((e) => e !== null);
  // from the newest: keep an entry unless a newer one kept already overlaps it
  const kept: typeof entries = []; // sorted by start, non-overlapping
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (kept[mid]!.start < e.start) lo = mid + 1;
      else hi = mid;
    }
    if ((lo > 0 && kept[lo - 1]!.end > e.start) || (lo < kept.length && kept[lo]!.start < e.end)) continue;
    kept.splice(lo, 0, e);
  }
  writeFileSync(`${file}.latest`, kept.map((e) => e.line).join('\n') + '\n');
  renameSync(`${file}.latest`, file);
}

function samples(file: string): Sample[] {
  const r = spawnSync('perf', ['script', '-i', file, '-F', 'tid,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`perf script: ${r.stderr.slice(-500)}`);
  const out: Sample[] = [];
  let cur: Sample | null = null;
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) {
      if (cur) out.push(cur);
      cur = null;
    } else if (/^\s*\d+\s*$/.test(line)) {
      // the sample's header: its tid (perf 6.x pads it with spaces)
      if (cur) out.push(cur);
      cur = { tid: Number(line.trim()), frames: [] };
    } else if (cur) {
      // "   ffffffff81752055 ep_start_scan ([kernel.kallsyms])"
      const m = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
      if (m) cur.frames.push([m[1]!, m[2]!]);
    }
  }
  if (cur) out.push(cur);
  return out;
}

export interface PerfSummary {
  /** main-thread µs per request, by part; the parts overlap as their names say */
  parts: Array<[name: string, usPerRequest: number]>;
  /** main-thread µs per request by leaf function, the largest first */
  leaves: Array<[name: string, usPerRequest: number]>;
  /** µs per request on the process's other threads (GC helpers, libuv pool) */
  otherThreadsUs: number;
}

const has = (s: Sample, re: RegExp) => s.frames.some(([sym]) => re.test(sym));

const WRITE = /^(__GI___libc_write|__libc_write|writev|__GI___writev|__writev)$/;
const READ = /^(__GI___libc_read|__libc_read|read)$/;
const WAKE = /^sock_def_readable$/;
const EPOLL = /^(epoll_wait|epoll_pwait)$/;
const REQUEST = /parserOnIncoming/;
const OWN = /file:\/\/\/.*\/src\//;
const HEADERS = /_storeHeader|writeHead|processHeader|setHeader/;
const TICKS = /processTicksAndRejections|runMicrotasks|RunMicrotasks/;
const GC = /Scavenger|MarkCompact|Heap::CollectGarbage|IncrementalMarking|ConcurrentMarking/;
const MEGAMORPHIC = /Megamorphic/;

/** the recorded window of `pid`, in µs per request (`requests` answered in it) */
export function summarizePerf(file: string, pid: number, requests: number): PerfSummary {
  latestPerfMap(pid);
  const all = samples(file);
  const us = 1e6 / PERF_HZ / requests;
  const main = all.filter((s) => s.tid === pid);
  const count = (pred: (s: Sample) => boolean) => main.filter(pred).length * us;
  const parts: Array<[string, number]> = [
    ['everything on the main thread', main.length * us],
    ['socket writes (write/writev, kernel included)', count((s) => has(s, WRITE))],
    ['  of them: waking the reader (sock_def_readable)', count((s) => has(s, WAKE) && has(s, WRITE))],
    ['socket reads (read, kernel included)', count((s) => has(s, READ))],
    ['epoll_wait', count((s) => has(s, EPOLL))],
    ['the request in JS (parserOnIncoming), without its writes', count((s) => has(s, REQUEST) && !has(s, WRITE))],
    ['  of it: the answer\'s headers (writeHead: formatting, validation)', count((s) => has(s, HEADERS) && !has(s, WRITE))],
    ['  of it: under the server\'s own functions (src/, and what V8 inlined into them), without writes and headers', count((s) => has(s, OWN) && !has(s, WRITE) && !has(s, HEADERS))],
    ['next ticks and microtasks, outside the request', count((s) => has(s, TICKS) && !has(s, REQUEST))],
    ['megamorphic property access (V8 IC stubs, anywhere)', count((s) => MEGAMORPHIC.test(s.frames[0]?.[0] ?? ''))],
    ['garbage collection on the main thread', count((s) => has(s, GC))],
    ['  the HTTP parser and its callbacks (llhttp), everything inside', count((s) => has(s, /llhttp__internal_execute|Parser::Execute/))],
  ];
  const leafCount = new Map<string, number>();
  for (const s of main) {
    const [sym, dso] = s.frames[0] ?? ['?', '?'];
    const name = dso.includes('kernel') ? `[kernel] ${sym}` : sym;
    leafCount.set(name, (leafCount.get(name) ?? 0) + 1);
  }
  const leaves = [...leafCount].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n * us] as [string, number]);
  return { parts, leaves, otherThreadsUs: (all.length - main.length) * us };
}

/** side by side: each target's parts, and each one's difference from the first target */
export function formatPerfTable(targets: Array<{ name: string; summary: PerfSummary }>): string {
  const first = targets[0]!;
  const head = ['Part (µs per request, main thread)', ...targets.map((t) => t.name), ...targets.slice(1).map((t) => `${t.name} − ${first.name}`)];
  const rows = first.summary.parts.map(([name], i) => [
    name,
    ...targets.map((t) => t.summary.parts[i]![1].toFixed(2)),
    ...targets.slice(1).map((t) => {
      const d = t.summary.parts[i]![1] - first.summary.parts[i]![1];
      return `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
    }),
  ]);
  rows.push(['other threads of the process', ...targets.map((t) => t.summary.otherThreadsUs.toFixed(2)), ...targets.slice(1).map((t) => (t.summary.otherThreadsUs - first.summary.otherThreadsUs).toFixed(2))]);
  return markdownTable(head, rows, head.map((_, i) => i > 0));
}

export function formatLeaves(s: PerfSummary, n = 15): string {
  return s.leaves
    .slice(0, n)
    .map(([name, u]) => `  ${u.toFixed(2).padStart(6)} µs  ${name.slice(0, 110)}`)
    .join('\n');
}

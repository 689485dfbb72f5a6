// What src/ops/tick-anchor.ts is for: the cost of one process.nextTick over the first half
// minute of a gateway process that has been built and then left quiet, with and without the
// anchor (one tick object kept alive), and without the anchor under `node --no-memory-reducer`.
//
//   npx tsx bench/tick-anchor.ts [--processes 5] [--seconds 30]
//
// Each child builds the gateway on a fresh embedded store (buildGateway, what main.ts serves;
// anchorTicks: false for the two variants without it), closes it and its store (a quiet process
// with the gateway's heap; with the gateway's timers running, fewer processes take the slow path
// within 30 s: 1 of 8 without the anchor in one run) and then, once a second, times a burst of
// 20,000 process.nextTick calls (nanoseconds per call; the ticks then run). Nothing else is sent
// to it. One child of each variant runs at a time, side by side. A process counts as slow when the
// median of its last 10 bursts is above 150 ns: V8 builds Node's tick objects through its runtime
// from then on (Runtime_DefineKeyedOwnPropertyInLiteral; see src/ops/tick-anchor.ts), and a
// forward-auth answer takes several nextTicks.
import { fork } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAvg, machineFacts, markdownTable, median } from './lib.ts';
import { codeState } from './login.ts';

const SELF = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};

const VARIANTS = [
  { name: 'with the anchor (as shipped)', anchor: true, execArgv: [] as string[] },
  { name: 'without the anchor', anchor: false, execArgv: [] as string[] },
  { name: 'without the anchor, node --no-memory-reducer', anchor: false, execArgv: ['--no-memory-reducer'] },
];

const BURST = 20_000;

function burstNs(): number {
  const noop = () => {};
  const t0 = performance.now();
  for (let i = 0; i < BURST; i++) process.nextTick(noop);
  return ((performance.now() - t0) * 1e6) / BURST;
}

async function child(anchor: boolean, seconds: number): Promise<void> {
  const { openEmbeddedStore } = await import('../src/store/embedded.ts');
  const { buildGateway } = await import('../test/helpers/gateway.ts');
  const dir = mkdtempSync(join(tmpdir(), 'bench-tick-'));
  const store = openEmbeddedStore(dir);
  const gw = await buildGateway(store, { publicUrl: 'http://127.0.0.1:1' }, { anchorTicks: anchor });
  // a quiet process: the gateway's heap, none of its timers (its once-a-second back-channel sweep
  // allocates enough to keep V8's memory reducer away most of the time)
  await gw.close();
  await store.close();
  const bursts: number[] = [];
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      bursts.push(burstNs());
      if (bursts.length >= seconds) {
        clearInterval(timer);
        resolve();
      }
    }, 1000);
  });
  rmSync(dir, { recursive: true, force: true });
  process.send!({ bursts });
}

function runChild(v: (typeof VARIANTS)[number], seconds: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const c = fork(SELF, ['--child', v.anchor ? 'anchor' : 'none', String(seconds)], { execArgv: [...process.execArgv, ...v.execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let got: number[] | null = null;
    c.on('message', (m) => (got = (m as { bursts: number[] }).bursts));
    c.on('error', reject);
    c.on('exit', (code) => (got ? resolve(got) : reject(new Error(`child exited with ${code} before reporting`))));
  });
}

async function main(): Promise<void> {
  const processes = Number(option('--processes', '5'));
  const seconds = Number(option('--seconds', '30'));
  if (seconds < 15) throw new Error('--seconds must be at least 15 (the memory reducer needs a quiet while)');
  const loadBefore = loadAvg();
  const results = new Map<string, number[][]>();
  for (let i = 1; i <= processes; i++) {
    const batch = await Promise.all(VARIANTS.map((v) => runChild(v, seconds)));
    batch.forEach((b, k) => results.set(VARIANTS[k]!.name, [...(results.get(VARIANTS[k]!.name) ?? []), b]));
    process.stderr.write(`batch ${i}: ${batch.map((b, k) => `${VARIANTS[k]!.name}: last ${median(b.slice(-10)).toFixed(0)} ns`).join('; ')}\n`);
  }
  const rows = VARIANTS.map((v) => {
    const per = results.get(v.name)!;
    const early = per.map((b) => median(b.slice(2, 7)));
    const late = per.map((b) => median(b.slice(-10)));
    return [v.name, String(per.length), median(early).toFixed(0), late.map((x) => x.toFixed(0)).join(', '), `${late.filter((x) => x > 150).length} of ${per.length}`];
  });
  const f = machineFacts();
  const out = [
    '## One nextTick in a quiet gateway process, with and without the tick anchor (bench/tick-anchor.ts)',
    '',
    `- date: ${new Date().toISOString().slice(0, 16)} UTC; ${f.cpu}, ${f.cores} cores, ${f.memGiB} GiB, ${f.platform}; Node ${f.node}`,
    `- code: ${codeState()}`,
    `- load average (1/5/15 min): ${loadBefore} before, ${loadAvg()} after`,
    `- ${processes} process(es) per variant, one of each at a time; a burst of ${BURST} nextTicks once a second for ${seconds} s`,
    '',
    markdownTable(['Variant', 'Processes', 'ns per nextTick, bursts 3–7 (median)', 'ns per nextTick, last 10 bursts (median per process)', 'Slow at the end (> 150 ns)'], rows, [false, true, true, false, true]),
  ];
  console.log(out.join('\n'));
}

const isMain = !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(SELF);
if (isMain && argv[0] === '--child') await child(argv[1] === 'anchor', Number(argv[2]));
else if (isMain) await main();

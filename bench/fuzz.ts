// 10^6 fuzzed pushes against the sync endpoint over real HTTP (the generators and oracle of
// test/marketplace/sync-fuzz.test.ts): random and mutated bodies and headers must never get a
// 5xx or a closed connection without an answer, never 000000 unless x-sign really signs the body
// sent, and the gateway must stay up.
//
//   npx tsx bench/fuzz.ts                 10^6 cases, 8 connections at a time
//   options: --count N  --concurrency N   --seed N
//
// The gateway runs in a child process (this file with --serve) on the memory store with the rate
// limits off (every case must reach the parser, not stop at the failure limit) and a 64 KiB body
// limit, large-push verification from 8 KiB (so the worker path is exercised). Each case is its
// own connection (raw socket: any header bytes can be sent). Prints a summary; writes nothing.
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { buildGateway } from '../test/helpers/gateway.ts';
import { pushCase, materialize, sendRaw, signatureIsValid } from '../test/helpers/sync-fuzz.ts';
import { MemoryStore } from '../src/store/memory.ts';
import { createGatewayServer } from '../src/limits/http-server.ts';
import { forkRole, killRoles, machineFacts, serveRole, loadAvg } from './lib.ts';

const self = fileURLToPath(import.meta.url);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

if (process.argv.includes('--serve')) {
  await serveRole(async () => {
    const gw = await buildGateway(new MemoryStore(), { marketplace: { maxBodyBytes: 64 * 1024 }, limits: { largePush: { bytes: 8 * 1024 } } });
    const server = createGatewayServer(gw, gw.settings.limits.http);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      ready: { port: (server.address() as AddressInfo).port },
      handlers: {
        // after a full collection (the child runs with --expose-gc): what is really retained
        memory: () => {
          (globalThis as { gc?: () => void }).gc?.();
          const m = process.memoryUsage();
          return { rss: m.rss, heapUsed: m.heapUsed };
        },
      },
      stop: async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await gw.close();
      },
    };
  });
} else {
  const count = arg('count', 1_000_000);
  const concurrency = arg('concurrency', 8);
  const seed = arg('seed', 20261201);
  const role = await forkRole<{ port: number }>(self, ['--serve'], { execArgv: [...process.execArgv, '--expose-gc'] });
  const heaps: string[] = [];
  const codes = new Map<string, number>();
  const problems: string[] = [];
  let done = 0;
  let next = 0;
  const started = performance.now();
  const batch = 2000;
  let pending: ReturnType<typeof materialize>[] = [];
  let batchNo = 0;
  const take = () => {
    if (pending.length === 0) pending = fc.sample(pushCase(), { numRuns: batch, seed: seed + batchNo++ }).map((c) => materialize(c));
    return pending.pop()!;
  };
  try {
    const worker = async () => {
      while (next < count) {
        next++;
        const request = take();
        const answer = await sendRaw(role.ready.port, request);
        let code = `HTTP ${answer.status}`;
        if (answer.status >= 500 || answer.status === 0) problems.push(`${code}: ${answer.body.slice(0, 200)} for ${JSON.stringify(request.headers)}`);
        else if (answer.body.startsWith('{')) {
          const resultCode = (JSON.parse(answer.body) as { resultCode?: string }).resultCode;
          code = `HTTP ${answer.status} ${resultCode}`;
          if (resultCode === '000000' && !signatureIsValid(request)) problems.push(`000000 with a bad signature: ${JSON.stringify(request.headers)} ${request.body.toString('utf8', 0, 200)}`);
        }
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (++done % 100_000 === 0) {
          const m = await role.ask<{ rss: number; heapUsed: number }>('memory');
          heaps.push(`${done / 1000}k: ${Math.round(m.heapUsed / 1e6)}`);
          process.stderr.write(`${done} cases, ${Math.round(done / ((performance.now() - started) / 1000))}/s, ${problems.length} problems, server heap after GC ${Math.round(m.heapUsed / 1e6)} MB\n`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const mem = await role.ask<{ rss: number; heapUsed: number }>('memory');
    const m = machineFacts();
    console.log(`fuzz: ${done} cases in ${seconds.toFixed(0)} s (${Math.round(done / seconds)}/s), ${concurrency} connections, seed ${seed}`);
    console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.platform}, Node ${m.node}; ${m.date}; load ${loadAvg()}`);
    console.log(`server at the end, after a full GC: RSS ${Math.round(mem.rss / 1e6)} MB, heap ${Math.round(mem.heapUsed / 1e6)} MB; heap after GC by cases (MB): ${heaps.join(', ')}`);
    console.log('answers:');
    for (const [code, n] of [...codes].sort((a, b) => b[1] - a[1])) console.log(`  ${code}: ${n}`);
    console.log(`problems: ${problems.length}`);
    for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    await role.stop();
    killRoles();
  }
}

// /healthz latency while junk 2 MiB pushes arrive (Issue 7 §7: it must stay under 100 ms).
//
//   npx tsx bench/push-flood.ts            every scenario, 10 s each
//   options: --seconds N  --parallel N (junk pushes in flight, default 8)  --only <substr,...>
//
// The gateway runs in a child process (this file with --serve) on a fresh embedded store with the
// default settings, except where a scenario says otherwise. `parallel` loops each send one junk
// push at a time: 2 MiB of JSON that parses (about 70,000 string members, under the node cap) with
// fresh x-timestamp and x-nonce and a random, well-formed x-sign, so it costs a full parse and
// canonicalization before the signature fails. Meanwhile one keep-alive connection asks /healthz
// every 10 ms; its latencies are the result. Scenarios:
//   no junk                the probe alone: what this (shared) host gives right now
//   one address            all junk from one client: the failure limit refuses it unread after 20
//   many addresses         every push from a fresh address (X-Forwarded-For through the trusted
//                          loopback proxy): every body is read and verified, in the worker pool
//   many addresses, inline largePush.bytes above the body limit: verification on the main thread,
//                          as before this change
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGateway } from '../test/helpers/gateway.ts';
import { openEmbeddedStore } from '../src/store/embedded.ts';
import { createGatewayServer } from '../src/limits/http-server.ts';
import { fmtMs, forkRole, killRoles, loadAvg, machineFacts, markdownTable, percentile, serveRole } from './lib.ts';

const self = fileURLToPath(import.meta.url);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};

interface Scenario {
  name: string;
  overrides: Record<string, unknown>;
  spoof: boolean;
  /** junk pushes in flight; default --parallel */
  parallel?: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'no junk (this host right now)', overrides: {}, spoof: false, parallel: 0 },
  { name: 'one address', overrides: {}, spoof: false },
  { name: 'many addresses', overrides: {}, spoof: true },
  { name: 'many addresses, inline', overrides: { limits: { largePush: { bytes: 64 * 1024 * 1024 } } }, spoof: true },
];

function junkBody(): Buffer {
  const parts: string[] = [];
  let size = 2;
  for (let i = 0; size < 2 * 1024 * 1024 - 40; i++) {
    const p = `"k${i}":"${'v'.repeat(16)}"`;
    parts.push(p);
    size += p.length + 1;
  }
  return Buffer.from(`{${parts.join(',')}}`);
}

if (process.argv.includes('--serve')) {
  await serveRole(async () => {
    const overrides = JSON.parse(process.argv[process.argv.indexOf('--serve') + 1]!) as Record<string, unknown>;
    const dir = mkdtempSync(join(tmpdir(), 'bridge-flood-'));
    const store = openEmbeddedStore(dir);
    const gw = await buildGateway(store, { limits: { enabled: true }, ...overrides });
    const server = createGatewayServer(gw, gw.settings.limits.http);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let peak = 0;
    const meter = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    return {
      ready: { port: (server.address() as AddressInfo).port },
      handlers: { peakRss: () => peak },
      stop: async () => {
        clearInterval(meter);
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await gw.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
} else {
  const seconds = Number(arg('seconds', '10'));
  const parallel = Number(arg('parallel', '8'));
  const only = arg('only', '').split(',').filter(Boolean);
  const body = junkBody();
  const rows: string[][] = [];
  for (const s of SCENARIOS.filter((s) => !only.length || only.some((o) => s.name.includes(o)))) {
    const role = await forkRole<{ port: number }>(self, ['--serve', JSON.stringify(s.overrides)]);
    const port = role.ready.port;
    const deadline = performance.now() + seconds * 1000;
    const answers = new Map<string, number>();
    let ip = 0;
    const junk = async () => {
      while (performance.now() < deadline) {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'x-timestamp': String(Date.now()),
          'x-nonce': randomBytes(16).toString('hex'),
          'x-sign': randomBytes(32).toString('hex'),
          ...(s.spoof ? { 'x-forwarded-for': `10.${(++ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}` } : {}),
        };
        const got = await new Promise<string>((resolve) => {
          const r = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/produceAPI/v2/tenantSync', headers, agent: false }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(`${res.statusCode} ${/"resultCode":"(\d+)"/.exec(text)?.[1] ?? ''}`));
          });
          r.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
          r.end(body);
        });
        answers.set(got, (answers.get(got) ?? 0) + 1);
      }
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const latencies: number[] = [];
    const probe = async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await new Promise<void>((resolve) => {
          http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          }).on('error', () => resolve());
        });
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const inFlight = s.parallel ?? parallel;
    await Promise.all([probe(), ...Array.from({ length: inFlight }, junk)]);
    agent.destroy();
    const peak = await role.ask<number>('peakRss');
    await role.stop();
    latencies.sort((a, b) => a - b);
    const summary = [...answers].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
    rows.push([s.name, String(inFlight), String(latencies.length), fmtMs(percentile(latencies, 50)), fmtMs(percentile(latencies, 99)), fmtMs(latencies.at(-1) ?? NaN), `${Math.round(peak / 1e6)}`, summary]);
    process.stderr.write(`${s.name}: done\n`);
  }
  killRoles();
  const m = machineFacts();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.platform}, Node ${m.node}; ${m.date}; load ${loadAvg()}`);
  console.log(markdownTable(['Scenario', 'Junk in flight', '/healthz probes', 'p50 ms', 'p99 ms', 'max ms', 'Server peak RSS MB', 'Junk answers (HTTP resultCode: count)'], rows, [false, true, true, true, true, true, true, false]));
}

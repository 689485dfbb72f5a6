// Where a big push holds the event loop: one gateway in this process on a chosen store, a few
// big pushes (authSync of 5,000 users, allOrgSync of 10,000 departments) sent one at a time, and
// a 1 ms timer that records every time the loop was blocked for more than 5 ms (with
// monitorEventLoopDelay's p99 / max). Run with --cpu-prof to see which functions hold the loop;
// with --stalls FILE each stall is also written there (monotonic µs, the clock of a CPU profile),
// and bench/stall-profile.ts names what ran during each one.
//
//   npx tsx bench/big-push.ts [--stores embedded,redis] [--rounds 3] [--warm] [--stalls FILE]
//   node --import tsx --cpu-prof --cpu-prof-dir /tmp/prof bench/big-push.ts --stalls /tmp/stalls.json
//   npx tsx bench/stall-profile.ts /tmp/prof/CPU.*.cpuprofile /tmp/stalls.json
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openEmbeddedStore } from '../src/store/embedded.ts';
import { openRedisStore } from '../src/store/redis.ts';
import type { Store } from '../src/store/store.ts';
import { buildGateway, signedHeaders, timeStampAt } from '../test/helpers/gateway.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { fmtMs, loadAvg, markdownTable } from './lib.ts';

let seq = 0;
export function bigBody(kind: 'authSync' | 'allOrgSync', n: number, tenantId = 't-bigcorp'): string {
  const timeStamp = timeStampAt(Date.UTC(2026, 0, 1) + ++seq * 1000);
  if (kind === 'authSync') {
    const userList = Array.from({ length: n }, (_, u) => ({
      userName: `emp${String(u).padStart(5, '0')}`,
      name: `员工${u}`,
      orgCode: `d${u % 500}`,
      role: u % 50 === 0 ? 'admin' : 'user',
      enable: 'true',
      email: `emp${u}@bigcorp.example.com`,
    }));
    return JSON.stringify({ instanceId: 'i-big', tenantId, appId: 'app-1', userList, currentSyncTime: timeStamp, flag: 1, testFlag: 0, timeStamp });
  }
  const orgInfoList = Array.from({ length: n }, (_, d) => ({ orgCode: `d${d}`, orgName: `部门${d}`, parentCode: d === 0 ? '' : `d${Math.floor((d - 1) / 10)}` }));
  return JSON.stringify({ instanceId: 'i-big', tenantId, orgInfoList, testFlag: 0, timeStamp });
}

function push(port: number, kind: string, body: string, headers = signedHeaders(body)): Promise<{ ms: number; code: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/produceAPI/v2/${kind}`, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ ms: performance.now() - t0, code: (JSON.parse(text) as { resultCode: string }).resultCode }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const kinds = arg('--stores', 'embedded,redis').split(',');
  const rounds = Number(arg('--rounds', '3'));
  const rows: string[][] = [];
  const stalls: Array<{ push: string; fromUs: number; toUs: number }> = [];
  const stallFile = arg('--stalls', '');
  console.log(`load average at start ${loadAvg()}`);
  for (const kind of kinds) {
    const redis = kind === 'redis' ? await startRedis({ appendonly: true }) : null;
    const dir = mkdtempSync(join(tmpdir(), 'bridge-bigpush-'));
    const store: Store = kind === 'redis' ? await openRedisStore(redis!.url, { keyPrefix: 'bp:' }) : openEmbeddedStore(dir);
    const gw = await buildGateway(store);
    // --warm: as main.ts does, the threads of a big push start with the gateway, not at the first push
    if (process.argv.includes('--warm')) {
      gw.warm();
      await new Promise((r) => setTimeout(r, 3000));
    }
    const srv = http.createServer(gw.listener);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      for (const [pk, n] of [
        ['authSync', 5000],
        ['allOrgSync', 10000],
      ] as const) {
        for (let r = 0; r < rounds; r++) {
          const body = bigBody(pk, n);
          // signed before the probe starts: the signature's canonical form is the sender's work
          const headers = signedHeaders(body);
          const blocks: number[] = [];
          let last = performance.now();
          let lastUs = process.hrtime.bigint() / 1000n;
          const probe = setInterval(() => {
            const t = performance.now();
            const us = process.hrtime.bigint() / 1000n;
            if (t - last > 6) {
              blocks.push(t - last - 1);
              stalls.push({ push: `${kind} ${pk} ${r + 1}`, fromUs: Number(lastUs), toUs: Number(us) });
            }
            last = t;
            lastUs = us;
          }, 1);
          const h = monitorEventLoopDelay({ resolution: 1 });
          h.enable();
          const p = await push(port, pk, body, headers);
          h.disable();
          clearInterval(probe);
          if (p.code !== '000000') throw new Error(`${pk} answered ${p.code}`);
          blocks.sort((a, b) => b - a);
          rows.push([kind, `${pk} ${n}`, String(r + 1), fmtMs(p.ms), fmtMs(h.percentile(99) / 1e6), fmtMs(h.max / 1e6), blocks.slice(0, 6).map((b) => b.toFixed(0)).join(', ')]);
          process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
        }
      }
    } finally {
      srv.close();
      await gw.close();
      await store.close();
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(markdownTable(['Store', 'Push', 'Round', 'Push ms', 'loop delay p99 ms', 'loop delay max ms', 'longest blocks ms'], rows, [false, false, true, true, true, true, false]));
  console.log(`load average at the end ${loadAvg()}`);
  if (stallFile) writeFileSync(stallFile, JSON.stringify(stalls));
}

if (import.meta.url === `file://${process.argv[1]}`) await main().then(() => process.exit(0));

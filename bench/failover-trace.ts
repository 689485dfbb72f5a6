// One Sentinel failover round of the chaos scenario (test/helpers/failover.ts), traced end to end
// on one clock: the sentinels' events, the surviving data nodes' replication state (every 100 ms),
// node-redis's own Sentinel tracer and events on each gateway's store, every change's failure and
// every push's answer. Prints one summary line per round and writes the whole trace to a file.
// A diagnostic, not a benchmark: it reaches into the store's private link (node-redis's
// setTracer) and wraps its change(), so it may need adjusting when those change.
//
//   npx tsx bench/failover-trace.ts [--rounds N] [--out DIR]     (~25 s per round)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { createClient, type RedisClientType } from 'redis';
import { runFailover } from '../test/helpers/failover.ts';
import { startRedisSentinel } from '../test/helpers/redis-topologies.ts';
import type { RedisStore } from '../src/store/redis.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const rounds = Number(arg('--rounds', '1'));
const outDir = arg('--out', join(os.tmpdir(), 'failover-trace'));
mkdirSync(outDir, { recursive: true });

interface Line {
  at: number;
  who: string;
  what: string;
}

async function round(n: number): Promise<string> {
  const set = (await startRedisSentinel({ quorum: true }))!;
  const lines: Line[] = [];
  const note = (who: string, what: string) => lines.push({ at: Date.now(), who, what });
  const clients: RedisClientType[] = [];
  let polling = true;
  let killedAt = 0;
  const firstOk: Array<number | undefined> = [];
  try {
    const old = await set.primary();
    // every sentinel event, from each sentinel
    for (const port of set.sentinelPorts) {
      const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } }) as RedisClientType;
      c.on('error', () => undefined);
      await c.connect();
      await c.pSubscribe('*', (message, channel) => note(`sentinel:${port}`, `${channel} ${message}`));
      clients.push(c);
    }
    // the replication state of the surviving data nodes, when it changes
    const survivors = set.dataPorts.filter((p) => p !== old);
    const polls = survivors.map(async (port) => {
      // Sentinel kills normal clients of a node it reconfigures: reconnect
      const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: () => 50 }, disableOfflineQueue: true }) as RedisClientType;
      c.on('error', () => undefined);
      await c.connect();
      clients.push(c);
      let last = '';
      while (polling) {
        const info = await c.info('replication').catch(() => '');
        if (!info) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const pick = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim();
        const slaves = info.split('\n').filter((l) => /^slave\d+:/.test(l)).map((l) => l.trim().replace(/^slave\d+:/, ''));
        const state =
          pick('role') === 'master'
            ? `master connected_slaves=${pick('connected_slaves')} [${slaves.join(' ; ')}]`
            : `slave of ${pick('master_port')} link=${pick('master_link_status')} sync_in_progress=${pick('master_sync_in_progress')} offset=${pick('slave_repl_offset')}`;
        if (state !== last) note(`data:${port}`, state);
        last = state;
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    const f = await runFailover({
      spec: set.url,
      store: { keyPrefix: 'chaos:', waitReplicas: 1 },
      kill: () => {
        killedAt = Date.now();
        note('test', `kill -9 ${old}`);
        set.kill(old);
      },
      onStore: (store: RedisStore, i: number) => {
        const who = `gw${i}`;
        const link = (store as unknown as { link: { sentinel: { setTracer(t: { push(m: string): void }): void; on(e: string, l: (x: unknown) => void): void } } }).link;
        link.sentinel.setTracer({ push: (m: string) => note(`${who}:trace`, m) });
        link.sentinel.on('topology-change', (e) => note(`${who}:event`, `topology-change ${JSON.stringify(e)}`));
        link.sentinel.on('client-error', (e) => note(`${who}:event`, `client-error ${(e as { type: string }).type} ${String((e as { error: unknown }).error)}`));
        link.sentinel.on('error', (e) => note(`${who}:event`, `error ${String(e)}`));
        const s = store as unknown as { change: (...a: unknown[]) => Promise<unknown> };
        const change = s.change.bind(store);
        s.change = (...args: unknown[]) =>
          change(...args).catch((e: unknown) => {
            if (killedAt) note(`${who}:change`, `${String(args[0])} failed: ${String(e)}`);
            throw e;
          });
      },
      onPush: (p) => {
        if (!killedAt || p.at < killedAt) return;
        const ok = p.resultCode === '000000';
        note(`gw${p.gateway}:push`, `${ok ? 'ok' : 'refused'} started +${p.at - killedAt} took ${p.ms} ms ${ok ? '' : (p.resultMsg ?? 'no answer')}`);
        if (ok && firstOk[p.gateway] === undefined) firstOk[p.gateway] = p.at + p.ms - killedAt;
      },
    });
    polling = false;
    await Promise.all(polls);
    const rel = (l: Line) => `${String(l.at - killedAt).padStart(7)} ${l.who.padEnd(16)} ${l.what}`;
    const file = join(outDir, `round-${n}.log`);
    writeFileSync(file, lines.map(rel).join('\n') + '\n');
    const first = (re: RegExp, who?: RegExp) => {
      const l = lines.find((x) => x.at >= killedAt && re.test(x.what) && (!who || who.test(x.who)));
      return l ? l.at - killedAt : NaN;
    };
    return [
      `round ${n}: recovery ${f.recoveryMs} ms, pub/sub ${f.pubsubRecoveryMs} ms, lost ${f.pushesLost}/${f.sessionsLost}, hung ${f.hung}`,
      `failovers ${lines.filter((l) => /^\+elected-leader/.test(l.what)).length} (new primaries: ${[...new Set(lines.filter((l) => /^\+switch-master/.test(l.what)).map((l) => l.what.split(' ').at(-1)))].join(', ')})`,
      `+switch-master ${first(/^\+switch-master/)}`,
      `replica attached ${first(/connected_slaves=[1-9].*state=online/)}`,
      `first ok gw0 ${firstOk[0]} gw1 ${firstOk[1]}`,
      `load ${os.loadavg()[0]!.toFixed(2)}`,
      file,
    ].join(' | ');
  } finally {
    polling = false;
    for (const c of clients) if (c.isOpen) c.destroy();
    await set.stop();
  }
}

for (let i = 1; i <= rounds; i++) console.log(await round(i));
process.exit(0);

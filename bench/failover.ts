// Failover figures for bench/RESULTS.md: the chaos scenario of test/store/failover-*.test.ts
// (two gateways, a stream of signed pushes and full OAuth sign-ins, kill -9 of the primary /
// the Cluster master holding the directory), repeated on fresh deployments, as a markdown table.
//
//   npx tsx bench/failover.ts [--rounds N]     (default 3 rounds per row; ~20 s per round)
import os from 'node:os';
import { runFailover, HUNG_MS, type FailoverFigures } from '../test/helpers/failover.ts';
import { startRedisCluster, startRedisSentinel } from '../test/helpers/redis-topologies.ts';

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;

interface Row {
  topology: string;
  wait: number;
  figures: FailoverFigures;
}

async function sentinelRound(wait: number): Promise<FailoverFigures> {
  const set = (await startRedisSentinel({ quorum: true }))!;
  try {
    const old = await set.primary();
    return await runFailover({ spec: set.url, store: { keyPrefix: 'chaos:', waitReplicas: wait }, kill: () => set.kill(old) });
  } finally {
    await set.stop();
  }
}

async function clusterRound(wait: number): Promise<FailoverFigures> {
  const cluster = (await startRedisCluster({ replicas: 2 }))!;
  try {
    const victim = await cluster.masterOf('{chaos}:audit');
    return await runFailover({ spec: cluster.url, store: { keyPrefix: 'chaos:', waitReplicas: wait }, kill: () => cluster.kill(victim) });
  } finally {
    await cluster.stop();
  }
}

const rows: Row[] = [];
const plan: Array<[string, number, (w: number) => Promise<FailoverFigures>, number]> = [
  ['Sentinel (1 primary, 2 replicas, 3 sentinels)', 1, sentinelRound, rounds],
  ['Cluster (3 masters, 2 replicas each)', 1, clusterRound, rounds],
  ['Sentinel (1 primary, 2 replicas, 3 sentinels)', 0, sentinelRound, 1],
  ['Cluster (3 masters, 2 replicas each)', 0, clusterRound, 1],
];
for (const [topology, wait, round, n] of plan) {
  for (let i = 0; i < n; i++) {
    const figures = await round(wait);
    rows.push({ topology, wait, figures });
    process.stderr.write(`${topology} WAIT ${wait}: ${JSON.stringify(figures)}\n`);
  }
}

console.log(`- date: ${new Date().toISOString()}; ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}`);
console.log('');
console.log(`| Topology | WAIT | Pushes acknowledged | Pushes refused (retry) | Acknowledged pushes lost | Sign-ins completed | Sign-ins refused (retry page) | Sessions lost | Hung (> ${HUNG_MS / 1000} s) | Slowest answer ms | Recovery ms |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const { topology, wait, figures: f } of rows) {
  console.log(`| ${topology} | ${wait} | ${f.pushesAcknowledged} | ${f.pushesRefused} | ${f.pushesLost} | ${f.signInsCompleted} | ${f.signInsRefused} | ${f.sessionsLost} | ${f.hung} | ${f.slowestMs} | ${f.recoveryMs} |`);
}
process.exit(0);

// Private multi-node Redis deployments for a test file, from the Debian redis-server package:
// a Cluster (three masters, optionally one replica each) and a Sentinel set (one primary, two
// replicas, three sentinels). Every process runs on a free loopback port and is stopped by PID.
//
//   before(async () => (cluster = await startRedisCluster()));  after(() => cluster?.stop());
// Start one per test file: each costs a few seconds of the shared machine.
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, launch, requireBinary, terminate } from './redis-server.ts';

const run = promisify(execFile);
const READY_TIMEOUT_MS = 20_000;

export const needRedisTopologies = (() => {
  const server = requireBinary('redis-server', 'apt-get install -y redis-server');
  return server.skip ? server : requireBinary('redis-cli', 'apt-get install -y redis-tools');
})();

/** one command through redis-cli; the reply as text */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  return stdout.trim();
}

/** replicas of the primary on `port` that finished their initial sync (WAIT counts only those) */
export async function onlineReplicas(port: number): Promise<number> {
  return (await redisCli(port, 'INFO', 'replication')).split('\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length;
}

/** resolves once the primary on `port` has `n` online replicas */
export function waitForReplicas(port: number, n: number): Promise<void> {
  return waitUntil(`${n} online replica(s) of ${port}`, async () => (await onlineReplicas(port)) >= n);
}

interface Node {
  port: number;
  child: ChildProcess;
}

abstract class Deployment {
  protected readonly nodes = new Map<number, Node>();
  protected constructor(protected readonly dir: string) {}

  /** SIGKILL the process on `port` at once (kill -9) */
  kill(port: number): void {
    this.nodes.get(port)?.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => terminate(n.child)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  protected async start(port: number, args: string[]): Promise<void> {
    this.nodes.set(port, { port, child: await launch(args, port) });
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class RedisClusterDeployment extends Deployment {
  constructor(
    dir: string,
    readonly ports: number[],
  ) {
    super(dir);
  }

  /** the store spec */
  get url(): string {
    return `redis-cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  /** the masters that serve slots now, as the first live node sees them: port -> its line's slot ranges */
  private async slotMasters(): Promise<Array<{ port: number; ranges: Array<[number, number]> }>> {
    for (const port of this.ports) {
      const text = await redisCli(port, 'CLUSTER', 'NODES').catch(() => '');
      if (!text) continue;
      return text
        .split('\n')
        .map((line) => line.split(' '))
        .filter((f) => f[2]!.split(',').includes('master') && !f[2]!.includes('fail') && f.length > 8)
        .map((f) => ({
          port: Number(/:(\d+)@/.exec(f[1]!)![1]),
          ranges: f
            .slice(8)
            .filter((r) => !r.startsWith('['))
            .map((r) => {
              const [a, b] = r.split('-').map(Number);
              return [a!, b ?? a!] as [number, number];
            }),
        }));
    }
    throw new Error('no cluster node answers');
  }

  async masters(): Promise<number[]> {
    return (await this.slotMasters()).map((m) => m.port);
  }

  /** the port of the master serving `key` */
  async masterOf(key: string): Promise<number> {
    const live = [...this.nodes.values()].find((n) => n.child.exitCode === null && n.child.signalCode === null)!;
    const slot = Number(await redisCli(live.port, 'CLUSTER', 'KEYSLOT', key));
    const m = (await this.slotMasters()).find((x) => x.ranges.some(([a, b]) => slot >= a && slot <= b));
    if (!m) throw new Error(`no master serves slot ${slot}`);
    return m.port;
  }

  async waitHealthy(): Promise<void> {
    await waitUntil('the cluster to be ok on every live node', async () => {
      for (const port of this.nodes.keys()) {
        if (this.nodes.get(port)!.child.exitCode !== null || this.nodes.get(port)!.child.signalCode !== null) continue;
        if (!/cluster_state:ok/.test(await redisCli(port, 'CLUSTER', 'INFO'))) return false;
      }
      return true;
    });
  }

  /** @internal */
  async boot(args: (port: number) => string[], replicas: number): Promise<void> {
    await Promise.all(this.ports.map((p) => this.start(p, args(p))));
    await run('redis-cli', ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
      timeout: READY_TIMEOUT_MS,
    });
    await this.waitHealthy();
    if (replicas > 0) {
      await waitUntil('every replica to be in sync', async () => {
        for (const port of this.ports) {
          const info = await redisCli(port, 'INFO', 'replication');
          if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false;
          if (/role:master/.test(info) && (await onlineReplicas(port)) < 1) return false;
        }
        return true;
      });
    }
  }
}

/** Three masters (and `replicas` replicas each); null when redis-server is not installed. */
export async function startRedisCluster(opts: { replicas?: number; appendonly?: boolean } = {}): Promise<RedisClusterDeployment | null> {
  if (needRedisTopologies.skip) return null;
  const replicas = opts.replicas ?? 0;
  const ports: number[] = [];
  // each node's cluster bus gets a free port of its own (cluster-port; by default it is port + 10000,
  // which from freePort's range lands in the kernel's ephemeral range and can be taken there)
  const busPorts = new Map<number, number>();
  while (ports.length < 3 * (1 + replicas)) {
    const p = await freePort();
    const bus = await freePort();
    const taken = [...ports, ...busPorts.values()];
    if (p === bus || taken.includes(p) || taken.includes(bus)) continue;
    ports.push(p);
    busPorts.set(p, bus);
  }
  const dir = mkdtempSync(join(tmpdir(), 'bridge-cluster-'));
  const cluster = new RedisClusterDeployment(dir, ports);
  const args = (port: number) => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    return [
      '--port', String(port), '--cluster-port', String(busPorts.get(port)), '--bind', '127.0.0.1', '--dir', nodeDir,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000',
      '--save', '', '--appendonly', opts.appendonly ? 'yes' : 'no',
    ];
  };
  try {
    await cluster.boot(args, replicas);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

export const MASTER_NAME = 'bridge-primary';

/**
 * Sentinel's down-after-milliseconds, as the README recommends at least. Not lower: after a
 * +switch-master a sentinel drops its link and reconnects to the new primary at most once per
 * second (its ping period), and counts the new primary's silence from the switch; with 1000 a
 * sentinel sometimes judged the just-promoted primary down before it had reconnected to it, and
 * the set failed over a second time (about 1 round in 8: the demoted primary is converted back to
 * a replica ~10 s later and resyncs in full, so WAIT 1 failed for ~20 s; bench/RESULTS.md).
 */
export const SENTINEL_DOWN_AFTER_MS = 2000;

export class RedisSentinelDeployment extends Deployment {
  constructor(
    dir: string,
    readonly dataPorts: number[],
    readonly sentinelPorts: number[],
  ) {
    super(dir);
  }

  /** the store spec */
  get url(): string {
    return `redis-sentinel://${this.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${MASTER_NAME}`;
  }

  /** the primary's port, as the first sentinel that answers reports it */
  async primary(): Promise<number> {
    for (const port of this.sentinelPorts) {
      const reply = await redisCli(port, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME).catch(() => '');
      const p = Number(reply.split('\n')[1]);
      if (p) return p;
    }
    throw new Error('no sentinel answers');
  }

  /** @internal */
  async boot(appendonly: boolean): Promise<void> {
    const [primary, ...replicas] = this.dataPorts;
    const data = (port: number, extra: string[] = []) => {
      const nodeDir = join(this.dir, String(port));
      mkdirSync(nodeDir, { recursive: true });
      return ['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--save', '', '--appendonly', appendonly ? 'yes' : 'no', ...extra];
    };
    await this.start(primary!, data(primary!));
    await Promise.all(replicas.map((p) => this.start(p, data(p, ['--replicaof', '127.0.0.1', String(primary)]))));
    await waitForReplicas(primary!, 2);
    await Promise.all(
      this.sentinelPorts.map((port) => {
        const conf = join(this.dir, `sentinel-${port}.conf`);
        // sentinels rewrite their configuration file, so each gets its own
        writeFileSync(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${this.dir}`,
            `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary} 2`,
            `sentinel down-after-milliseconds ${MASTER_NAME} ${SENTINEL_DOWN_AFTER_MS}`,
            `sentinel failover-timeout ${MASTER_NAME} 10000`,
            `sentinel parallel-syncs ${MASTER_NAME} 2`,
            '',
          ].join('\n'),
        );
        return this.start(port, [conf, '--sentinel']);
      }),
    );
  }

  /** every sentinel knows both replicas and the other two sentinels: a failover can be agreed */
  async waitForQuorum(): Promise<void> {
    await waitUntil('the sentinels to know each other and the replicas', async () => {
      for (const port of this.sentinelPorts) {
        const reply = (await redisCli(port, 'SENTINEL', 'master', MASTER_NAME)).split('\n');
        const field = (name: string) => Number(reply[reply.indexOf(name) + 1]);
        if (field('num-slaves') < 2 || field('num-other-sentinels') < 2) return false;
      }
      return true;
    });
  }
}

/** One primary, two replicas, three sentinels; null when redis-server is not installed. */
export async function startRedisSentinel(opts: { appendonly?: boolean; quorum?: boolean } = {}): Promise<RedisSentinelDeployment | null> {
  if (needRedisTopologies.skip) return null;
  const ports: number[] = [];
  while (ports.length < 6) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const dir = mkdtempSync(join(tmpdir(), 'bridge-sentinel-'));
  const set = new RedisSentinelDeployment(dir, ports.slice(0, 3), ports.slice(3));
  try {
    await set.boot(opts.appendonly ?? false);
    if (opts.quorum) await set.waitForQuorum();
  } catch (err) {
    await set.stop();
    throw err;
  }
  return set;
}

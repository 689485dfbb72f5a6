// A private redis-server per test file, on a free loopback port, stopped by its PID.
//
//   const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');
//   describe('…', needRedis, () => { before(async () => (redis = await startRedis())); after(() => redis?.stop()); … });
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchServer, terminate } from './process.ts';

// test/store/ imports terminate from here
export { terminate };

export interface RedisServer {
  url: string;
  port: number;
  /** SIGTERM, wait for the exit, remove the data directory */
  stop(): Promise<void>;
  /** SIGKILL at once, for outage tests; the data directory stays for restart() */
  kill(): void;
  /** start again on the same port and directory (after kill() or stop()) */
  restart(): Promise<void>;
}

/**
 * Options for test()/describe(): skip with an install hint when `name` is not on PATH, except in
 * CI (CI=true), where a missing binary is a broken machine and throws.
 */
export function requireBinary(name: string, install: string): { skip: false } | { skip: string } {
  if (spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name]).status === 0) return { skip: false };
  const message = `${name} is not installed (${install})`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI must have it`);
  return { skip: message };
}

/** Starts redis-server; null when it is not installed (the caller's test is skipped then). */
export async function startRedis(opts: { appendonly?: boolean } = {}): Promise<RedisServer | null> {
  if (requireBinary('redis-server', 'apt-get install -y redis-server').skip) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bridge-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', opts.appendonly ? 'yes' : 'no', '--dir', dir];
  let child = await launch(args, port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
    kill() {
      child.kill('SIGKILL');
    },
    async restart() {
      await terminate(child);
      child = await launch(args, port);
    },
  };
}

/** Spawns redis-server with `args` and waits until `port` answers PING; killed at process exit. */
export async function launch(args: string[], port: number): Promise<ChildProcess> {
  return (await launchServer('redis-server', args, { port, ready: answersPing })).child;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/**
 * The ports freePort hands out: the 12,000 below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range, 32768–60999 by default). Every `listen(0)` and every outgoing
 * connection's local port comes from the ephemeral range, so a port from here cannot be taken by
 * the other test file's servers or clients between freePort and the server's own bind — which a
 * port the kernel picked (the way this worked before) could, and then a server that failed to
 * bind looked started because another one answered on its port. null: no room below that range
 * (a host that set it from 1024): the kernel picks, as before.
 */
const PORT_RANGE = ((): { lo: number; size: number } | null => {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: the usual default
  }
  const lo = Math.max(10_000, ephemeralLow - 12_000);
  return ephemeralLow - lo >= 1000 ? { lo, size: ephemeralLow - lo } : null;
})();
/** where this process starts looking: spread over the range by PID, so two test files rarely meet */
let nextPort = PORT_RANGE ? PORT_RANGE.lo + ((process.pid * 7919) % PORT_RANGE.size) : 0;

function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(null) : reject(e)));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A loopback port that was free a moment ago, from PORT_RANGE; good enough for a private test server. */
export async function freePort(): Promise<number> {
  if (!PORT_RANGE) return (await tryListen(0))!;
  for (let tries = 0; tries < 200; tries++) {
    const port = PORT_RANGE.lo + ((nextPort - PORT_RANGE.lo) % PORT_RANGE.size);
    nextPort = port + 1;
    const got = await tryListen(port);
    if (got !== null) return got;
  }
  throw new Error(`no free port in ${PORT_RANGE.lo}–${PORT_RANGE.lo + PORT_RANGE.size - 1} after 200 tries`);
}

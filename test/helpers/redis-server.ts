// A private redis-server per test file, on a free loopback port, stopped by its PID.
//
//   const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');
//   describe('…', needRedis, () => { before(async () => (redis = await startRedis())); after(() => redis?.stop()); … });
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

/** A port that was free a moment ago (the OS picks it); good enough for a private test server. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

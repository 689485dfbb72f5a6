// Launching and stopping the system servers tests run (redis-server, nginx, caddy, apache2): one
// child per call, its output kept for the failure message, killed at process exit even after a
// crash, stopped by its PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createConnection } from 'node:net';

const READY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 3000;

/** Children still running; killed when the test process exits, even after a failure or a crash. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Launched {
  child: ChildProcess;
  /** what the child wrote to stdout and stderr so far */
  output(): string;
}

export interface LaunchOptions {
  /** the loopback port the server listens on */
  port: number;
  env?: SpawnOptions['env'];
  /** true once the server serves; default: `port` accepts a TCP connection */
  ready?: (port: number) => Promise<boolean>;
  timeoutMs?: number;
  /** more text for the failure message (a log file the server writes) */
  log?: () => string;
}

/** Spawns `command` and waits until it is ready; on failure stops it and throws with its output. */
export async function launchServer(command: string, args: string[], opts: LaunchOptions): Promise<Launched> {
  const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const ready = opts.ready ?? accepts;
  const deadline = Date.now() + (opts.timeoutMs ?? READY_TIMEOUT_MS);
  while (!(await ready(opts.port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await terminate(child);
      throw new Error(`${command} on port ${opts.port} did not start:\n${output}${opts.log?.() ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => output };
}

/** SIGTERM by PID, SIGKILL if it lingers; resolves once the process has exited. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Whether 127.0.0.1:`port` accepts a TCP connection within half a second. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

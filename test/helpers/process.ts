// Launching and stopping the system servers tests run (redis-server, nginx, caddy, apache2): one
// child per call, its output kept for the failure message, killed at process exit even after a
// crash, stopped by its PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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
  // ready only once the answering socket is the child's own: another process on the port (the
  // child failed to bind it) must not pass for the child
  while (!(await ready(opts.port)) || !listensOn(child.pid!, opts.port)) {
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

/**
 * Whether process `pid` holds a socket listening on TCP `port` (Linux: its fds against
 * /proc/net/tcp{,6}). true where /proc cannot tell (another OS): the readiness check alone decides.
 */
export function listensOn(pid: number, port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  let tables = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    tables += 1;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === '0A' && cols[1]!.endsWith(hex)) inodes.add(cols[9]!);
    }
  }
  if (tables === 0) return true;
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // the child is gone
  }
  return fds.some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false;
    }
  });
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

// A private Caddy per test file, running the Caddyfile docs/caddy.md shows (the ```caddy block,
// with the site address and the two upstreams replaced), without the admin endpoint or automatic
// HTTPS, its config and data dirs in a temp dir, stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminate } from './redis-server.ts';

export const CADDY_INSTALL = 'apt-get install -y caddy';
export const CADDY_GUIDE = new URL('../../docs/caddy.md', import.meta.url);

/** the guide's Caddyfile with this machine's addresses */
export function renderCaddyfile(values: { port: number; gateway: string; app: string }): string {
  const block = /```caddy\n([\s\S]*?)```/.exec(readFileSync(CADDY_GUIDE, 'utf8'))?.[1];
  if (!block) throw new Error('docs/caddy.md has no ```caddy block');
  const site = block.replaceAll('app.example.com', `http://127.0.0.1:${values.port}`).replaceAll('gateway:8080', values.gateway).replaceAll('app:3000', values.app);
  return `{\n\tadmin off\n\tauto_https off\n}\n\n${site}`;
}

export interface Caddy {
  origin: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startCaddy(caddyfile: string, port: number): Promise<Caddy> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-caddy-'));
  writeFileSync(join(dir, 'Caddyfile'), caddyfile);
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') };
  const child = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const stop = async () => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`caddy on port ${port} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { origin: `http://127.0.0.1:${port}`, port, output: () => out, stop };
}

function accepts(port: number): Promise<boolean> {
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

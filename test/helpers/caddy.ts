// A private Caddy per test file, running the Caddyfile docs/caddy.md shows (the ```caddy block,
// with the site address and the two upstreams replaced), without the admin endpoint or automatic
// HTTPS, its config and data dirs in a temp dir, stopped by its PID.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchServer, terminate, type Launched } from './process.ts';

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

export async function startCaddy(caddyfile: string, port: number): Promise<Caddy> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-caddy-'));
  writeFileSync(join(dir, 'Caddyfile'), caddyfile);
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') };
  let launched: Launched;
  try {
    launched = await launchServer('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { port, env, timeoutMs: 10_000 });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await terminate(launched.child);
    rmSync(dir, { recursive: true, force: true });
  };
  return { origin: `http://127.0.0.1:${port}`, port, output: launched.output, stop };
}

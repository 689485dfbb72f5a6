// A private nginx per test file: the site config (examples/nginx/bridge.conf.template, the one
// docs/nginx.md shows) inside a minimal main config whose logs, pid and temp files all live in a
// temp dir, on a loopback port, stopped by its PID.
//
//   const needNginx = requireBinary('nginx', NGINX_INSTALL);
//   describe('…', needNginx, () => { before(async () => (nginx = await startNginx(site, port))); after(() => nginx?.stop()); … });
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminate } from './redis-server.ts';

export const NGINX_INSTALL = 'apt-get install -y nginx-light';
export const SITE_TEMPLATE = new URL('../../examples/nginx/bridge.conf.template', import.meta.url);

export interface SiteValues {
  /** the `listen` line(s), TLS directives included, indented for the server block */
  listen: string;
  server_name: string;
  /** host:port of the gateway and of the app */
  gateway: string;
  app: string;
}

/** The values docs/nginx.md is rendered with; the e2e test checks the guide against them. */
export const GUIDE_VALUES: SiteValues = {
  listen: ['    listen 443 ssl;', '    ssl_certificate     /etc/nginx/tls/app.example.com.crt;', '    ssl_certificate_key /etc/nginx/tls/app.example.com.key;'].join('\n'),
  server_name: 'app.example.com',
  gateway: '127.0.0.1:8080',
  app: '127.0.0.1:3000',
};

export function renderSite(values: SiteValues): string {
  return readFileSync(SITE_TEMPLATE, 'utf8').replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`${SITE_TEMPLATE.pathname}: no value for {{${key}}}`);
    return values[key as keyof SiteValues];
  });
}

export interface Nginx {
  origin: string;
  port: number;
  /** what nginx wrote to its error log so far, for assertion messages */
  errorLog(): string;
  /** SIGTERM by PID (SIGKILL if it lingers), then removes the temp dir */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 5000;

/** Children still running; killed when the test process exits, even after a failure or a crash. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts nginx with `site` (http-context directives) on 127.0.0.1:`port`, which the site's listen line must use. */
export async function startNginx(site: string, port: number): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-nginx-'));
  // one process (no workers): stopping it by PID stops everything, and nothing runs as another user
  writeFileSync(
    join(dir, 'nginx.conf'),
    `master_process off;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${site}
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-e', `${dir}/error.log`, '-c', 'nginx.conf', '-g', `daemon off; pid ${dir}/nginx.pid;`], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const log = `${output}${errorLog()}`;
      await stop();
      throw new Error(`nginx on port ${port} did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { origin: `http://127.0.0.1:${port}`, port, errorLog, stop };
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

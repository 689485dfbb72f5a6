// A private nginx per test file: the site config (examples/nginx/bridge.conf.template, the one
// docs/nginx.md shows) inside a minimal main config whose logs, pid and temp files all live in a
// temp dir, on a loopback port, stopped by its PID.
//
//   const needNginx = requireBinary('nginx', NGINX_INSTALL);
//   describe('…', needNginx, () => { before(async () => (nginx = await startNginx(site, port))); after(() => nginx?.stop()); … });
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchServer, terminate } from './process.ts';

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
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  let child: ChildProcess;
  try {
    ({ child } = await launchServer('nginx', ['-p', dir, '-e', `${dir}/error.log`, '-c', 'nginx.conf', '-g', `daemon off; pid ${dir}/nginx.pid;`], { port, log: errorLog }));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  return { origin: `http://127.0.0.1:${port}`, port, errorLog, stop };
}

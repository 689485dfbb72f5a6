// A private Apache httpd per test file: a minimal main config (modules, logs, pid, a loopback port)
// in a temp dir around the caller's directives, one process (-X: no children, nothing detaches),
// stopped by its PID.
//
//   const needApache = requireApache(['auth_openidc']);
//   describe('…', needApache, () => { before(async () => (apache = await startApache(conf, port))); after(() => apache?.stop()); … });
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { launchServer, terminate } from './process.ts';
import { requireBinary } from './redis-server.ts';

export const APACHE_INSTALL = 'apt-get install -y apache2 libapache2-mod-auth-openidc';
const MODULES = '/usr/lib/apache2/modules';
const BINARY = existsSync('/usr/sbin/apache2') ? '/usr/sbin/apache2' : 'apache2';

/** like requireBinary: skips (fails on CI) without httpd or one of the modules */
export function requireApache(modules: string[]): { skip: false } | { skip: string } {
  const binary = requireBinary(BINARY, APACHE_INSTALL);
  if (binary.skip) return binary;
  const missing = modules.filter((m) => !existsSync(`${MODULES}/mod_${m}.so`));
  if (missing.length === 0) return { skip: false };
  const message = `apache2 module(s) ${missing.join(', ')} not installed (${APACHE_INSTALL})`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI must have it`);
  return { skip: message };
}

export interface Apache {
  origin: string;
  /** what httpd wrote to its error log so far, for assertion messages */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * Starts httpd on 127.0.0.1:`port` with `modules` (names as in mods-available) and `directives`;
 * `files` (path -> content) are written under its document root.
 */
export async function startApache(port: number, modules: string[], directives: string, files: Record<string, string> = {}): Promise<Apache> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-apache-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, 'htdocs', path)), { recursive: true });
    writeFileSync(join(dir, 'htdocs', path), content);
  }
  const load = ['mpm_prefork', 'authn_core', 'authz_core', 'authz_user', ...modules].map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`).join('\n');
  writeFileSync(
    join(dir, 'httpd.conf'),
    `ServerRoot ${dir}
${load}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
DefaultRuntimeDir ${dir}
Mutex file:${dir} default
ErrorLog ${dir}/error.log
LogLevel warn
# one process serves one connection at a time: a kept-alive idle one would hold up the next
KeepAlive Off
DocumentRoot ${dir}/htdocs
${directives}
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
    ({ child } = await launchServer(BINARY, ['-X', '-f', join(dir, 'httpd.conf')], { port, timeoutMs: 10_000, log: errorLog }));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  return { origin: `http://127.0.0.1:${port}`, errorLog, stop };
}

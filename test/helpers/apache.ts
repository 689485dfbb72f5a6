// A private Apache httpd per test file: a minimal main config (modules, logs, pid, a loopback port)
// in a temp dir around the caller's directives, one process (-X: no children, nothing detaches),
// stopped by its PID.
//
//   const needApache = requireApache(['auth_openidc']);
//   describe('…', needApache, () => { before(async () => (apache = await startApache(conf, port))); after(() => apache?.stop()); … });
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireBinary, terminate } from './redis-server.ts';

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

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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
  const child = spawn(BINARY, ['-X', '-f', join(dir, 'httpd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const log = `${output}${errorLog()}`;
      await stop();
      throw new Error(`apache2 on port ${port} did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { origin: `http://127.0.0.1:${port}`, errorLog, stop };
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

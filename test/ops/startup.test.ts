// Start-up mistakes stop the real process with one clear line: production without its secrets
// (exit 2, every problem at once), a port in use, an embedded store directory held by another
// running gateway. And the logs: JSON by default, readable with BRIDGE_LOG_FORMAT=pretty, one
// access line per request with secret query values redacted.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/redis-server.ts';
import { loggablePath } from '../../src/ops/access-log.ts';
import { LOCK_FILE } from '../../src/ops/directory-lock.ts';

const MAIN = ['--import', 'tsx', 'src/main.ts'];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Running {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k === 'NODE_ENV' || k.startsWith('BRIDGE_')) delete base[k];
  const child = spawn(process.execPath, MAIN, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function healthy(port: number, run: Running): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not yet
    }
    if (run.child.exitCode !== null) assert.fail(`exited early: ${run.out()}`);
    if (Date.now() > end) assert.fail(`not healthy: ${run.out()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function stop(run: Running): Promise<number | null> {
  run.child.kill('SIGTERM');
  return run.exited;
}

describe('start-up mistakes', () => {
  it('NODE_ENV=production without secrets, keys or a public https URL: exit 2 listing all of them', () => {
    const r = spawnSync(process.execPath, MAIN, { env: { ...process.env, NODE_ENV: 'production', BRIDGE_STORE: 'memory', BRIDGE_PUBLIC_URL: 'http://localhost:8080' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    for (const path of ['sessionSecret', 'marketplace.kitAccessKey', 'marketplace.clientSecretKey', 'publicUrl', 'store']) assert.match(r.stderr, new RegExp(`- ${path.replace('.', '\\.')} = `), path);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a port in use: one line naming the port, non-zero exit', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, resolve));
    try {
      const run = start({ PORT: String(port), BRIDGE_STORE: 'memory' });
      const code = await run.exited;
      assert.notEqual(code, 0);
      const lines = run.out().trim().split('\n').filter((l) => !l.startsWith('{'));
      assert.deepEqual(lines, [`oneaccess-bridge: port ${port} is already in use (another gateway or program listens there); stop it or set PORT to a free port`]);
    } finally {
      blocker.close();
    }
  });

  it('an embedded directory held by a running gateway: the second stops with one line; a stale pid file is taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-lock-'));
    const [p1, p2] = [await freePort(), await freePort()];
    const first = start({ PORT: String(p1), BRIDGE_STORE: `embedded:${dir}` });
    await healthy(p1, first);
    const second = start({ PORT: String(p2), BRIDGE_STORE: `embedded:${dir}` });
    assert.equal(await second.exited, 1);
    assert.equal(second.out().trim(), `oneaccess-bridge: the store directory ${dir} is held by another running gateway (pid ${first.child.pid}); stop it, or give this one its own BRIDGE_STORE=embedded:<directory>`);
    assert.equal(await stop(first), 0, first.out().slice(-1000));
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'released on exit');

    // a crashed holder: its pid no longer runs
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(dir, LOCK_FILE), `${dead}\n`);
    const third = start({ PORT: String(p2), BRIDGE_STORE: `embedded:${dir}` });
    await healthy(p2, third);
    assert.equal(await stop(third), 0);
  });
});

describe('logs', () => {
  it('JSON by default: one access line per request, secret query values redacted, probes at debug', async () => {
    const port = await freePort();
    const run = start({ PORT: String(port), BRIDGE_STORE: 'memory' });
    await healthy(port, run);
    await fetch(`http://127.0.0.1:${port}/oauth/callback?code=SECRET-CODE&state=SECRET-STATE&tenant=t-x`);
    await fetch(`http://127.0.0.1:${port}/nowhere`);
    await fetch(`http://127.0.0.1:${port}/auth/verify`);
    await fetch(`http://127.0.0.1:${port}/healthz`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await stop(run), 0);
    const lines = run.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.filter((l) => l.msg === 'request');
    // /auth/verify and the probes log at debug: not in an info log
    assert.deepEqual(access.map((l) => [l.method, l.path, l.status]), [
      ['GET', '/oauth/callback?code=[redacted]&state=[redacted]&tenant=t-x', 400],
      ['GET', '/nowhere', 404],
    ]);
    assert.equal(typeof access[0]!.ms, 'number');
    assert.equal(access[0]!.tenant, 't-x');
    assert.equal(access[0]!.level, 30, 'info');
    assert.ok(!run.out().includes('SECRET-CODE') && !run.out().includes('SECRET-STATE'));
  });

  it('BRIDGE_LOG_FORMAT=pretty: readable lines, not JSON', async () => {
    const port = await freePort();
    const run = start({ PORT: String(port), BRIDGE_STORE: 'memory', BRIDGE_LOG_FORMAT: 'pretty' });
    await healthy(port, run);
    await fetch(`http://127.0.0.1:${port}/signed-out`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await stop(run), 0);
    const out = run.out();
    assert.match(out, /INFO.*oneaccess-bridge is listening/);
    assert.match(out, /INFO: request \{"module":"access","method":"GET","path":"\/signed-out","status":200/);
    assert.ok(out.split('\n').filter(Boolean).every((l) => !l.startsWith('{')), out);
  });
});

describe('loggablePath', () => {
  it('keeps the path and harmless parameters, redacts secret ones (any case, encoded names too)', () => {
    assert.equal(loggablePath('/a/b'), '/a/b');
    assert.equal(loggablePath('/cb?Code=x&tenant=t&%74icket=ST-1&flag'), '/cb?Code=[redacted]&tenant=t&%74icket=[redacted]&flag');
    assert.equal(loggablePath('/x?id_token_hint=eyJ&state=s&bad=%E0%A4%A'), '/x?id_token_hint=[redacted]&state=[redacted]&bad=%E0%A4%A');
  });
});

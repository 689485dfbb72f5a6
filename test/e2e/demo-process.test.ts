// The demo as a person starts it: one command prints the URL to open, --port sets the gateway's
// port (a busy one stops with one line), and Ctrl-C (SIGINT) stops everything it started.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { freePort } from '../helpers/redis-server.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function demo(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BRIDGE_LOG_LEVEL: 'warn' } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

describe('npm run demo (the process)', () => {
  it('prints the landing URL, serves it and the gateway on --port, and stops everything on SIGINT', async () => {
    const port = await freePort();
    const d = demo(['--port', String(port)]);
    const end = Date.now() + 60_000;
    let landing: string | undefined;
    while (!landing && Date.now() < end && d.child.exitCode === null) {
      landing = /Open:\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(d.out())?.[1];
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(landing, `no URL printed:\n${d.out()}\n${d.err()}`);
    const tenants = [...d.out().matchAll(/(acme|beta) (http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[2]!);
    assert.equal(tenants.length, 2, d.out());
    assert.equal((await fetch(landing)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    const app = /app behind the gateway (http:\/\/127\.0\.0\.1:\d+)/.exec(d.out())?.[1];
    assert.ok(app);

    d.child.kill('SIGINT');
    assert.equal(await d.exited, 0, d.err());
    for (const url of [landing, `http://127.0.0.1:${port}/healthz`, app, ...tenants]) assert.ok(await refused(url), `${url} still answers`);
  });

  it('a busy --port stops with one line', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const d = demo(['--port', String(port)]);
      assert.equal(await d.exited, 1);
      assert.equal(d.err().trim(), `demo: port ${port} is already in use; choose another with npm run demo -- --port N`);
    } finally {
      blocker.close();
    }
  });

  it('a bad --port is refused before anything starts', async () => {
    const d = demo(['--port', 'eighty']);
    assert.equal(await d.exited, 64);
    assert.match(d.err(), /--port must be a TCP port number/);
  });
});

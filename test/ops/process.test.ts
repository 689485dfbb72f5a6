// The real process: `npm start` on the embedded store with no other setup, and the seller CLI.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/redis-server.ts';
import { KIT_KEY } from '../helpers/gateway.ts';

async function waitFor(url: string, ms: number): Promise<Response> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(1000) });
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('the gateway process', () => {
  it('starts on the embedded store with only default.yaml, serves a signed sync, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-proc-'));
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: String(port), BRIDGE_STORE: `embedded:${dir}`, BRIDGE_KIT_ACCESS_KEY: KIT_KEY, BRIDGE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      assert.equal((await waitFor(`http://127.0.0.1:${port}/healthz`, 20_000)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
      const body = join(dir, 'tenant.json');
      writeFileSync(body, JSON.stringify({ instanceId: 'i', tenantId: 't-proc', tenantCode: 'proc', name: 'P', domainName: 'https://p.example.com', flag: 1, testFlag: 0, timeStamp: '20261125093000000' }));
      const send = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sync:send', 'tenantSync', body, '--url', `http://127.0.0.1:${port}`], {
        env: { ...process.env, BRIDGE_KIT_ACCESS_KEY: KIT_KEY },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(send.status, 0, send.stdout + send.stderr);
      assert.match(send.stdout, /"resultCode":"000000"/);
      assert.match(out, /development defaults in use/);
      assert.ok(!out.includes(KIT_KEY), 'the access key must never be logged');
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, out.slice(-2000));
  });
});

describe('npm run keygen', () => {
  it('prints the Base64 X.509 public key, writes the private key 0600, never prints it, refuses to overwrite', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-keygen-'));
    const out = join(dir, 'key.pem');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'keygen', '--out', out], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const pem = readFileSync(out, 'utf8');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    assert.ok(!r.stdout.includes(body.slice(20, 80)), 'private key must not be printed');
    const pub = /\n\n([A-Za-z0-9+/=]{300,})\n\n/.exec(r.stdout)?.[1];
    assert.ok(pub, r.stdout);
    assert.ok(Buffer.from(pub, 'base64').length > 400, '3072-bit SPKI');
    const again = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'keygen', '--out', out], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(again.status, 0);
    assert.equal(readFileSync(out, 'utf8'), pem);
  });
});

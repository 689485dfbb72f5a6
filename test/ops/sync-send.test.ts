// The seller's tooling against a real gateway: the five example pushes of examples/pushes/ work as
// copied (timeStamp filled in when absent), applicationSync's client secret is encrypted by
// `sync:send --encrypt-client-secret` exactly as the marketplace does, and `encrypt-secret` prints
// a ciphertext the gateway's key opens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/store/memory.ts';
import { decryptClientSecret, loadClientSecretKey } from '../../src/marketplace/client-secret.ts';
import { buildGateway, KIT_KEY, RSA_PRIVATE_B64, rsaVectors, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/redis-server.ts';

const EXAMPLES = 'examples/pushes';
const SECRET = readFileSync(`${EXAMPLES}/client-secret.txt`, 'utf8').trim();
const OTHER_PUBLIC_KEY = rsaVectors.keys.find((k) => k.modulus_bits === 2048)!.public_key_spki_b64!;

describe('sync:send and encrypt-secret', () => {
  let gw: TestGateway;
  let server: Server;
  let url: string;
  before(async () => {
    const port = await freePort();
    gw = await buildGateway(new MemoryStore(), { port, publicUrl: `http://127.0.0.1:${port}` });
    server = createServer(gw.listener);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await gw?.close();
  });

  /** the CLI as a child process; asynchronous, since the gateway it talks to runs in this process */
  function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, BRIDGE_KIT_ACCESS_KEY: KIT_KEY, BRIDGE_CLIENT_SECRET_KEY: '', BRIDGE_CLIENT_SECRET_KEY_FILE: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    return new Promise((resolve) => child.once('close', (status) => (clearTimeout(timer), resolve({ status, stdout, stderr }))));
  }

  const send = (kind: string, extra: string[] = [], env: Record<string, string> = {}) => cli(['sync:send', kind, `${EXAMPLES}/${kind}.json`, '--url', url, ...extra], env);

  it('the five example pushes, as copied, in the order the marketplace sends them', async () => {
    for (const kind of ['tenantSync', 'applicationSync', 'allOrgSync', 'singleOrgSync', 'authSync']) {
      const extra = kind === 'applicationSync' ? ['--encrypt-client-secret', `${EXAMPLES}/client-secret.txt`] : [];
      const r = await send(kind, extra, { BRIDGE_CLIENT_SECRET_KEY: RSA_PRIVATE_B64 });
      assert.equal(r.status, 0, `${kind}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /"resultCode":"000000"/, kind);
    }
    assert.equal((await gw.directory.getTenant('prod', 't-acme'))?.tenantCode, 'acme');
    assert.equal((await gw.directory.getUser('prod', 't-acme', 'zhangsan'))?.role, 'admin');
    // the example files carry no timeStamp: sending one again is newer, not "older than stored"
    const again = await send('tenantSync');
    assert.equal(again.status, 0, again.stdout);
  });

  it('--public-key takes the Base64 X.509 key as keygen prints it; a ciphertext for another key is refused', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'bridge-pub-')), 'public.b64');
    const args = ['sync:send', 'applicationSync', `${EXAMPLES}/applicationSync.json`, '--url', url, '--encrypt-client-secret', `${EXAMPLES}/client-secret.txt`, '--public-key', keyFile];
    writeFileSync(keyFile, `${rsaVectors.keys.find((k) => k.modulus_bits === 3072)!.public_key_spki_b64!}\n`);
    const good = await cli(args);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    writeFileSync(keyFile, OTHER_PUBLIC_KEY);
    const wrong = await cli(args);
    assert.equal(wrong.status, 1);
    assert.doesNotMatch(wrong.stdout, /"resultCode":"000000"/);
  });

  it('encrypt-secret prints what the private key decrypts back to the secret (secret from stdin)', async () => {
    const r = await cli(['encrypt-secret'], { BRIDGE_CLIENT_SECRET_KEY: RSA_PRIVATE_B64 }, `${SECRET}\n`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(decryptClientSecret(loadClientSecretKey(RSA_PRIVATE_B64), r.stdout.trim()), SECRET);
    assert.ok(!r.stdout.includes(SECRET));
  });

  it('mistakes get one line: no key at all, a non-applicationSync body, an unreachable gateway', async () => {
    const noKey = await cli(['encrypt-secret', `${EXAMPLES}/client-secret.txt`]);
    assert.equal(noKey.status, 64);
    assert.match(noKey.stderr, /^encrypt-secret: give --public-key FILE/);
    const wrongKind = await send('authSync', ['--encrypt-client-secret', `${EXAMPLES}/client-secret.txt`]);
    assert.equal(wrongKind.status, 64);
    assert.match(wrongKind.stderr, /is for applicationSync bodies/);
    const closed = await freePort();
    const down = await cli(['sync:send', 'tenantSync', `${EXAMPLES}/tenantSync.json`, '--url', `http://127.0.0.1:${closed}`]);
    assert.equal(down.status, 69);
    assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
    assert.match(down.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closed}/produceAPI/v2/tenantSync \\(ECONNREFUSED\\)`));
  });
});

// examples/express-app/server.mjs, run as docs/express-app.md says (node server.mjs with env
// vars), against a real gateway: real tokens in, forged, expired and misaddressed ones out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeJwt, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort } from '../helpers/redis-server.ts';

const SERVER = fileURLToPath(new URL('../../examples/express-app/server.mjs', import.meta.url));
const AUDIENCE = 'https://app.example.com';

/** node server.mjs, resolved once it says it listens */
async function startExample(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SERVER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => process.off('exit', onExit));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail('did not say it listens within 10 s'), 10_000);
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`examples/express-app/server.mjs ${why}:\n${output}`));
    }
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => fail(`exited with ${code}`));
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

describe('examples/express-app/server.mjs against a gateway', () => {
  let env: LoginEnv;
  let example: ChildProcess | undefined;
  let base: string;
  const tokens = new Map<string, string>();

  /** signs in through the sandbox and asks /auth/verify for the identity headers, as a proxy would */
  async function headersFor(userName: string): Promise<Record<string, string>> {
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: hiddenInput(form.body, 'continue')! });
    const res = await fetch(`${env.base}/auth/verify`, { headers: { cookie: `bridge.sid=${b.cookie(env.base, 'bridge.sid')}` } });
    assert.equal(res.status, 200);
    return Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('x-auth-request-')));
  }
  const tokenFor = async (userName: string) => (await headersFor(userName))['x-auth-request-jwt']!;

  before(async () => {
    env = await startLoginEnv(new MemoryStore(), { app: { url: AUDIENCE } });
    await env.addTenant('t-acme', 'acme', [
      { userName: 'boss', name: '老板', role: 'admin' },
      { userName: 'staff', name: '员工', role: 'user' },
      { userName: '王五', name: '王五', role: 'user', email: 'zhao@例子.中国' },
    ]);
    for (const u of ['boss', 'staff']) tokens.set(u, await tokenFor(u));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    example = await startExample({ PORT: String(port), BRIDGE_JWKS_URL: `${env.base}/.well-known/jwks.json`, BRIDGE_ISSUER: env.base, BRIDGE_AUDIENCE: AUDIENCE });
  });
  after(async () => {
    await stop(example);
    await env?.close();
  });

  const call = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };

  /** a token with the gateway's real key (so only the changed claim can make it fail) */
  async function gatewaySigned(payload: JWTPayload): Promise<string> {
    const { kid, alg, key } = env.gw.keys.signingKey();
    return new SignJWT(payload).setProtectedHeader({ typ: 'JWT', alg, kid }).sign(key);
  }

  it('accepts a real token and answers from its claims, not from the plain headers', async () => {
    const me = await call('/api/me', { 'x-auth-request-jwt': tokens.get('staff')!, 'x-auth-request-user': 'boss', 'x-auth-request-role': 'admin' });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    const dirUser = await env.gw.directory.getUser('prod', 't-acme', 'staff');
    assert.equal(me.body.sub, dirUser!.sub);
    assert.equal(me.body.user_name, 'staff');
    assert.equal(me.body.name, '员工');
    assert.equal(me.body.tenant, 't-acme');
    assert.equal(me.body.tenant_code, 'acme');
    assert.equal(me.body.role, 'user');
  });

  it('decodes the plain headers: non-Latin-1 names and e-mail addresses arrive percent-encoded and read the same as the token', async () => {
    const headers = await headersFor('王五');
    assert.equal(headers['x-auth-request-user'], '%E7%8E%8B%E4%BA%94');
    const res = await call('/api/headers', headers);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { headers: fromHeaders, token } = res.body as unknown as Record<string, Record<string, string>>;
    assert.deepEqual(fromHeaders, token);
    assert.equal(fromHeaders!.user_name, '王五');
    assert.equal(fromHeaders!.email, 'zhao@例子.中国');
    // plain ASCII values are sent as they are
    assert.equal((await headersFor('staff'))['x-auth-request-user'], 'staff');
  });

  it('role checks come from the token', async () => {
    assert.equal((await call('/api/admin', { 'x-auth-request-jwt': tokens.get('staff')! })).status, 403);
    const boss = await call('/api/admin', { 'x-auth-request-jwt': tokens.get('boss')! });
    assert.equal(boss.status, 200);
    assert.equal(boss.body.admin, 'boss');
  });

  it('refuses a missing, forged, expired, misaddressed or unsigned token', async () => {
    const real = decodeJwt(tokens.get('staff')!);
    const now = Math.floor(Date.now() / 1000);
    const { kid } = env.gw.keys.signingKey();
    const other = await generateKeyPair('ES256');
    const expired = await gatewaySigned({ ...real, iat: now - 600, exp: now - 300 });
    const cases: Array<[string, Record<string, string>, string]> = [
      ['missing', {}, 'unauthenticated'],
      ['forged: another key under the gateway key id', { 'x-auth-request-jwt': await new SignJWT({ ...real, role: 'admin' }).setProtectedHeader({ typ: 'JWT', alg: 'ES256', kid }).sign(other.privateKey) }, 'invalid_token'],
      ['expired', { 'x-auth-request-jwt': expired }, 'invalid_token'],
      ['another audience', { 'x-auth-request-jwt': await gatewaySigned({ ...real, aud: 'https://other-app.example.com' }) }, 'invalid_token'],
      ['another issuer', { 'x-auth-request-jwt': await gatewaySigned({ ...real, iss: 'https://evil.example.net' }) }, 'invalid_token'],
      ['unsigned (alg none)', { 'x-auth-request-jwt': `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(real)).toString('base64url')}.` }, 'invalid_token'],
    ];
    for (const [what, headers, error] of cases) {
      const res = await call('/api/me', headers);
      assert.equal(res.status, 401, what);
      assert.equal(res.body.error, error, what);
    }
    assert.equal((await call('/api/me', { 'x-auth-request-jwt': expired })).body.error_description, 'ERR_JWT_EXPIRED', 'expired, not merely invalid');
  });
});

// BRIDGE_REDIS_WAIT_REPLICAS: a change is acknowledged only once the replicas have it. A primary
// with one replica, started for this file; the replica is paused (SIGSTOP) to make WAIT time out.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRedisStore, type RedisStore } from '../../src/store/redis.ts';
import { StoreNotReplicatedError, StoreUnavailableError } from '../../src/store/store.ts';
import { Browser, hiddenInput } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { KIT_KEY } from '../helpers/gateway.ts';
import { freePort, launch, requireBinary, startRedis, terminate, type RedisServer } from '../helpers/redis-server.ts';
import { redisCli, waitForReplicas } from '../helpers/redis-topologies.ts';

const needRedis = requireBinary('redis-cli', 'apt-get install -y redis-server');

describe('BRIDGE_REDIS_WAIT_REPLICAS=1 on a primary with one replica', needRedis, () => {
  let primary: RedisServer | null = null;
  let replica: ChildProcess | undefined;
  let replicaPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'bridge-replica-'));
  let store: RedisStore;
  let env: LoginEnv;

  before(async () => {
    primary = await startRedis();
    assert.ok(primary);
    replicaPort = await freePort();
    replica = await launch(['--port', String(replicaPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--replicaof', '127.0.0.1', String(primary.port)], replicaPort);
    await waitForReplicas(primary.port, 1);
    store = await openRedisStore(primary.url, { keyPrefix: 'wait:', waitReplicas: 1, waitTimeoutMs: 300 });
    env = await startLoginEnv(store);
    await env.addTenant('t-acme', 'acme', [{ userName: 'zhangsan', name: '张三' }]);
  });
  after(async () => {
    replica?.kill('SIGCONT');
    await env?.close();
    await store?.close();
    if (replica) await terminate(replica);
    await primary?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function tenantSync(tenantId: string, timeStamp: string) {
    const body = JSON.stringify({ instanceId: 'i', tenantId, tenantCode: tenantId, name: 'n', domainName: 'https://x.example.com', flag: 1, testFlag: 0, timeStamp });
    const { signedHeaders } = await import('../helpers/gateway.ts');
    const res = await fetch(`${env.base}/produceAPI/v2/tenantSync`, { method: 'POST', headers: signedHeaders(body), body });
    return (await res.json()) as { resultCode: string; resultMsg: string };
  }

  async function signIn(b: Browser) {
    const toForm = await b.follow(`${env.base}/login?tenant=acme`);
    const form = toForm.at(-1)!;
    const cont = hiddenInput(form.body, 'continue');
    assert.ok(cont, `expected the OneAccess form, got ${form.status}`);
    return { origin: new URL(form.url).origin, cont };
  }

  it('with the replica in sync, a change is acknowledged and the replica already has it', async () => {
    await store.putTemp('k', 'v', 60_000);
    assert.equal(await redisCli(replicaPort, 'GET', 'wait:temp:k'), 'v');
    assert.deepEqual(await store.write([{ col: 'tenants', id: 'w-1', version: '1', value: '"x"' }]), [true]);
    assert.equal(await redisCli(replicaPort, 'HGET', 'wait:doc:tenants', 'w-1'), JSON.stringify({ v: '1', val: '"x"' }));
    assert.equal((await tenantSync('t-ok', '20260101000000001')).resultCode, '000000');
  });

  it('start-up warnings: none about replicas while one is connected; appendonly no is named', async () => {
    const warnings = await store.durabilityWarnings();
    assert.ok(!warnings.some((w) => /replica/.test(w) && /WAIT_REPLICAS=1/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /appendonly no/.test(w)), warnings.join('\n'));
  });

  it('min-replicas-to-write above the connected replicas: a start-up warning, and the primary refuses changes ("retry")', async () => {
    await redisCli(primary!.port, 'CONFIG', 'SET', 'min-replicas-to-write', '2');
    try {
      const warnings = await store.durabilityWarnings();
      assert.ok(warnings.some((w) => /min-replicas-to-write 2 but 1 connected replica\(s\): it refuses every write/.test(w)), warnings.join('\n'));
      await assert.rejects(store.putTemp('k-min', 'v', 60_000), (e: Error) => e instanceof StoreUnavailableError && /NOREPLICAS/.test(e.message));
    } finally {
      await redisCli(primary!.port, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
    }
    assert.ok(!(await store.durabilityWarnings()).some((w) => /min-replicas/.test(w)), 'positive control: min-replicas-to-write 0 is not named');
  });

  it('a sign-in that reached OneAccess before the replica stalled gets the retry page and no session cookie', async () => {
    const b = new Browser();
    const { origin, cont } = await signIn(b);
    replica!.kill('SIGSTOP');
    try {
      const hops = await b.submit(`${origin}/sandbox/login`, { userName: 'zhangsan', continue: cont });
      const last = hops.at(-1)!;
      assert.equal(last.status, 503, `${last.url}: ${last.body.slice(0, 200)}`);
      assert.match(last.body, /try again/i);
      assert.equal(b.cookie(env.base, 'bridge.sid'), undefined);
    } finally {
      replica!.kill('SIGCONT');
    }
  });

  it('the replica stalled: changes reject with StoreNotReplicatedError and a sync answers 000005', async () => {
    replica!.kill('SIGSTOP');
    try {
      const started = Date.now();
      await assert.rejects(store.write([{ col: 'tenants', id: 'w-2', version: '1', value: '"y"' }]), StoreNotReplicatedError);
      await assert.rejects(store.putTemp('k2', 'v', 60_000), StoreNotReplicatedError);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      const reply = await tenantSync('t-stalled', '20260101000000002');
      assert.equal(reply.resultCode, '000005');
      assert.match(reply.resultMsg, /replicas did not confirm/);
      // reads still work: only acknowledgements wait for the replica
      assert.equal(await store.getTemp('k'), 'v');
    } finally {
      replica!.kill('SIGCONT');
    }
  });

  it('the replica back: the marketplace retry is acknowledged, and a sign-in succeeds', async () => {
    let reply = { resultCode: '' };
    for (let i = 0; i < 20 && reply.resultCode !== '000000'; i++) {
      reply = await tenantSync('t-stalled', '20260101000000002');
      if (reply.resultCode !== '000000') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(reply.resultCode, '000000');
    const b = new Browser();
    const { origin, cont } = await signIn(b);
    const hops = await b.submit(`${origin}/sandbox/login`, { userName: 'zhangsan', continue: cont });
    assert.equal(hops.find((h) => h.url.includes('/oauth/callback'))?.status, 303);
    assert.ok(b.cookie(env.base, 'bridge.sid'));
  });
});

describe('BRIDGE_REDIS_WAIT_REPLICAS without replicas', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  it('start-up warns that every change will time out; a change is refused, not acknowledged', async () => {
    const store = await openRedisStore(redis!.url, { keyPrefix: 'alone:', waitReplicas: 1, waitTimeoutMs: 50 });
    try {
      const warnings = await store.durabilityWarnings();
      assert.ok(warnings.some((w) => /WAIT_REPLICAS=1 but a primary has 0 connected replica/.test(w)), warnings.join('\n'));
      await assert.rejects(store.putTemp('k', 'v', 1000), StoreNotReplicatedError);
    } finally {
      await store.close();
    }
  });

  async function startMain(env: Record<string, string>): Promise<{ code: number | null; out: string; port: number; child: ChildProcess }> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: String(port), BRIDGE_STORE: redis!.url, BRIDGE_KIT_ACCESS_KEY: KIT_KEY, BRIDGE_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const state = { code: null as number | null, out: '', port, child };
    child.stdout!.on('data', (d: Buffer) => (state.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (state.out += d.toString()));
    child.on('exit', (code) => (state.code = code));
    return state;
  }

  it('the process: with WAIT 1 and no replica it warns, then stops with exit code 1 (it cannot keep its secrets)', async () => {
    const p = await startMain({ BRIDGE_REDIS_WAIT_REPLICAS: '1' });
    const code = await new Promise<number | null>((resolve) => p.child.on('exit', resolve));
    assert.equal(code, 1, p.out.slice(-1500));
    assert.match(p.out, /BRIDGE_REDIS_WAIT_REPLICAS=1 but a primary has 0 connected replica/);
    assert.match(p.out, /cannot keep the gateway secrets in the store/);
  });

  it('the process: with WAIT 0 it starts and warns about appendonly no', async () => {
    const p = await startMain({});
    try {
      for (let i = 0; i < 200 && !/oneaccess-bridge is listening/.test(p.out) && p.code === null; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await fetch(`http://127.0.0.1:${p.port}/readyz`)).status, 200, p.out.slice(-1500));
      assert.match(p.out, /appendonly no/);
    } finally {
      await terminate(p.child);
    }
  });

  it('with N=0 on one server: only the persistence warning', async () => {
    const store = await openRedisStore(redis!.url, { keyPrefix: 'alone:' });
    try {
      assert.deepEqual(await store.durabilityWarnings(), ['a primary runs with appendonly no: an acknowledged change is lost when it restarts']);
    } finally {
      await store.close();
    }
  });
});

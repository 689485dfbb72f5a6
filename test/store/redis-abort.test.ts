// What a Redis store call whose deadline passed still does afterwards, on a real redis-server
// held with CLIENT PAUSE WRITE (src/store/redis.ts, run()):
// * a command node-redis has not sent yet is dropped (the call's AbortSignal), and so are the
//   later chunks and the script of a staged write: a big write answered "retry" never lands;
// * a command already written cannot be recalled: Redis carries it out once the pause ends. Such a
//   change is harmless because what the gateway writes is versioned (a push's retry, or the late
//   original, leaves the same state; an older one changes nothing) — checked here on the directory.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory, type UserChange } from '../../src/directory/directory.ts';
import { col } from '../../src/directory/model.ts';
import { openRedisStore, type RedisStore } from '../../src/store/redis.ts';
import type { RedisLink } from '../../src/store/redis-link.ts';
import { StoreUnavailableError, type DocWrite } from '../../src/store/store.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { redisCli } from '../helpers/redis-topologies.ts';

const needRedis = requireBinary('redis-cli', 'apt-get install -y redis-server');

describe('Redis store: a call past its deadline', needRedis, () => {
  let redis: RedisServer | null = null;
  let store: RedisStore;

  before(async () => {
    redis = await startRedis();
    assert.ok(redis);
    store = await openRedisStore(redis.url, { keyPrefix: 'abort:', commandTimeoutMs: 300 });
  });
  after(async () => {
    if (redis) await redisCli(redis.port, 'CLIENT', 'UNPAUSE').catch(() => undefined);
    await store?.close();
    await redis?.stop();
  });

  /** holds every write command of every client until unpause() (reads go on) */
  const pause = () => redisCli(redis!.port, 'CLIENT', 'PAUSE', '10000', 'WRITE');
  const unpause = () => redisCli(redis!.port, 'CLIENT', 'UNPAUSE');

  async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await sleep(20);
    }
    assert.fail(`${what} did not happen`);
  }

  it('drops a command not yet sent when its signal aborts: it never reaches Redis', async () => {
    const link = (store as unknown as { link: RedisLink }).link;
    const abort = new AbortController();
    // node-redis writes its queue on the next turn of the event loop: the abort comes first
    const sent = link.bound(abort.signal).set('abort:temp:dropped', 'x');
    abort.abort();
    await assert.rejects(sent, /aborted/);
    await sleep(50);
    assert.equal(await store.getTemp('dropped'), null);
  });

  it('never applies a staged write whose deadline passed half way: the chunks not yet sent and the script stay unsent', async () => {
    const writes: DocWrite[] = Array.from({ length: 10_000 }, (_, i) => ({ col: 'big', id: `d${i}`, version: '20260101000000000', value: JSON.stringify({ i }) }));
    await pause();
    try {
      await assert.rejects(store.write(writes), StoreUnavailableError);
    } finally {
      await unpause();
    }
    // what was sent before the deadline runs now: a staging list (with its expiry), never the script
    const stages = async () => (await redisCli(redis!.port, '--scan', '--pattern', 'abort:stage:*')).split('\n').filter(Boolean);
    await eventually('the sent chunks ran', async () => (await stages()).length === 1);
    await sleep(300); // room for anything sent later to arrive: nothing may
    const [stage] = await stages();
    assert.ok(Number(await redisCli(redis!.port, 'PTTL', stage!)) > 0, 'the staging list expires');
    assert.ok(Number(await redisCli(redis!.port, 'LLEN', stage!)) < writes.length * 5, 'only some chunks were sent');
    assert.equal((await store.listDocs('big')).length, 0);
  });

  it('carries out a command that was already sent when its deadline passed (it cannot be recalled)', async () => {
    await pause();
    try {
      await assert.rejects(store.putTemp('late', 'x', 60_000), StoreUnavailableError);
    } finally {
      await unpause();
    }
    await eventually('the late SET ran', async () => (await store.getTemp('late')) === 'x');
  });

  it('a push written late after its "retry" answer, then retried, leaves what one application leaves; an older one after a newer changes nothing', async () => {
    const directory = new Directory(store, randomBytes(32));
    const users = (names: string[], name = (u: string) => `name of ${u}`): UserChange[] =>
      names.map((userName) => ({ op: 'upsert', user: { userName, name: name(userName), orgCode: 'd1', role: 'user', enabled: true } }));
    const detail = { interface: 'authSync' };
    const v1 = '20260101000000001';
    const v2 = '20260101000000002';
    const snapshot = async () => (await store.listDocs(col.user('prod', 't-late'))).sort((a, b) => a.id.localeCompare(b.id));
    // the write script is loaded by an earlier write, as on a gateway that has run a while (a
    // first EVALSHA answered NOSCRIPT after the deadline is not followed by its EVAL: dropped)
    await directory.applyUsers('prod', 't-other', 'app-1', v1, users(['u0']), detail);

    // the push's write reaches Redis, but not its answer in time: the push is answered 000005
    await pause();
    try {
      await assert.rejects(directory.applyUsers('prod', 't-late', 'app-1', v1, users(['u1', 'u2', 'u3']), detail), StoreUnavailableError);
    } finally {
      await unpause();
    }
    await eventually('the late write ran', async () => (await snapshot()).length === 3);
    const once = await snapshot();

    // the marketplace retries the same push: applied again, to the same state
    const retry = await directory.applyUsers('prod', 't-late', 'app-1', v1, users(['u1', 'u2', 'u3']), detail);
    assert.equal(retry.applied, 3);
    assert.deepEqual(await snapshot(), once);

    // a newer push, then the old one once more (a retry arriving late): the newer data stays
    await directory.applyUsers('prod', 't-late', 'app-1', v2, users(['u1'], () => 'renamed'), detail);
    const stale = await directory.applyUsers('prod', 't-late', 'app-1', v1, users(['u1', 'u2', 'u3']), detail);
    assert.equal(stale.stale, 1);
    const after = await snapshot();
    assert.equal((JSON.parse(after[0]!.value!) as { name: string }).name, 'renamed');
    assert.deepEqual(after.slice(1), once.slice(1));
  });

  it('an allOrgSync answered "retry" half way is not applied; its retry applies it whole, and once more changes nothing', async () => {
    const directory = new Directory(store, randomBytes(32));
    const orgs = (v: string) => Array.from({ length: 600 }, (_, i) => ({ tenantId: 't-orgs', orgCode: `d${i}`, orgName: `部门${i}`, parentCode: i ? 'd0' : '', version: v }));
    const v1 = '20260101000000001';
    const snapshot = async () => (await store.listDocs(col.org('prod', 't-orgs'))).sort((a, b) => a.id.localeCompare(b.id));
    await directory.replaceOrgs('prod', 't-orgs', orgs('20260101000000000').concat([{ tenantId: 't-orgs', orgCode: 'gone', orgName: 'old', parentCode: '', version: '20260101000000000' }]), '20260101000000000', {});
    await pause();
    let answeredRetry = false;
    try {
      await directory.replaceOrgs('prod', 't-orgs', orgs(v1), v1, {});
    } catch (e) {
      assert.ok(e instanceof StoreUnavailableError);
      answeredRetry = true;
    } finally {
      await unpause();
    }
    assert.ok(answeredRetry, 'the paused write was answered "retry"');
    assert.equal((await snapshot()).find((d) => d.id === 'gone')?.value !== null, true, 'nothing of it landed');
    // the marketplace's retry applies it whole; a second retry leaves the same
    await directory.replaceOrgs('prod', 't-orgs', orgs(v1), v1, {});
    const once = await snapshot();
    assert.equal(once.filter((d) => d.value !== null).length, 600);
    assert.equal(once.find((d) => d.id === 'gone')?.value, null);
    await directory.replaceOrgs('prod', 't-orgs', orgs(v1), v1, {});
    assert.deepEqual(await snapshot(), once);
  });
});

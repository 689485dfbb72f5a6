import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { describeStore, openStore } from '../../src/store/index.ts';
import { openRedisStore, type RedisStore } from '../../src/store/redis.ts';
import { StoreUnavailableError } from '../../src/store/store.ts';
import { freePort, requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { storeConformance, waitFor } from './conformance.ts';

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('redis', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  // one server, a fresh key prefix per test
  storeConformance('redis', async () => {
    assert.ok(redis);
    const store = await openRedisStore(redis.url, { keyPrefix: `test:${randomUUID()}:` });
    return { store, cleanup: () => store.close() };
  });

  it('openStore opens a redis:// URL with the given options', async () => {
    assert.ok(redis);
    const store = await openStore(redis.url, { redis: { keyPrefix: 'spec:' } });
    try {
      assert.equal(store.kind, 'redis');
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it('keeps the documented key layout under its prefix', async () => {
    assert.ok(redis);
    const store = await openRedisStore(redis.url, { keyPrefix: 'layout:' });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      await store.putTemp('k', 'v', 10_000);
      await store.write([{ col: 'tenants', id: 't-1', version: '1', value: '"x"' }]);
      assert.equal(await raw.get('layout:temp:k'), 'v');
      assert.equal(await raw.hGet('layout:doc:tenants', 't-1'), JSON.stringify({ v: '1', val: '"x"' }));
      assert.equal(await raw.xLen('layout:audit'), 0);
    } finally {
      raw.destroy();
      await store.close();
    }
  });

  it('keeps a set as a small hash (listpack): a one-member index costs well under a Redis set', async () => {
    assert.ok(redis);
    const prefix = `sets:${randomUUID()}:`;
    const store = await openRedisStore(redis.url, { keyPrefix: prefix });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const member = 'Xy3fG5hJ8kL0mN2pQ4rS6tU8vW0xY2zA';
      await store.addMember('idx:user:prod:t-corp000:user000000', member, 60_000);
      const key = `${prefix}set:idx:user:prod:t-corp000:user000000`;
      assert.equal(await raw.type(key), 'hash');
      assert.equal(await raw.objectEncoding(key), 'listpack');
      assert.deepEqual(await raw.hKeys(key), [member]);
      const ttl = await raw.pTTL(key);
      assert.ok(ttl > 50_000 && ttl <= 60_000, `ttl ${ttl}`);
      // the same member as a Redis set, for comparison (what earlier versions wrote)
      await raw.sAdd(`${key}:as-set`, member);
      await raw.pExpire(`${key}:as-set`, 60_000);
      const asHash = Number(await raw.memoryUsage(key));
      const asSet = Number(await raw.memoryUsage(`${key}:as-set`));
      assert.ok(asHash + 80 <= asSet, `hash ${asHash} B, set ${asSet} B`);
    } finally {
      raw.destroy();
      await store.close();
    }
  });

  it('still reads, adds to and removes from a set an earlier version wrote as a Redis set', async () => {
    assert.ok(redis);
    const prefix = `legacy:${randomUUID()}:`;
    const store = await openRedisStore(redis.url, { keyPrefix: prefix });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const key = `${prefix}set:idx:tenant:prod:t-1`;
      await raw.sAdd(key, ['sid-1', 'sid-2']);
      await raw.pExpire(key, 60_000);
      assert.deepEqual((await store.members('idx:tenant:prod:t-1')).sort(), ['sid-1', 'sid-2']);
      await store.addMember('idx:tenant:prod:t-1', 'sid-3', 120_000);
      assert.equal(await raw.type(key), 'set');
      assert.ok((await raw.pTTL(key)) > 60_000);
      await store.removeMember('idx:tenant:prod:t-1', 'sid-1');
      assert.deepEqual((await store.members('idx:tenant:prod:t-1')).sort(), ['sid-2', 'sid-3']);
      await store.removeMember('idx:tenant:prod:t-1', 'sid-2');
      await store.removeMember('idx:tenant:prod:t-1', 'sid-3');
      assert.equal(await raw.exists(key), 0);
      assert.deepEqual(await store.members('idx:tenant:prod:t-1'), []);
    } finally {
      raw.destroy();
      await store.close();
    }
  });

  it('a big write that fails half way through staging leaves no staging list without an expiry', async () => {
    assert.ok(redis);
    const prefix = `stage:${randomUUID()}:`;
    const raw = createClient({ url: redis.url });
    await raw.connect();
    // a connection that may push but not expire: the RPUSH of the first chunk lands, what should
    // follow it does not (as when the connection drops or the primary fails over right after it)
    const user = `stager-${randomUUID()}`;
    await raw.sendCommand(['ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-pexpire']);
    const url = new URL(redis.url);
    url.username = user;
    url.password = 'pw';
    const store = await openRedisStore(url.toString(), { keyPrefix: prefix });
    try {
      const writes = Array.from({ length: 600 }, (_, i) => ({ col: 'users', id: `u-${i}`, version: '1', value: JSON.stringify({ i }) }));
      await assert.rejects(store.write(writes));
      const left = await raw.keys(`${prefix}stage:*`);
      for (const key of left) assert.ok((await raw.pTTL(key)) > 0, `${key} has no expiry: it would stay for good`);
      assert.equal(await raw.hLen(`${prefix}doc:users`), 0);
    } finally {
      await store.close();
      await raw.sendCommand(['ACL', 'DELUSER', user]);
      raw.destroy();
    }
  });
});

it('describeStore hides the password of a redis URL', () => {
  assert.equal(describeStore('redis://user:s3cr:et@cache:6379/0'), 'redis://user:***@cache:6379/0');
  assert.equal(describeStore('rediss://:pw@cache'), 'rediss://:***@cache');
  assert.equal(describeStore('redis://cache:6379'), 'redis://cache:6379');
  assert.equal(describeStore('embedded:./data'), 'embedded:./data');
});

describe('redis outage', needRedis, () => {
  let redis: RedisServer | null = null;
  let store: RedisStore;
  before(async () => {
    redis = await startRedis({ appendonly: true });
    assert.ok(redis);
    store = await openRedisStore(redis.url, { commandTimeoutMs: 1000, connectTimeoutMs: 1000 });
  });
  after(async () => {
    await store?.close();
    await redis?.stop();
  });

  /** Asserts that `call` rejects with StoreUnavailableError, and quickly. */
  async function fastUnavailable(call: () => Promise<unknown>): Promise<void> {
    const started = Date.now();
    await assert.rejects(call(), StoreUnavailableError);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  }

  it('fails fast while Redis is down and recovers by itself when it is back', async () => {
    assert.ok(redis);
    const received: string[] = [];
    await store.subscribe('news', (m) => received.push(m));
    await store.write([{ col: 'tenants', id: 't-1', version: '1', value: '"before"' }]);

    redis.kill();
    await fastUnavailable(() => store.write([{ col: 'tenants', id: 't-2', version: '1', value: '"during"' }]));
    await fastUnavailable(() => store.getDoc('tenants', 't-1'));
    await fastUnavailable(() => store.putTemp('k', 'v', 10_000));
    await fastUnavailable(() => store.ping());

    await redis.restart();
    await waitFor('the store to reconnect', () => store.ping().then(() => true, () => false), 5000);
    assert.deepEqual(await store.write([{ col: 'tenants', id: 't-3', version: '1', value: '"after"' }]), [true]);
    assert.equal((await store.getDoc('tenants', 't-3'))?.value, '"after"');
    assert.equal(await store.putTemp('k', 'v', 10_000), true);
    // the subscriber connection reconnects and resubscribes too
    await waitFor('a message after the restart', async () => {
      await store.publish('news', 'back');
      return received.length > 0;
    });
    assert.equal(received[0], 'back');
  });

  it('opening against a closed port fails fast with StoreUnavailableError', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(openRedisStore(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 500 }), StoreUnavailableError);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });
});

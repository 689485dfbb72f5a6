import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeStore, openStore } from '../../src/store/index.ts';
import { parseRedisSpec, RedisSpecError } from '../../src/store/redis-url.ts';

it('a redis:// URL is left to node-redis', () => {
  assert.deepEqual(parseRedisSpec('redis://u:p@cache:6379/2'), { topology: 'single', url: 'redis://u:p@cache:6379/2' });
  assert.equal(parseRedisSpec('rediss://cache').topology, 'single');
});

it('redis-sentinel:// lists sentinels, the master name and an optional database', () => {
  assert.deepEqual(parseRedisSpec('redis-sentinel://s1:26379,s2:26380,[::1]:26381/mymaster'), {
    topology: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
      { host: '::1', port: 26381 },
    ],
    masterName: 'mymaster',
    database: 0,
  });
  assert.deepEqual(parseRedisSpec('redis-sentinel://app:p%40ss@w@s1:26379/main/4'), {
    topology: 'sentinel',
    sentinels: [{ host: 's1', port: 26379 }],
    masterName: 'main',
    database: 4,
    username: 'app',
    password: 'p@ss@w',
  });
  assert.equal((parseRedisSpec('redis-sentinel://:secret@s1:26379/main') as { password?: string }).password, 'secret');
});

it('redis-cluster:// lists seed nodes and takes no path', () => {
  assert.deepEqual(parseRedisSpec('redis-cluster://u:pw@10.0.0.1:7000,10.0.0.2:7001'), {
    topology: 'cluster',
    nodes: [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ],
    username: 'u',
    password: 'pw',
  });
  assert.equal(parseRedisSpec('redis-cluster://n:7000/').topology, 'cluster');
});

it('bad specs get a clear error that never shows the password', () => {
  const bad = [
    'redis-sentinel://s1:26379',
    'redis-sentinel://s1:26379/',
    'redis-sentinel://s1:26379/m/x',
    'redis-sentinel://s1:26379/m/1/2',
    'redis-sentinel://s1/m',
    'redis-sentinel://hunter2@s1:99999/m',
    'redis-cluster://u:hunter2@n1:7000/1',
    'redis-cluster://u:hunter2@',
    'redis-cluster://u:%zz@n1:7000',
    'redis-cluster://n1:7000,,n2:7001',
  ];
  for (const spec of bad) {
    assert.throws(() => parseRedisSpec(spec), (e: unknown) => e instanceof RedisSpecError && !e.message.includes('hunter2'), spec);
  }
});

it('openStore refuses a bad Redis spec before connecting', async () => {
  await assert.rejects(openStore('redis-cluster://nohost'), RedisSpecError);
});

it('describeStore hides the password of sentinel and cluster specs', () => {
  assert.equal(describeStore('redis-sentinel://u:s3cr@t@s1:26379,s2:26379/main'), 'redis-sentinel://u:***@s1:26379,s2:26379/main');
  assert.equal(describeStore('redis-cluster://:pw@n1:7000'), 'redis-cluster://:***@n1:7000');
});

import { after, before, describe } from 'node:test';
import { randomUUID } from 'node:crypto';
import { openRedisStore } from '../../src/store/redis.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { loginSuite } from './login-suite.ts';

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('sign-in on redis', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  loginSuite('redis', async () => {
    const store = await openRedisStore(redis!.url, { keyPrefix: `login:${randomUUID()}:` });
    return { store, cleanup: () => store.close() };
  });
});

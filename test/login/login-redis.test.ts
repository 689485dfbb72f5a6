import { after, before, describe } from 'node:test';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore } from '../helpers/stores.ts';
import { loginSuite } from './login-suite.ts';

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('sign-in on redis', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  loginSuite('redis', () => prefixedRedisStore(redis, 'login'));
});

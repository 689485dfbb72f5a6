// Two gateway instances sharing one Redis (the same key prefix): the first with the OneAccess
// sandbox and the marketplace (startLoginEnv), the second a bare gateway on its own port. For
// tests of what one instance's change does on the other.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { openRedisStore } from '../../src/store/redis.ts';
import { buildGateway } from './gateway.ts';
import { startLoginEnv, type LoginEnv } from './login-env.ts';
import { freePort } from './redis-server.ts';

export interface TwoInstances {
  env: LoginEnv;
  /** the first instance's base URL, then the second's */
  bases: [string, string];
  close(): Promise<void>;
}

export async function twoInstancesOnRedis(redisUrl: string, name: string, settings: Record<string, unknown>): Promise<TwoInstances> {
  const prefix = `${name}:${randomUUID()}:`;
  const storeA = await openRedisStore(redisUrl, { keyPrefix: prefix, commandTimeoutMs: 1000 });
  const storeB = await openRedisStore(redisUrl, { keyPrefix: prefix, commandTimeoutMs: 1000 });
  const env = await startLoginEnv(storeA, settings);
  const port = await freePort();
  const second = await buildGateway(storeB, { publicUrl: env.base, port, ...settings });
  const server: Server = createServer(second.listener);
  server.on('upgrade', (req, socket, head) => second.upgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    env,
    bases: [env.base, `http://127.0.0.1:${port}`],
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await second.close();
      await storeB.close();
      await env.close();
      await storeA.close();
    },
  };
}

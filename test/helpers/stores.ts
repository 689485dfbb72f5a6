// Stores for suites that run on every adapter: a fresh embedded directory, a fresh Redis prefix.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import type { Store } from '../../src/store/store.ts';
import type { RedisServer } from './redis-server.ts';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

export function tempEmbeddedStore(label = 'bridge'): OpenedStore {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  const store = openEmbeddedStore(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function prefixedRedisStore(redis: RedisServer | null, label: string): Promise<OpenedStore> {
  if (!redis) throw new Error('redis-server did not start');
  const store = await openRedisStore(redis.url, { keyPrefix: `${label}:${randomUUID()}:` });
  return { store, cleanup: () => store.close() };
}

// Stores for suites that run on every adapter: a fresh embedded directory, a fresh Redis prefix.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { openRedisStore, type RedisStoreOptions } from '../../src/store/redis.ts';
import type { Store } from '../../src/store/store.ts';

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

/** `redis`: a single server, a Cluster or a Sentinel set from the test helpers (their url is the store spec) */
export async function prefixedRedisStore(redis: { url: string } | null, label: string, opts: RedisStoreOptions = {}): Promise<OpenedStore> {
  if (!redis) throw new Error('redis-server did not start');
  const store = await openRedisStore(redis.url, { keyPrefix: `${label}:${randomUUID()}:`, ...opts });
  return { store, cleanup: () => store.close() };
}

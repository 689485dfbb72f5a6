// Picks the store adapter from one configuration string.
import { resolve } from 'node:path';
import { openEmbeddedStore } from './embedded.ts';
import { MemoryStore } from './memory.ts';
import { openRedisStore, type RedisStoreOptions } from './redis.ts';
import { isRedisSpec } from './redis-url.ts';
import type { Store } from './store.ts';

const SPEC_HELP = 'expected "memory", "embedded:<dir>", a redis:// / rediss:// URL, redis-sentinel://host:port,…/<masterName>[/<db>] or redis-cluster://host:port,…';

/**
 * `memory` | `embedded:<dir>` (relative to the working directory) | `redis://…` | `rediss://…` |
 * `redis-sentinel://…` | `redis-cluster://…`.
 * Rejects with StoreUnavailableError when the backend cannot be reached, Error when the spec is wrong.
 */
export async function openStore(spec: string, opts: { redis?: RedisStoreOptions } = {}): Promise<Store> {
  if (spec === 'memory') return new MemoryStore();
  if (spec.startsWith('embedded:')) {
    const dir = spec.slice('embedded:'.length);
    if (!dir) throw new Error(`store "${spec}" has no directory: ${SPEC_HELP}`);
    return openEmbeddedStore(resolve(dir));
  }
  if (isRedisSpec(spec)) return openRedisStore(spec, opts.redis);
  throw new Error(`unknown store "${describeStore(spec)}": ${SPEC_HELP}`);
}

/** The spec with a redis password replaced by `***`, for logs. */
export function describeStore(spec: string): string {
  // A regex, not URL parsing, so that specs too broken to parse are masked too; it masks up to the
  // last "@", erring on the side of hiding too much.
  return spec.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:).*@/is, '$1***@');
}

// Secrets the gateway needs before it serves: the session secret (configured, or generated once
// and kept in the store for development) and the key behind stable account ids (always kept in
// the store, so `sub` never changes when the session secret is rotated); and the check of the
// client-secret key that runs with the settings' own (loadSettings' `checks`).
import { randomBytes } from 'node:crypto';
import type { Store } from './store/store.ts';
import { keysOf, keyspace } from './store/keyspace.ts';
import type { ConfigProblem, SettingsCheck } from './config/load.ts';
import { loadClientSecretKey } from './marketplace/client-secret.ts';

/** a client-secret key that does not load is a settings problem, listed with all the others */
export const clientSecretKeyCheck: SettingsCheck = (settings): ConfigProblem[] => {
  const marketplace = (settings as { marketplace?: unknown }).marketplace;
  const text = typeof marketplace === 'object' && marketplace !== null ? (marketplace as { clientSecretKey?: unknown }).clientSecretKey : undefined;
  if (typeof text !== 'string' || text.trim() === '') return [];
  try {
    loadClientSecretKey(text);
    return [];
  } catch (e) {
    return [{ path: 'marketplace.clientSecretKey', value: '(secret, hidden)', reason: (e as Error).message }];
  }
};

async function persistedSecret(store: Store, id: string): Promise<string> {
  // read first: a restart writes nothing (on Redis with BRIDGE_REDIS_WAIT_REPLICAS a write would
  // wait for replicas that may still be catching up after a failover)
  const docs = keysOf(store);
  let doc = await docs.getDoc(keyspace.bootSecrets, id);
  if (!doc?.value) {
    const fresh = randomBytes(32).toString('base64url');
    await store.write([keyspace.bootSecrets.write(id, '0', { secret: fresh }, 'absent')]);
    doc = await docs.getDoc(keyspace.bootSecrets, id);
  }
  if (!doc?.value) throw new Error(`could not keep the ${id} in the store`);
  return doc.value.secret;
}

export interface BootSecrets {
  sessionSecret: string;
  accountKey: Buffer;
}

export async function loadSecrets(store: Store, configuredSessionSecret: string): Promise<BootSecrets> {
  const sessionSecret = configuredSessionSecret || (await persistedSecret(store, 'session-secret'));
  const accountKey = Buffer.from(await persistedSecret(store, 'account-id-key'), 'base64url');
  return { sessionSecret, accountKey };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { tempEmbeddedStore } from '../helpers/stores.ts';
import { syncSuite } from './sync-suite.ts';

syncSuite(
  'embedded',
  async () => tempEmbeddedStore('bridge-sync'),
  // the store goes away: closed (as at shutdown) while a big write is being handed to its writer thread
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-sync-outage-'));
    const store = openEmbeddedStore(dir);
    return {
      store,
      breakNow: () => void store.close(),
      reopen: async () => openEmbeddedStore(dir),
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
);

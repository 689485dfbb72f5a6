import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { syncSuite } from './sync-suite.ts';

syncSuite('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-sync-'));
  const store = openEmbeddedStore(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

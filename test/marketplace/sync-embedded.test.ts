import { tempEmbeddedStore } from '../helpers/stores.ts';
import { syncSuite } from './sync-suite.ts';

syncSuite('embedded', async () => tempEmbeddedStore('bridge-sync'));

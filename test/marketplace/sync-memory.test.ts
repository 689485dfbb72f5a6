import { MemoryStore } from '../../src/store/memory.ts';
import { syncSuite } from './sync-suite.ts';

syncSuite('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

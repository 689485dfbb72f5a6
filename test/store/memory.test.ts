import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { storeConformance } from './conformance.ts';

storeConformance('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

describe('openStore', () => {
  it('opens a memory store for "memory"', async () => {
    const store = await openStore('memory');
    assert.equal(store.kind, 'memory');
    await store.close();
  });

  it('rejects unknown specs with a clear message that hides passwords', async () => {
    await assert.rejects(openStore('postgres://u:secret@db/x'), (err: Error) => {
      assert.match(err.message, /unknown store "postgres:\/\/u:\*\*\*@db\/x": expected "memory", "embedded:<dir>"/);
      return true;
    });
    await assert.rejects(openStore('embedded:'), /has no directory/);
    await assert.rejects(openStore(''), /unknown store/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BoundedMap } from '../../src/web/bounded-map.ts';

describe('BoundedMap', () => {
  it('evicts first in, first out, and a key set again starts over', () => {
    const m = new BoundedMap<string, number>(3);
    m.set('a', 1).set('b', 2).set('c', 3);
    m.set('a', 10); // a is now the newest
    m.set('d', 4); // evicts b (set longest ago)
    assert.equal(m.has('b'), false);
    assert.deepEqual([m.get('a'), m.get('c'), m.get('d')], [10, 3, 4]);
    m.set('e', 5); // evicts c
    assert.equal(m.has('c'), false);
    assert.equal(m.size, 3);
  });

  it('a deleted key is gone and its slot is not evicted twice', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1).set('b', 2);
    assert.equal(m.delete('a'), true);
    m.set('c', 3); // takes a's slot: nothing live there
    assert.deepEqual([m.get('b'), m.get('c'), m.size], [2, 3, 2]);
    m.clear();
    assert.deepEqual([m.size, m.get('b')], [0, undefined]);
  });

  it('never holds more than max entries, and holds every key among the last max sets that was not deleted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 12 })), { maxLength: 200 }),
        (max, ops) => {
          const m = new BoundedMap<number, number>(max);
          const sets: number[] = []; // the key of each set, in order
          const deletedAt = new Map<number, number>(); // key -> number of sets before its last delete
          ops.forEach(([isSet, k], i) => {
            if (isSet) {
              m.set(k, i);
              sets.push(k);
            } else {
              m.delete(k);
              deletedAt.set(k, sets.length);
            }
            assert.ok(m.size <= max);
          });
          // each key whose last set is among the last `max` sets, and not deleted after it, is there with that set's value
          const recent = sets.slice(-max);
          for (let j = 0; j < recent.length; j++) {
            const k = recent[j]!;
            const at = sets.length - recent.length + j;
            if (sets.lastIndexOf(k) !== at) continue;
            if ((deletedAt.get(k) ?? -1) > at) assert.equal(m.has(k), false);
            else assert.equal(m.has(k), true, `key ${k} set ${sets.length - at} sets ago (max ${max})`);
          }
          // and nothing older than that
          for (const k of new Set(sets)) if (sets.lastIndexOf(k) < sets.length - max) assert.equal(m.has(k), false, `key ${k} is older than ${max} sets`);
        },
      ),
    );
  });
});

// compact(): the members a claim set or profile keeps. A property test against the obvious
// definition (entries, filtered, back to an object), which the loop replaced for speed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compact } from '../../src/identity/identity.ts';

const reference = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== ''));

describe('compact', () => {
  it('drops undefined, null and empty strings, keeps everything else (0, false, nested objects) in order', () => {
    assert.deepEqual(compact({ a: 'x', b: undefined, c: null, d: '', e: 0, f: false, g: { h: '' } }), { a: 'x', e: 0, f: false, g: { h: '' } });
    assert.deepEqual(Object.keys(compact({ z: 1, a: 2, m: '' })), ['z', 'a']);
    const tricky = JSON.parse('{"__proto__": {"polluted": true}, "a": "x"}') as object;
    const kept = compact(tricky);
    assert.equal(Object.getPrototypeOf(kept), Object.prototype);
    assert.deepEqual(Object.keys(kept), ['__proto__', 'a']);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  it('is the entries-filter definition on any object', () => {
    const value = fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant(''), fc.string(), fc.integer(), fc.boolean(), fc.object());
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), (o) => {
        const got = compact(o);
        assert.deepEqual(got, reference(o));
        assert.deepEqual(Object.keys(got), Object.keys(reference(o)));
      }),
      { numRuns: 300 },
    );
  });
});

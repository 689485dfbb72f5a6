// The tick anchor (src/ops/tick-anchor.ts): one of Node's own nextTick objects, kept for the
// life of the process, taken without disturbing async hooks enabled later. What it is for (a
// quiet process's nextTick staying in compiled code) is speed, measured in bench/tick-anchor.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { anchorTickObjects } from '../../src/ops/tick-anchor.ts';

describe('tick anchor', () => {
  it("keeps one of Node's own tick objects, the same one on every call", () => {
    const kept = anchorTickObjects();
    assert.ok(kept, 'no tick object was kept');
    const names = Object.getOwnPropertySymbols(kept).map(String);
    assert.ok(names.includes('Symbol(async_id_symbol)') && names.includes('Symbol(trigger_async_id_symbol)'), `not a tick object: ${names.join(', ')}`);
    assert.equal(typeof (kept as { callback?: unknown }).callback, 'function');
    assert.equal(anchorTickObjects(), kept);
  });

  it('an async hook enabled after the anchor sees ticks as usual', async () => {
    anchorTickObjects();
    const seen: string[] = [];
    const hook = createHook({ init: (_id, type) => void seen.push(type) }).enable();
    await new Promise<void>((resolve) => process.nextTick(resolve));
    hook.disable();
    assert.ok(seen.includes('TickObject'), 'a hook enabled after the anchor did not see a tick');
  });
});

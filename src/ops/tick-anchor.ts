// Keeps one of Node's own process.nextTick objects alive for the life of the process, so that V8
// never collects the hidden classes ("maps") that every tick object has.
//
// Why: Node builds each tick object as `{ [async_id_symbol]: …, [trigger_async_id_symbol]: …,
// callback, args }`. V8 defines computed keys in a literal through a feedback slot that knows two
// states only, one map or any map: the first time a different map comes by, the slot goes to
// "any map" for good, and from then on every nextTick of the process defines those keys in the
// V8 runtime (Runtime_DefineKeyedOwnPropertyInLiteral) instead of in compiled code. perf found
// that in gateway processes, never in bare ones, at ~2–4 µs of every forward-auth answer.
// What was observed (/tmp probes of 2026-12-04; bench/tick-anchor.ts repeats them): a gateway
// process that is built and then left quiet can switch to that path 15–25 s in, around when V8's
// memory reducer runs: 4 of 5 such processes did without the anchor, none of 7 under
// `node --no-memory-reducer`, none of 5 with one tick object kept alive; a forced full GC did not
// do it, and a process that switched stayed switched. The explanation that fits: tick
// objects live for a moment and V8 holds their maps only weakly, so a memory-reducing GC with
// none alive collects them, the next tick object gets new ones, and the slot sees a different
// map. A live tick object keeps its map, and the chain of maps back to the literal's first one,
// alive.
//
// The one object comes from an async_hooks init hook enabled around a single nextTick here and
// disabled at once: no hook stays installed.
import { createHook } from 'node:async_hooks';

let anchor: object | undefined;

/** the kept tick object (the same one on every call); undefined only if Node made none */
export function anchorTickObjects(): object | undefined {
  if (anchor) return anchor;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && anchor === undefined) anchor = resource as object;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
  return anchor;
}

function noop(): void {}

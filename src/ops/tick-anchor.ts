// Keeps one of Node's own process.nextTick objects alive for the life of the process, so that V8
// never collects the hidden classes ("maps") that every tick object has.
//
// Why: Node builds each tick object as `{ [async_id_symbol]: …, [trigger_async_id_symbol]: …,
// callback, args }`. V8 defines computed keys in a literal through a feedback slot that knows two
// states only, one map or any map: the first time a different map comes by, the slot goes to
// "any map" for good, and from then on every nextTick of the process defines those keys in the
// V8 runtime (Runtime_DefineKeyedOwnPropertyInLiteral) instead of in compiled code. Tick objects
// live for a moment, and V8 holds their maps only weakly; when a memory-reducing GC runs while
// none is alive (V8's memory reducer does, once a process with a large heap goes quiet for a few
// seconds) the maps are collected, the next tick object gets new ones, and the slot goes to "any
// map". bench/tick-anchor.ts measures it: a gateway process that went quiet for half a minute
// paid ~300–700 ns per nextTick afterwards instead of ~35 (4 of 5 processes without the anchor,
// none of 5 with it; `node --no-memory-reducer` also avoids it), and a forward-auth answer takes
// several nextTicks. A live tick object keeps its map, and with it the chain of maps back to the
// literal's first one, alive, so the slot's map stays the map tick objects get.
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

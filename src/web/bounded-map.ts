// The bounded in-process maps of the request path (session snapshots, decoded records, cookie
// memo, identity tokens, per-session answers). They used to evict with
// `map.delete(map.keys().next().value)`: V8 leaves a deleted entry of a Map as a hole until the
// table is rehashed, and a fresh iterator walks every hole from the front, so under steady
// eviction (every request a new session: 10^5+ sessions drawn uniformly) each eviction walked
// thousands of holes — ~20 µs per eviction at 20,000 entries against ~0.2 µs here
// (bench/RESULTS.md, "Scale"), on every miss, in five maps.
//
// Here the insertion order is a ring of `max` slots: a set takes the next slot, and whatever
// entry still holds that slot (set `max` insertions ago and not set again since) is evicted.
// So the map never holds more than `max` entries, and an entry stays until `max` later sets —
// first in, first out, as before; a key set again starts over. Deleted keys leave their slot
// stale until the ring comes round, so after deletions the map may hold fewer than `max`.

interface Slot<V> {
  value: V;
  slot: number;
}

export class BoundedMap<K, V> {
  private readonly map = new Map<K, Slot<V>>();
  private readonly ring: Array<K | undefined>;
  private next = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`a bounded map needs a positive integer size, not ${max}`);
    this.ring = new Array<K | undefined>(max);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** sets the value and makes it the newest; evicts the entry set `max` insertions ago, if it is still there */
  set(key: K, value: V): this {
    const slot = this.next;
    this.next = slot + 1 === this.max ? 0 : slot + 1;
    const old = this.ring[slot];
    if (old !== undefined && this.map.get(old)?.slot === slot) this.map.delete(old);
    this.ring[slot] = key;
    // delete first: the key's old slot (if any) goes stale, and the Map's own order stays the insertion order
    this.map.delete(key);
    this.map.set(key, { value, slot });
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.ring.fill(undefined);
    this.next = 0;
  }
}

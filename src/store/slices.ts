// Big pushes (thousands of users or departments) turned into store writes without holding the
// event loop: the work is cut into slices with a turn of the loop between them, so requests
// that arrive meanwhile (/auth/verify above all) are answered between two slices.

/** items per slice: a few milliseconds of work (src/directory, src/login, the stores) */
export const SLICE = 500;

/** one turn of the event loop: timers and I/O run before the promise resolves */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `items.map(fn)`, `size` at a time, with a turn of the event loop between slices */
export async function mapInSlices<T, U>(items: readonly T[], fn: (item: T, index: number) => U, size = SLICE): Promise<U[]> {
  const out: U[] = new Array<U>(items.length);
  for (let i = 0; i < items.length; i += size) {
    if (i > 0) await nextTurn();
    const end = Math.min(items.length, i + size);
    for (let j = i; j < end; j++) out[j] = fn(items[j]!, j);
  }
  return out;
}

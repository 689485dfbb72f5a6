// The marketplace's `timeStamp`: 17 digits, yyyyMMddHHmmssSSS in UTC+8 (China Standard Time).
// The directory keeps a record's newest timeStamp and ignores older pushes, so tools that send
// several pushes in one millisecond need them strictly increasing.

/** yyyyMMddHHmmssSSS in UTC+8 for an instant (ms since the epoch) */
export function marketplaceTimeStamp(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}`;
}

/** a clock that never repeats or goes back: each call is at least 1 ms after the previous one */
export function timeStampClock(now: () => number = Date.now): () => string {
  let last = 0;
  return () => {
    last = Math.max(now(), last + 1);
    return marketplaceTimeStamp(last);
  };
}

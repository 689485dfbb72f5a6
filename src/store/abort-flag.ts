// The smallest abort signal the Redis and HTTP clients accept (here, at the bottom of the
// picture, so the store and the login may both use it): they only read `aborted` and
// `reason` and add or remove 'abort' listeners. One plain object per call instead of an
// AbortController and its AbortSignal (an EventTarget), which cost several times a cheap store
// call or upstream request (measured: src/store/redis.ts CallDeadline, bench/RESULTS.md).
export class AbortFlag {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | null = null;

  /** this object, as the AbortSignal a client's options ask for */
  get signal(): AbortSignal {
    return this as unknown as AbortSignal;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  /** once: later calls change nothing */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners ?? [];
    this.listeners = null;
    for (const listener of listeners) listener();
  }
}

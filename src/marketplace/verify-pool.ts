// Bounded, off-thread verification of large pushes. x-sign covers a canonical re-serialization of
// the body, so checking it means parsing first: up to ~200 ms of CPU for a 2 MiB body, and as
// much again for its plain form and schema. A worker does all of it and answers the validated
// message (a structured clone), so a big push's parse never runs on the main thread. Anyone can
// send such a body, so large ones are verified in worker threads, `concurrency` at a time, and a
// slot is taken before the body is read: at most `concurrency` large bodies are in memory, at
// most `queue` more wait (unread, held back by TCP), and the rest are refused at once.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../store/worker-thread.ts';
import { RESULT, SyncError, type ResultCode } from './errors.ts';
import type { SignedHeaders } from './verify.ts';
import type { CheckedMessage, SyncKind } from './messages.ts';

export interface VerifyJob {
  id: number;
  raw: Uint8Array;
  headers: SignedHeaders;
  maxNodes: number;
  kind: SyncKind;
}

export type VerifyAnswer = { id: number; ok: true; checked: CheckedMessage } | { id: number; ok: false; resultCode: ResultCode; message: string };

export interface PoolSettings {
  concurrency: number;
  queue: number;
}

const WORKER = new URL('./verify-worker.ts', import.meta.url);
/** a worker that needs more than this is killed: junk cannot grow the process without bound */
const WORKER_HEAP_MB = 256;

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

interface Slot {
  worker: Worker | null;
  pending: Map<number, { resolve: (a: VerifyAnswer) => void }>;
}

export class VerifyPool {
  private readonly slots: Slot[];
  private readonly free: Slot[];
  private readonly waiting: Array<(slot: Slot) => void> = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly accessKey: string,
    private readonly settings: PoolSettings,
  ) {
    this.slots = Array.from({ length: settings.concurrency }, () => ({ worker: null, pending: new Map() }));
    this.free = [...this.slots];
  }

  /** a verification slot; throws QueueFullError when `queue` callers are already waiting */
  async acquire(): Promise<Lease> {
    const slot = this.free.pop() ?? (await this.wait());
    let released = false;
    return {
      verify: (raw, headers, maxNodes, kind) => this.run(slot, raw, headers, maxNodes, kind),
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next(slot);
        else this.free.push(slot);
      },
    };
  }

  private wait(): Promise<Slot> {
    if (this.waiting.length >= this.settings.queue) throw new QueueFullError('too many large pushes are being verified');
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private async run(slot: Slot, raw: Buffer, headers: SignedHeaders, maxNodes: number, kind: SyncKind): Promise<CheckedMessage> {
    if (this.closed) throw new SyncError(RESULT.innerError, 'other inner error: the gateway is shutting down');
    const worker = (slot.worker ??= this.spawn(slot));
    const id = this.nextId++;
    const answer = await new Promise<VerifyAnswer>((resolve) => {
      slot.pending.set(id, { resolve });
      worker.postMessage({ id, raw, headers: { timestamp: headers.timestamp, nonce: headers.nonce, sign: headers.sign }, maxNodes, kind } satisfies VerifyJob);
    });
    if (!answer.ok) throw new SyncError(answer.resultCode, answer.message);
    return answer.checked;
  }

  private spawn(slot: Slot): Worker {
    const opts = { workerData: { accessKey: this.accessKey }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
    const worker = startWorker(WORKER, opts);
    worker.unref();
    worker.on('message', (a: VerifyAnswer) => {
      slot.pending.get(a.id)?.resolve(a);
      slot.pending.delete(a.id);
    });
    const fail = () => {
      // out of memory or crashed: its jobs fail, the next job starts a fresh worker
      if (slot.worker === worker) slot.worker = null;
      for (const [id, p] of slot.pending) p.resolve({ id, ok: false, resultCode: RESULT.invalidParam, message: 'param is invalid: the body is too costly to verify' });
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }
}

export interface Lease {
  /** verifies x-sign (SyncError when it fails) and answers the body checked against `kind`'s schema */
  verify(raw: Buffer, headers: SignedHeaders, maxNodes: number, kind: SyncKind): Promise<CheckedMessage>;
  release(): void;
}

// Bounded, off-thread verification of large pushes. x-sign covers a canonical re-serialization of
// the body, so checking it means parsing first: up to ~200 ms of CPU for a 2 MiB body, and as
// much again for its plain form and schema. Workers do all of it and answer the validated message
// (a structured clone), so a big push's parse never runs on the main thread: a verifier (lowest
// CPU priority, as junk lands there) checks x-sign, then one checker at normal priority parses
// the verified body again into its plain form and schema (a big authSync's schema alone is
// ~250 ms of CPU, which a lowest-priority thread would not get on a busy host). Anyone can
// send such a body, so large ones are verified in worker threads, `concurrency` at a time, and a
// slot is taken before the body is read: at most `concurrency` large bodies are in memory, at
// most `queue` more wait (unread, held back by TCP), and the rest are refused at once.
// The checker's answer leaves its long lists out; their items follow on a port of their own, a
// slice per message, and are taken here one slice per turn of the event loop.
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../store/worker-thread.ts';
import { nextTurn } from '../store/slices.ts';
import { RESULT, SyncError, type ResultCode } from './errors.ts';
import type { SignedHeaders } from './verify.ts';
import type { CheckedMessage, SyncKind } from './messages.ts';

export interface VerifyJob {
  id: number;
  raw: Uint8Array;
  headers: SignedHeaders;
  maxNodes: number;
  kind: SyncKind;
  /** a checker's: where the validated message's long lists go, a slice per message */
  port?: MessagePort;
}

/** items of a list per message on a checker job's port: a millisecond or two of deserialising each */
export const LIST_SLICE = 500;

/** a list of the validated message that follows on the job's port in `slices` messages */
export interface ListInSlices {
  field: string;
  slices: number;
  length: number;
}

/** `checked` (and `lists`, the fields of `checked.data` that follow on the port) from a checker only */
export type VerifyAnswer = { id: number; ok: true; checked?: CheckedMessage; lists?: ListInSlices[] } | { id: number; ok: false; resultCode: ResultCode; message: string };

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
  /** parses and validates bodies that verified; one for the pool, each job under its caller's lease */
  private readonly checker: Slot = { worker: null, pending: new Map() };
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly accessKey: string,
    private readonly settings: PoolSettings,
  ) {
    this.slots = Array.from({ length: settings.concurrency }, () => ({ worker: null, pending: new Map() }));
    this.free = [...this.slots];
  }

  /**
   * Starts a verifier and the checker now rather than at the first large push: under tsx each
   * loads its modules for a second or more, which the first big push after a start waited for.
   */
  warm(): void {
    if (this.closed) return;
    const slot = this.slots[0];
    if (slot) slot.worker ??= this.spawn(slot, 'verify');
    this.checker.worker ??= this.spawn(this.checker, 'check');
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
    const job = { raw, headers: { timestamp: headers.timestamp, nonce: headers.nonce, sign: headers.sign }, maxNodes, kind };
    const verified = await this.ask(slot, 'verify', job);
    if (!verified.ok) throw new SyncError(verified.resultCode, verified.message);
    const { port1, port2 } = new MessageChannel();
    try {
      const checked = await this.ask(this.checker, 'check', { ...job, port: port2 }, [port2]);
      if (!checked.ok) throw new SyncError(checked.resultCode, checked.message);
      if (!checked.checked) throw new SyncError(RESULT.innerError, 'other inner error: the body could not be checked');
      if (checked.lists?.length) await takeLists(checked.checked, checked.lists, port1);
      return checked.checked;
    } finally {
      port1.close();
    }
  }

  private ask(slot: Slot, role: 'verify' | 'check', job: Omit<VerifyJob, 'id'>, transfer: MessagePort[] = []): Promise<VerifyAnswer> {
    const worker = (slot.worker ??= this.spawn(slot, role));
    const id = this.nextId++;
    return new Promise<VerifyAnswer>((resolve) => {
      slot.pending.set(id, { resolve });
      worker.postMessage({ id, ...job } satisfies VerifyJob, transfer);
    });
  }

  private spawn(slot: Slot, role: 'verify' | 'check'): Worker {
    const opts = { workerData: { accessKey: this.accessKey, role }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
    const worker = startWorker(WORKER, opts);
    worker.unref();
    worker.on('message', (a: VerifyAnswer) => {
      slot.pending.get(a.id)?.resolve(a);
      slot.pending.delete(a.id);
    });
    const fail = () => {
      // out of memory or crashed: its jobs fail, the next job starts a fresh worker. A worker
      // takes its jobs in order, so the oldest is the body it died on (too costly: refused); the
      // others (the checker serves every lease) were never looked at: nothing was saved, retry
      if (slot.worker === worker) slot.worker = null;
      let first = true;
      for (const [id, p] of slot.pending) {
        p.resolve(
          first
            ? { id, ok: false, resultCode: RESULT.invalidParam, message: 'param is invalid: the body is too costly to verify' }
            : { id, ok: false, resultCode: RESULT.innerError, message: 'other inner error: the body could not be checked; nothing was saved, please retry' },
        );
        first = false;
      }
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots, this.checker].map((s) => s.worker?.terminate()));
  }
}

/**
 * Puts the lists a checker sent in slices back into its validated message, one slice per turn.
 * The worker posted every slice before its answer, so all of them are already waiting on the port.
 */
async function takeLists(checked: CheckedMessage, lists: readonly ListInSlices[], port: MessagePort): Promise<void> {
  const data = (checked.ok ? checked.data : null) as Record<string, unknown> | null;
  for (const { field, slices, length } of lists) {
    const items: unknown[] = [];
    for (let i = 0; i < slices; i++) {
      await nextTurn();
      const slice = receiveMessageOnPort(port)?.message as unknown[] | undefined;
      if (!Array.isArray(slice)) throw new SyncError(RESULT.innerError, 'other inner error: the body could not be checked; nothing was saved, please retry');
      for (const item of slice) items.push(item);
    }
    if (!data || items.length !== length) throw new SyncError(RESULT.innerError, 'other inner error: the body could not be checked; nothing was saved, please retry');
    data[field] = items;
  }
}

export interface Lease {
  /** verifies x-sign (SyncError when it fails) and answers the body checked against `kind`'s schema */
  verify(raw: Buffer, headers: SignedHeaders, maxNodes: number, kind: SyncKind): Promise<CheckedMessage>;
  release(): void;
}

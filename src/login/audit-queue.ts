// The audit rows of completed sign-ins, off the answer's path: the browser's cookie waits for its
// session to be durable, not for its audit row. Rows added within AUDIT_BATCH_MS go to the store
// in one write (on the embedded store one fsync for every sign-in of that window, instead of one
// fsynced statement per sign-in on the event loop), one write at a time, in order.
// Never lost silently: a write the store refuses is retried with the rows added since (up to
// AUDIT_ATTEMPTS times, backing off); rows it gives up on, and rows beyond AUDIT_MAX_WAITING while
// the store refuses, are written to the error log with their content. Bounded: once
// AUDIT_MAX_WAITING rows wait, add() answers only when they are written (the sign-ins wait
// instead of the memory growing). close() writes what is waiting. A process killed with SIGKILL
// loses the rows of its last AUDIT_BATCH_MS; every sign-in's "signed in" log line, written before
// the answer, still names it.
import type { Logger } from '../ops/logger.ts';
import type { AuditEvent, Store } from '../store/store.ts';

export const AUDIT_BATCH_MS = 20;
export const AUDIT_MAX_WAITING = 1000;
export const AUDIT_ATTEMPTS = 5;

export class AuditQueue {
  private waiting: AuditEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** the write in progress (and those queued behind it) */
  private writing: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly batchMs = AUDIT_BATCH_MS,
  ) {}

  /** at once; once the rows before it are written when AUDIT_MAX_WAITING rows wait */
  add(event: AuditEvent): Promise<void> {
    this.waiting.push(event);
    if (this.waiting.length >= AUDIT_MAX_WAITING) return this.flush();
    this.timer ??= setTimeout(() => void this.flush(), this.batchMs);
    return Promise.resolve();
  }

  /** writes what is waiting now (after the write in progress); never rejects */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing = this.writing.then(() => this.writeWaiting());
    return this.writing;
  }

  /** rows waiting to be written */
  get size(): number {
    return this.waiting.length;
  }

  async close(): Promise<void> {
    await this.flush();
    // a refused write re-armed the timer: one last attempt now, then the log keeps the rest
    if (this.waiting.length) {
      this.failures = AUDIT_ATTEMPTS - 1;
      await this.flush();
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async writeWaiting(): Promise<void> {
    const batch = this.waiting.splice(0);
    if (batch.length === 0) return;
    try {
      await this.store.write([], batch);
      this.failures = 0;
    } catch (err) {
      if (++this.failures >= AUDIT_ATTEMPTS) {
        this.failures = 0;
        this.log.error({ err, lost: batch.length, audit: batch }, 'audit records not stored: the store refused them; this log line keeps them');
        return;
      }
      // in front of the rows added meanwhile, so the order holds; the overflow goes to the log
      this.waiting = batch.concat(this.waiting);
      if (this.waiting.length > AUDIT_MAX_WAITING) {
        const over = this.waiting.splice(0, this.waiting.length - AUDIT_MAX_WAITING);
        this.log.error({ err, lost: over.length, audit: over }, 'audit records not stored: too many wait while the store refuses them; this log line keeps them');
      }
      this.log.warn({ err, waiting: this.waiting.length, attempt: this.failures }, 'could not write audit records; retrying');
      this.timer ??= setTimeout(() => void this.flush(), this.batchMs * 2 ** this.failures);
    }
  }
}

// Runs in a worker thread: parses, canonicalizes and checks x-sign for one large push, then puts
// the verified body in plain form and checks it against its interface's schema, so neither an
// unsigned 2 MiB body nor a signed one costs the main thread its parse (see verify-pool.ts).
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SyncError } from './errors.ts';
import { verifySignedBody } from './verify.ts';
import { toPlain } from './canonical-json.ts';
import { checkMessage } from './messages.ts';
import type { VerifyJob, VerifyAnswer } from './verify-pool.ts';

const { accessKey } = workerData as { accessKey: string };

// Lowest CPU priority for this thread only (Linux: a thread id works as a pid for setpriority), so
// on a busy host the main thread, which answers everything else, goes first. Elsewhere: as is.
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 19);
} catch {
  // not Linux, or not allowed
}

parentPort!.on('message', (job: VerifyJob) => {
  let answer: VerifyAnswer;
  try {
    const root = verifySignedBody(Buffer.from(job.raw), job.headers, accessKey, job.maxNodes);
    answer = { id: job.id, ok: true, checked: checkMessage(job.kind, toPlain(root)) };
  } catch (e) {
    answer = e instanceof SyncError ? { id: job.id, ok: false, resultCode: e.resultCode, message: e.message } : { id: job.id, ok: false, resultCode: '000005', message: 'other inner error: the body could not be verified' };
  }
  parentPort!.postMessage(answer);
});

// Runs in a worker thread, in one of two roles (see verify-pool.ts):
// * "verify" (at the lowest CPU priority): parses, canonicalizes and checks x-sign for one large
//   push, so an unsigned 2 MiB body costs the main thread nothing;
// * "check" (at normal priority, only ever given bodies that verified): parses the body again,
//   puts it in plain form and checks it against its interface's schema, so a big signed push is
//   not parsed on the main thread either, and is not starved of CPU like junk on a busy host.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SyncError } from './errors.ts';
import { verifySignedBody } from './verify.ts';
import { parseJson, toPlain } from './canonical-json.ts';
import { checkMessage } from './messages.ts';
import type { VerifyJob, VerifyAnswer } from './verify-pool.ts';

const { accessKey, role } = workerData as { accessKey: string; role: 'verify' | 'check' };

// Verifiers: lowest CPU priority for this thread only (Linux: a thread id works as a pid for
// setpriority), so on a busy host the main thread, which answers everything else, goes first.
// Elsewhere: as is.
if (role === 'verify') {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 19);
  } catch {
    // not Linux, or not allowed
  }
}

parentPort!.on('message', (job: VerifyJob) => {
  let answer: VerifyAnswer;
  try {
    if (role === 'verify') {
      verifySignedBody(Buffer.from(job.raw), job.headers, accessKey, job.maxNodes);
      answer = { id: job.id, ok: true };
    } else {
      answer = { id: job.id, ok: true, checked: checkMessage(job.kind, toPlain(parseJson(Buffer.from(job.raw), { maxNodes: job.maxNodes }))) };
    }
  } catch (e) {
    answer = e instanceof SyncError ? { id: job.id, ok: false, resultCode: e.resultCode, message: e.message } : { id: job.id, ok: false, resultCode: '000005', message: 'other inner error: the body could not be verified' };
  }
  parentPort!.postMessage(answer);
});

// Runs in a worker thread, in one of two roles (see verify-pool.ts):
// * "verify" (at the lowest CPU priority): parses, canonicalizes and checks x-sign for one large
//   push, so an unsigned 2 MiB body costs the main thread nothing;
// * "check" (at normal priority, only ever given bodies that verified): parses the body again,
//   puts it in plain form and checks it against its interface's schema, so a big signed push is
//   not parsed on the main thread either, and is not starved of CPU like junk on a busy host.
//   A long list in the validated message (a 10,000-department orgInfoList) is not sent in the
//   answer: its structured clone alone would hold the main thread's loop for 20–40 ms while it is
//   deserialised in one piece. Its items go in slices onto the job's own port, and the main
//   thread takes one slice per turn of its event loop (verify-pool.ts).
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SyncError } from './errors.ts';
import { verifySignedBody } from './verify.ts';
import { parseJson, toPlain } from './canonical-json.ts';
import { checkMessage, type CheckedMessage } from './messages.ts';
import { LIST_SLICE, type ListInSlices, type VerifyJob, type VerifyAnswer } from './verify-pool.ts';

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

/** moves every list longer than a slice out of `checked`, onto `port` a slice per message */
function sendListsInSlices(checked: CheckedMessage, port: NonNullable<VerifyJob['port']>): ListInSlices[] {
  if (!checked.ok || !checked.data || typeof checked.data !== 'object') return [];
  const data = checked.data as Record<string, unknown>;
  const lists: ListInSlices[] = [];
  for (const [field, value] of Object.entries(data)) {
    if (!Array.isArray(value) || value.length <= LIST_SLICE) continue;
    let slices = 0;
    for (let i = 0; i < value.length; i += LIST_SLICE, slices++) port.postMessage(value.slice(i, i + LIST_SLICE));
    data[field] = [];
    lists.push({ field, slices, length: value.length });
  }
  return lists;
}

parentPort!.on('message', (job: VerifyJob) => {
  let answer: VerifyAnswer;
  try {
    if (role === 'verify') {
      verifySignedBody(Buffer.from(job.raw), job.headers, accessKey, job.maxNodes);
      answer = { id: job.id, ok: true };
    } else {
      const checked = checkMessage(job.kind, toPlain(parseJson(Buffer.from(job.raw), { maxNodes: job.maxNodes })));
      answer = { id: job.id, ok: true, checked, lists: job.port ? sendListsInSlices(checked, job.port) : [] };
    }
  } catch (e) {
    answer = e instanceof SyncError ? { id: job.id, ok: false, resultCode: e.resultCode, message: e.message } : { id: job.id, ok: false, resultCode: '000005', message: 'other inner error: the body could not be verified' };
  }
  parentPort!.postMessage(answer);
});

// The embedded store's writer thread (see EmbeddedStore.write): applies one big write — its
// conditional document writes and audit events — in one SQLite transaction on its own
// connection, so neither the statements nor the fsync of the commit run on the event loop.
// The writes arrive in parts; the first part begins the transaction (IMMEDIATE: the write lock
// up front), "commit" appends the audit events and commits, and only then is the caller
// answered. Any failure, a "rollback" or the end of this thread (its connection closes) leaves
// nothing of the write: SQLite drops an uncommitted transaction. WAL lets the main thread's
// connection go on reading the last committed state meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { writeAllowed, type AuditEvent, type DocWrite } from './store.ts';

export type WriterRequest =
  | { id: number; op: 'part'; writes: DocWrite[] }
  | { id: number; op: 'commit'; audit: AuditEvent[] }
  | { id: number; op: 'rollback' }
  | { id: number; op: 'close' };

export type WriterReply = { id: number; ok: true; applied: boolean[] } | { id: number; ok: false; code?: string; message: string };

const { file, busyTimeoutMs } = workerData as { file: string; busyTimeoutMs: number };
const db = new Database(file, { timeout: busyTimeoutMs });
// per connection: every commit is fsynced before it is answered, as on the main connection
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
const getDoc = db.prepare<[string, string], { version: string }>('SELECT version FROM docs WHERE col = ? AND id = ?');
const putDoc = db.prepare('INSERT OR REPLACE INTO docs (col, id, version, value) VALUES (?, ?, ?, ?)');
const addAudit = db.prepare('INSERT INTO audit (event) VALUES (?)');

/** the write in progress: its id and the decision for each write so far */
let current: { id: number; applied: boolean[] } | null = null;
/** writes that failed: their remaining parts are ignored */
const failed = new Set<number>();

function reply(r: WriterReply): void {
  parentPort!.postMessage(r);
}

function abort(): void {
  current = null;
  if (db.inTransaction) db.exec('ROLLBACK');
}

parentPort!.on('message', (m: WriterRequest) => {
  if (m.op === 'close') {
    abort();
    db.close();
    reply({ id: m.id, ok: true, applied: [] });
    return;
  }
  if (failed.has(m.id)) {
    if (m.op !== 'part') failed.delete(m.id);
    return;
  }
  try {
    if (m.op === 'rollback') {
      if (current?.id === m.id) abort();
      return;
    }
    if (current && current.id !== m.id) throw new Error(`writer: write ${m.id} arrived during write ${current.id}`);
    if (!current) {
      db.exec('BEGIN IMMEDIATE');
      current = { id: m.id, applied: [] };
    }
    if (m.op === 'part') {
      for (const w of m.writes) {
        const ok = writeAllowed(getDoc.get(w.col, w.id), w.version, w.when);
        if (ok) putDoc.run(w.col, w.id, w.version, w.value);
        current.applied.push(ok);
      }
      return;
    }
    for (const e of m.audit) addAudit.run(JSON.stringify(e));
    db.exec('COMMIT');
    const { applied } = current;
    current = null;
    reply({ id: m.id, ok: true, applied });
  } catch (err) {
    try {
      abort();
    } catch {
      // the connection is unusable; the main thread starts a new writer after this one exits
    }
    if (m.op === 'part') failed.add(m.id);
    const e = err as { code?: unknown; message?: unknown };
    reply({ id: m.id, ok: false, ...(typeof e.code === 'string' ? { code: e.code } : {}), message: String(e.message ?? err) });
  }
});

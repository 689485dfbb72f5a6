// Single-node store in one SQLite file (better-sqlite3). Durable: WAL with synchronous=FULL, so
// every statement or transaction is fsynced before its promise resolves.
//
// Group commit: the changes asked for in one turn of the event loop are committed together, in
// the order asked, at the end of that turn — one transaction and one fsync, each change in its
// own savepoint (one that fails takes only itself back) — and each is answered only after that
// commit. Under load (several sign-ins and pushes arriving in one turn) this trades a turn of
// latency for fewer fsyncs on the loop: bench/RESULTS.md "Cost per request" has the measurement.
//
// better-sqlite3 is synchronous: a statement runs on the calling thread. A big write (a push of
// thousands of users or departments: bigWriteRows documents or more) would hold the event loop
// for its statements and its commit's fsync, so it runs on a writer thread with its own
// connection instead (embedded-writer.ts), still as one transaction: all or nothing, answered
// only once committed. Its writes are handed over in parts with a turn of the event loop
// between them. WAL lets this connection keep reading the last committed state meanwhile; this
// connection's own changes (temps, sets, small writes, the sweep) wait until the big write has
// committed, in order, rather than block the loop on SQLite's busy wait for its lock. Chosen over
// slicing the transaction on this thread: a transaction left open across turns of the event loop
// would take in every other change made meanwhile on the same connection (acknowledged before
// they are durable, lost with a rollback), and the commit's fsync cannot be sliced.
//
// Two processes opening the same directory is safe but not the intended use: SQLite's file locks
// serialise the writers (a writer waits up to BUSY_TIMEOUT_MS, then the call rejects with
// StoreUnavailableError), but publish/subscribe only reaches subscribers in the same process.
// The directory must be on a local file system (WAL needs shared memory).
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AUDIT_MAX_ROWS, StoreUnavailableError, writeAllowed, type AuditEvent, type Doc, type DocWrite, type Put, type PutOptions, type Store } from './store.ts';
import { LocalBus } from './local-bus.ts';
import type { Worker } from 'node:worker_threads';
import { startWorker } from './worker-thread.ts';
import type { WriterReply, WriterRequest } from './embedded-writer.ts';

const SCHEMA_VERSION = 1;
const BUSY_TIMEOUT_MS = 5000;
const SWEEP_INTERVAL_MS = 10_000;
/** rows deleted per sweep statement */
const SWEEP_BATCH = 1000;
/** event-loop time one slice of a sweep may take; the next slice runs on the next turn */
const SWEEP_SLICE_MS = 20;
/**
 * Touches (a session's idle TTL restarting, once a minute per session in use) wait this long to be
 * committed together: one transaction, one fsync, instead of one per session on the event loop.
 */
export const TOUCH_BATCH_MS = 50;
export const EMBEDDED_FILE = 'bridge.db';
/** writes of at least this many documents run on the writer thread */
export const BIG_WRITE_ROWS = 500;
/** documents handed to the writer thread per message (one turn of the event loop each) */
const WRITER_PART = 500;
const WRITER = new URL('./embedded-writer.ts', import.meta.url);

export interface EmbeddedOptions {
  /** writes of at least this many documents go to the writer thread; default BIG_WRITE_ROWS */
  bigWriteRows?: number;
}

const SCHEMA = `
CREATE TABLE docs (col TEXT NOT NULL, id TEXT NOT NULL, version TEXT NOT NULL, value TEXT, PRIMARY KEY (col, id));
CREATE TABLE temps (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX temps_expiry ON temps (expires_at);
CREATE TABLE sets (set_key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE INDEX sets_expiry ON sets (expires_at);
CREATE TABLE set_members (
  set_key TEXT NOT NULL REFERENCES sets (set_key) ON DELETE CASCADE,
  member TEXT NOT NULL,
  PRIMARY KEY (set_key, member)
);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);
`;

interface DocRow {
  id: string;
  version: string;
  value: string | null;
}

/** Opens (creating if needed) the store in `dir`: the directory is created 0700, the file 0600. */
export function openEmbeddedStore(dir: string, opts: EmbeddedOptions = {}): EmbeddedStore {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, EMBEDDED_FILE);
  // Create the file ourselves so it never exists with the umask's mode; SQLite gives the -wal and
  // -shm files the same mode as the database file.
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return new EmbeddedStore(file, opts);
}

export class EmbeddedStore implements Store {
  readonly kind = 'embedded';
  private readonly db: Database.Database;
  private readonly bus = new LocalBus();
  private readonly sweeper: NodeJS.Timeout;
  private sweeping = false;
  private readonly sql: Statements;
  private readonly tx: ReturnType<typeof transactions>;
  private readonly bigWriteRows: number;
  private writer: WriterThread | null = null;
  /** the big writes queued or in progress, one after another */
  private bigWrites: Promise<unknown> = Promise.resolve();
  /** set while a big write is queued or in progress: this connection's changes wait for it */
  private gate: Promise<void> | null = null;
  private closing = false;
  /** changes waiting for this turn's group commit, in order */
  private queued: Array<{ what: string; fn: () => unknown; resolve: (v: unknown) => void; reject: (err: unknown) => void }> = [];
  /** a group commit is scheduled (or waiting for a big write) */
  private flushing = false;
  private groupCommits = 0;
  private groupedChanges = 0;
  /** touches waiting for the next batch (TOUCH_BATCH_MS), in order */
  private touches: Array<{ key: string; ttlMs: number; resolve: (touched: boolean) => void; reject: (err: unknown) => void }> = [];
  private touchTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly file: string,
    opts: EmbeddedOptions = {},
  ) {
    this.bigWriteRows = opts.bigWriteRows ?? BIG_WRITE_ROWS;
    try {
      // `timeout` is SQLite's busy_timeout: how long to wait for another connection's lock
      this.db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    } catch (err) {
      throw unavailable('open', err);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
    } catch (err) {
      this.db.close();
      throw unavailable('open', err);
    }
    this.sql = prepare(this.db);
    this.tx = transactions(this.db, this.sql);
    this.sweeper = setInterval(() => this.sweepInSlices(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async getDoc(col: string, id: string): Promise<Doc | null> {
    return this.run('getDoc', () => toDoc(this.sql.getDoc.get(col, id)));
  }

  async getDocs(col: string, ids: readonly string[]): Promise<Array<Doc | null>> {
    // one read transaction: a consistent snapshot across the ids
    return this.run('getDocs', () => this.tx.getDocs(col, ids));
  }

  async listDocs(col: string): Promise<Doc[]> {
    return this.run('listDocs', () => this.sql.listDocs.all(col));
  }

  async write(writes: readonly DocWrite[], audit: readonly AuditEvent[] = []): Promise<boolean[]> {
    if (writes.length >= this.bigWriteRows) return this.writeOffThread(writes, audit);
    // IMMEDIATE takes the write lock up front, so a second process cannot slip in between read and write
    return this.change('write', () => this.tx.write.immediate(writes, audit));
  }

  /** the writer thread now, not at the first big write (it loads its modules first) */
  warm(): void {
    if (!this.closing) this.writer ??= new WriterThread(this.file, () => (this.writer = null));
  }

  /** a big write on the writer thread, after the big writes before it; this connection's changes wait */
  private writeOffThread(writes: readonly DocWrite[], audit: readonly AuditEvent[]): Promise<boolean[]> {
    const job = this.bigWrites.then(() => {
      if (this.closing) throw new StoreUnavailableError('embedded store could not write: it is closing');
      this.writer ??= new WriterThread(this.file, () => (this.writer = null));
      return this.writer.write(writes, audit, () => this.closing);
    });
    const settled = job.then(
      () => undefined,
      () => undefined,
    );
    this.bigWrites = settled;
    const gate: Promise<void> = settled.then(() => {
      if (this.gate === gate) this.gate = null;
    });
    this.gate = gate;
    return job;
  }

  /**
   * A change on this connection, committed with the others asked for in the same turn of the
   * event loop (group commit: one transaction and one fsync for all of them, each in its own
   * savepoint so a failing one takes only itself back), once the big writes queued before it are
   * done. Answered only after that commit; the touches asked for before it are committed first.
   */
  private change<T>(what: string, fn: () => T): Promise<T> {
    if (!this.gate) this.commitTouches();
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ what, fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flushChanges());
      }
    });
  }

  /** the queued changes, after the big writes queued before them */
  private async flushChanges(): Promise<void> {
    while (this.gate) await this.gate;
    this.flushing = false;
    this.commitQueued();
  }

  /** commits the queued changes now, in order: one transaction, each change in a savepoint */
  private commitQueued(): void {
    const batch = this.queued.splice(0);
    if (batch.length === 0) return;
    this.commitTouches();
    if (batch.length === 1) {
      const c = batch[0]!;
      let value: unknown;
      try {
        value = this.run(c.what, c.fn);
      } catch (err) {
        c.reject(err);
        return;
      }
      c.resolve(value);
      return;
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    try {
      this.run('commit', () => this.tx.group.immediate(batch, outcomes));
    } catch (err) {
      // the commit failed: none of them is kept, whatever each one's own statements said (the
      // first failure inside says why, when there was one)
      const inside = outcomes.find((o) => !o.ok);
      const why = inside ? unavailable('commit', (inside as { err: unknown }).err) : err;
      for (const c of batch) c.reject(why);
      return;
    }
    this.groupCommits += 1;
    this.groupedChanges += batch.length;
    batch.forEach((c, i) => {
      const o = outcomes[i]!;
      if (o.ok) c.resolve(o.value);
      else c.reject(unavailable(c.what, o.err));
    });
  }

  /** commits shared by more than one change, and the changes in them (tests, benchmarks) */
  groupStats(): { commits: number; changes: number } {
    return { commits: this.groupCommits, changes: this.groupedChanges };
  }

  async listAudit(limit: number): Promise<AuditEvent[]> {
    if (limit <= 0) return [];
    return this.run('listAudit', () => this.sql.listAudit.all(limit).map((r) => JSON.parse(r.event) as AuditEvent));
  }

  async putTemp(key: string, value: string, ttlMs: number, opts: PutOptions = {}): Promise<boolean> {
    return this.change('putTemp', () => {
      const now = Date.now();
      const row = { key, value, expiresAt: now + ttlMs, now };
      if (opts.ifAbsent) return this.sql.putTempIfAbsent.run(row).changes === 1;
      this.sql.putTemp.run({ key, value, expiresAt: row.expiresAt });
      return true;
    });
  }

  async getTemp(key: string): Promise<string | null> {
    return this.run('getTemp', () => this.sql.getTemp.get(key, Date.now())?.value ?? null);
  }

  async tempTtl(key: string): Promise<number | null> {
    return this.run('tempTtl', () => {
      const now = Date.now();
      const row = this.sql.tempExpiry.get(key, now);
      return row ? row.expires_at - now : null;
    });
  }

  async takeTemp(key: string): Promise<string | null> {
    return this.change('takeTemp', () => {
      const row = this.sql.takeTemp.get(key);
      return row && row.expires_at > Date.now() ? row.value : null;
    });
  }

  async deleteTemp(keys: readonly string[]): Promise<void> {
    await this.change('deleteTemp', () => this.tx.deleteTemps(keys));
  }

  async replaceTemps(entries: ReadonlyArray<readonly [key: string, value: string]>): Promise<boolean[]> {
    if (entries.length === 0) return [];
    return this.change('replaceTemps', () => this.tx.replaceTemps.immediate(entries));
  }

  /** answered once the batch it joined has committed (within TOUCH_BATCH_MS, plus the commit) */
  touchTemp(key: string, ttlMs: number): Promise<boolean> {
    if (this.closing) return Promise.reject(new StoreUnavailableError('embedded store could not touchTemp: it is closing'));
    return new Promise((resolve, reject) => {
      this.touches.push({ key, ttlMs, resolve, reject });
      this.touchTimer ??= setTimeout(() => void this.flushTouches(), TOUCH_BATCH_MS);
    });
  }

  /** the timer's commit of the waiting touches, in turn with the other changes */
  private async flushTouches(): Promise<void> {
    while (this.gate) await this.gate;
    this.commitTouches();
  }

  /** commits the waiting touches in one transaction, now */
  private commitTouches(): void {
    if (this.touchTimer) clearTimeout(this.touchTimer);
    this.touchTimer = null;
    const batch = this.touches.splice(0);
    if (batch.length === 0) return;
    let touched: boolean[];
    try {
      touched = this.run('touchTemp', () => this.tx.touchTemps.immediate(batch));
    } catch (err) {
      for (const t of batch) t.reject(err);
      return;
    }
    batch.forEach((t, i) => t.resolve(touched[i]!));
  }

  async addMember(setKey: string, member: string, ttlMs: number): Promise<void> {
    await this.change('addMember', () => this.tx.addMember.immediate(setKey, member, ttlMs));
  }

  /** one transaction, one fsync: a sign-in's index entries and its record (Sessions.establish) */
  async putAll(changes: readonly Put[]): Promise<void> {
    if (changes.length === 0) return;
    await this.change('putAll', () => this.tx.putAll.immediate(changes));
  }

  async members(setKey: string): Promise<string[]> {
    return this.run('members', () => this.sql.members.all(setKey, Date.now()).map((r) => r.member));
  }

  async removeMember(setKey: string, member: string): Promise<void> {
    await this.change('removeMember', () => this.tx.removeMember.immediate(setKey, member));
  }

  publish(channel: string, message: string): Promise<void> {
    return this.bus.publish(channel, message);
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    return this.bus.subscribe(channel, handler);
  }

  async ping(): Promise<void> {
    this.run('ping', () => this.sql.ping.get());
  }

  /**
   * A big write still handing over its parts is abandoned (rejects, nothing of it is kept); one
   * already committing is waited for.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    this.bus.close();
    await this.writer?.close();
    // the waiting touches and changes are committed before the connection closes
    this.commitTouches();
    this.commitQueued();
    if (this.db.open) this.db.close();
  }

  /**
   * Deletes expired temps and sets, and audit rows beyond the newest AUDIT_MAX_ROWS, in batches,
   * for at most `budgetMs`; true when nothing is left to delete. Reads already ignore expired rows.
   * A batch deletes far faster than fsync'd single-row inserts arrive, so slices every
   * SWEEP_INTERVAL_MS keep up with any rate of anonymous writes.
   */
  sweep(budgetMs = Infinity): boolean {
    const until = performance.now() + budgetMs;
    try {
      for (const step of [() => this.sql.sweepTemps.run(Date.now()), () => this.sql.sweepSets.run(Date.now()), () => this.sql.trimAudit.run(AUDIT_MAX_ROWS)]) {
        while (step().changes === SWEEP_BATCH) if (performance.now() >= until) return false;
      }
    } catch {
      // busy or closed: the next sweep tries again
    }
    return true;
  }

  private sweepInSlices(): void {
    // a big write holds the write lock: sweep next time rather than wait for it on the loop
    if (this.sweeping || this.gate) return;
    this.sweeping = true;
    const slice = () => {
      if (!this.db.open || this.gate || this.sweep(SWEEP_SLICE_MS)) this.sweeping = false;
      else setImmediate(slice);
    };
    slice();
  }

  /** Maps "cannot answer" failures (locked, disk full, I/O) to StoreUnavailableError. */
  private run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw unavailable(what, err);
    }
  }
}

/** the main thread's side of embedded-writer.ts: one big write at a time */
class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: WriterReply) => void }>();
  /** big writes whose commit was sent: close() waits for their answer */
  private readonly committing = new Set<Promise<WriterReply>>();
  private nextId = 1;
  private gone: string | null = null;

  constructor(file: string, onExit: () => void) {
    this.worker = startWorker(WRITER, { workerData: { file, busyTimeoutMs: BUSY_TIMEOUT_MS } });
    this.worker.unref();
    this.worker.on('message', (r: WriterReply) => {
      this.pending.get(r.id)?.resolve(r);
      this.pending.delete(r.id);
    });
    const fail = (why: string) => {
      if (this.gone) return;
      // its connection is closed with the thread: an uncommitted write is rolled back
      this.gone = why;
      onExit();
      for (const [id, p] of this.pending) p.resolve({ id, ok: false, code: 'SQLITE_IOERR', message: why });
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(`the writer thread failed: ${err.message}`));
    this.worker.on('exit', () => fail('the writer thread stopped'));
  }

  private send(m: WriterRequest): void {
    this.worker.postMessage(m);
  }

  private answer(id: number): Promise<WriterReply> {
    return new Promise((resolve) => this.pending.set(id, { resolve }));
  }

  async write(writes: readonly DocWrite[], audit: readonly AuditEvent[], abandoned: () => boolean): Promise<boolean[]> {
    if (this.gone) throw new StoreUnavailableError(`embedded store could not write: ${this.gone}`);
    const id = this.nextId++;
    let early: WriterReply | null = null;
    const answer = this.answer(id);
    void answer.then((r) => (early = r));
    for (let i = 0; i < writes.length; i += WRITER_PART) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (early) break; // the writer failed: it ignores the rest
      if (abandoned()) {
        this.send({ id, op: 'rollback' });
        this.pending.delete(id);
        throw new StoreUnavailableError('embedded store could not write: it was closed during the write (nothing was kept)');
      }
      this.send({ id, op: 'part', writes: writes.slice(i, i + WRITER_PART) });
    }
    if (!early) {
      this.send({ id, op: 'commit', audit: [...audit] });
      this.committing.add(answer);
    }
    const r = await answer;
    this.committing.delete(answer);
    if (r.ok) {
      if (r.applied.length !== writes.length) throw new Error(`embedded writer answered ${r.applied.length} decisions for ${writes.length} writes`);
      return r.applied;
    }
    throw unavailable('write', new Database.SqliteError(r.message, r.code ?? 'SQLITE_ERROR'));
  }

  /** waits for commits under way, rolls back anything else, ends the thread */
  async close(): Promise<void> {
    await Promise.all(this.committing);
    if (!this.gone) {
      const id = this.nextId++;
      const closed = this.answer(id);
      this.send({ id, op: 'close' });
      const timer = setTimeout(() => void this.worker.terminate(), BUSY_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
    }
    await this.worker.terminate();
  }
}

function prepare(db: Database.Database) {
  return {
    getDoc: db.prepare<[string, string], DocRow>('SELECT id, version, value FROM docs WHERE col = ? AND id = ?'),
    listDocs: db.prepare<[string], DocRow>('SELECT id, version, value FROM docs WHERE col = ?'),
    putDoc: db.prepare('INSERT OR REPLACE INTO docs (col, id, version, value) VALUES (?, ?, ?, ?)'),
    addAudit: db.prepare('INSERT INTO audit (event) VALUES (?)'),
    listAudit: db.prepare<[number], { event: string }>('SELECT event FROM audit ORDER BY id DESC LIMIT ?'),
    putTemp: db.prepare(
      `INSERT INTO temps (key, value, expires_at) VALUES (@key, @value, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    ),
    // the upsert only replaces an expired row, so changes === 0 means a live key was in the way
    putTempIfAbsent: db.prepare(
      `INSERT INTO temps (key, value, expires_at) VALUES (@key, @value, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
       WHERE temps.expires_at <= @now`,
    ),
    getTemp: db.prepare<[string, number], { value: string }>('SELECT value FROM temps WHERE key = ? AND expires_at > ?'),
    tempExpiry: db.prepare<[string, number], { expires_at: number }>('SELECT expires_at FROM temps WHERE key = ? AND expires_at > ?'),
    takeTemp: db.prepare<[string], { value: string; expires_at: number }>('DELETE FROM temps WHERE key = ? RETURNING value, expires_at'),
    deleteTemp: db.prepare('DELETE FROM temps WHERE key = ?'),
    touchTemp: db.prepare('UPDATE temps SET expires_at = ? WHERE key = ? AND expires_at > ?'),
    replaceTemp: db.prepare('UPDATE temps SET value = ? WHERE key = ? AND expires_at > ?'),
    dropExpiredSet: db.prepare('DELETE FROM sets WHERE set_key = ? AND expires_at <= ?'),
    putSet: db.prepare(
      'INSERT INTO sets (set_key, expires_at) VALUES (?, ?) ON CONFLICT (set_key) DO UPDATE SET expires_at = excluded.expires_at',
    ),
    addMember: db.prepare('INSERT OR IGNORE INTO set_members (set_key, member) VALUES (?, ?)'),
    members: db.prepare<[string, number], { member: string }>(
      'SELECT m.member FROM set_members m JOIN sets s ON s.set_key = m.set_key WHERE m.set_key = ? AND s.expires_at > ?',
    ),
    removeMember: db.prepare('DELETE FROM set_members WHERE set_key = ? AND member = ?'),
    dropEmptySet: db.prepare('DELETE FROM sets WHERE set_key = ? AND NOT EXISTS (SELECT 1 FROM set_members WHERE set_key = ?)'),
    sweepTemps: db.prepare(`DELETE FROM temps WHERE rowid IN (SELECT rowid FROM temps WHERE expires_at <= ? LIMIT ${SWEEP_BATCH})`),
    sweepSets: db.prepare(`DELETE FROM sets WHERE rowid IN (SELECT rowid FROM sets WHERE expires_at <= ? LIMIT ${SWEEP_BATCH})`),
    // ids only grow, so the rows to keep are the top ones by id
    trimAudit: db.prepare(`DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ? ORDER BY id LIMIT ${SWEEP_BATCH})`),
    ping: db.prepare('SELECT 1'),
  };
}

type Statements = ReturnType<typeof prepare>;

function transactions(db: Database.Database, sql: Statements) {
  // called inside another transaction, a transaction function is a savepoint
  const savepoint = db.transaction((fn: () => unknown) => fn());
  return {
    group: db.transaction((batch: ReadonlyArray<{ fn: () => unknown }>, outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }>) => {
      let aborted: unknown = null;
      for (const c of batch) {
        if (aborted !== null) {
          outcomes.push({ ok: false, err: aborted });
          continue;
        }
        try {
          outcomes.push({ ok: true, value: savepoint(c.fn) });
        } catch (err) {
          outcomes.push({ ok: false, err });
          // SQLite rolled the whole transaction back (disk full, I/O error): the rest would each
          // run on their own outside it; they fail with it instead, and so does the commit
          if (!db.inTransaction) aborted = err;
        }
      }
    }),
    write: db.transaction((writes: readonly DocWrite[], audit: readonly AuditEvent[]): boolean[] => {
      const applied = writes.map((w) => {
        const ok = writeAllowed(sql.getDoc.get(w.col, w.id), w.version, w.when);
        if (ok) sql.putDoc.run(w.col, w.id, w.version, w.value);
        return ok;
      });
      for (const e of audit) sql.addAudit.run(JSON.stringify(e));
      return applied;
    }),
    getDocs: db.transaction((col: string, ids: readonly string[]) => ids.map((id) => toDoc(sql.getDoc.get(col, id)))),
    replaceTemps: db.transaction((entries: ReadonlyArray<readonly [string, string]>): boolean[] => {
      const now = Date.now();
      return entries.map(([key, value]) => sql.replaceTemp.run(value, key, now).changes === 1);
    }),
    touchTemps: db.transaction((touches: ReadonlyArray<{ key: string; ttlMs: number }>): boolean[] => {
      const now = Date.now();
      return touches.map((t) => sql.touchTemp.run(now + t.ttlMs, t.key, now).changes === 1);
    }),
    deleteTemps: db.transaction((keys: readonly string[]) => {
      for (const k of keys) sql.deleteTemp.run(k);
    }),
    addMember: db.transaction((setKey: string, member: string, ttlMs: number) => addMember(sql, setKey, member, ttlMs, Date.now())),
    putAll: db.transaction((changes: readonly Put[]) => {
      const now = Date.now();
      for (const c of changes) {
        if (c.kind === 'temp') sql.putTemp.run({ key: c.key, value: c.value, expiresAt: now + c.ttlMs });
        else addMember(sql, c.setKey, c.member, c.ttlMs, now);
      }
    }),
    removeMember: db.transaction((setKey: string, member: string) => {
      sql.removeMember.run(setKey, member);
      sql.dropEmptySet.run(setKey, setKey);
    }),
  };
}

function addMember(sql: Statements, setKey: string, member: string, ttlMs: number, now: number): void {
  // an expired set starts over empty (its members go with it by cascade)
  sql.dropExpiredSet.run(setKey, now);
  sql.putSet.run(setKey, now + ttlMs);
  sql.addMember.run(setKey, member);
}

function migrate(db: Database.Database): void {
  // IMMEDIATE and re-read inside: two processes opening a new file at once migrate it only once
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`store file has schema ${version}, newer than this program (${SCHEMA_VERSION})`);
    // later versions add `if (version < N)` steps here
    if (version < 1) db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function toDoc(row: DocRow | undefined): Doc | null {
  return row ? { id: row.id, version: row.version, value: row.value } : null;
}

const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY)/;

function unavailable(what: string, err: unknown): unknown {
  if (err instanceof Database.SqliteError && UNAVAILABLE_CODES.test(err.code)) {
    return new StoreUnavailableError(`embedded store could not ${what}: ${err.message}`, { cause: err });
  }
  return err;
}

// Single-node store in one SQLite file (better-sqlite3). Durable: WAL with synchronous=FULL, so
// every statement or transaction is fsynced before its promise resolves.
//
// Two processes opening the same directory is safe but not the intended use: SQLite's file locks
// serialise the writers (a writer waits up to BUSY_TIMEOUT_MS, then the call rejects with
// StoreUnavailableError), but publish/subscribe only reaches subscribers in the same process.
// The directory must be on a local file system (WAL needs shared memory).
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AUDIT_MAX_ROWS, StoreUnavailableError, writeAllowed, type AuditEvent, type Doc, type DocWrite, type PutOptions, type Store } from './store.ts';
import { LocalBus } from './local-bus.ts';

const SCHEMA_VERSION = 1;
const BUSY_TIMEOUT_MS = 5000;
const SWEEP_INTERVAL_MS = 10_000;
/** rows deleted per sweep statement */
const SWEEP_BATCH = 1000;
/** event-loop time one slice of a sweep may take; the next slice runs on the next turn */
const SWEEP_SLICE_MS = 20;
export const EMBEDDED_FILE = 'bridge.db';

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
export function openEmbeddedStore(dir: string): EmbeddedStore {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, EMBEDDED_FILE);
  // Create the file ourselves so it never exists with the umask's mode; SQLite gives the -wal and
  // -shm files the same mode as the database file.
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return new EmbeddedStore(file);
}

export class EmbeddedStore implements Store {
  readonly kind = 'embedded';
  private readonly db: Database.Database;
  private readonly bus = new LocalBus();
  private readonly sweeper: NodeJS.Timeout;
  private sweeping = false;
  private readonly sql: Statements;
  private readonly tx: ReturnType<typeof transactions>;

  constructor(file: string) {
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
    // IMMEDIATE takes the write lock up front, so a second process cannot slip in between read and write
    return this.run('write', () => this.tx.write.immediate(writes, audit));
  }

  async listAudit(limit: number): Promise<AuditEvent[]> {
    if (limit <= 0) return [];
    return this.run('listAudit', () => this.sql.listAudit.all(limit).map((r) => JSON.parse(r.event) as AuditEvent));
  }

  async putTemp(key: string, value: string, ttlMs: number, opts: PutOptions = {}): Promise<boolean> {
    return this.run('putTemp', () => {
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

  async takeTemp(key: string): Promise<string | null> {
    return this.run('takeTemp', () => {
      const row = this.sql.takeTemp.get(key);
      return row && row.expires_at > Date.now() ? row.value : null;
    });
  }

  async deleteTemp(keys: readonly string[]): Promise<void> {
    this.run('deleteTemp', () => this.tx.deleteTemps(keys));
  }

  async replaceTemps(entries: ReadonlyArray<readonly [key: string, value: string]>): Promise<boolean[]> {
    if (entries.length === 0) return [];
    return this.run('replaceTemps', () => this.tx.replaceTemps.immediate(entries));
  }

  async touchTemp(key: string, ttlMs: number): Promise<boolean> {
    return this.run('touchTemp', () => {
      const now = Date.now();
      return this.sql.touchTemp.run(now + ttlMs, key, now).changes === 1;
    });
  }

  async addMember(setKey: string, member: string, ttlMs: number): Promise<void> {
    this.run('addMember', () => this.tx.addMember.immediate(setKey, member, ttlMs));
  }

  async members(setKey: string): Promise<string[]> {
    return this.run('members', () => this.sql.members.all(setKey, Date.now()).map((r) => r.member));
  }

  async removeMember(setKey: string, member: string): Promise<void> {
    this.run('removeMember', () => this.tx.removeMember.immediate(setKey, member));
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

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.bus.close();
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
    if (this.sweeping) return;
    this.sweeping = true;
    const slice = () => {
      if (!this.db.open || this.sweep(SWEEP_SLICE_MS)) this.sweeping = false;
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
  return {
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
    deleteTemps: db.transaction((keys: readonly string[]) => {
      for (const k of keys) sql.deleteTemp.run(k);
    }),
    addMember: db.transaction((setKey: string, member: string, ttlMs: number) => {
      const now = Date.now();
      // an expired set starts over empty (its members go with it by cascade)
      sql.dropExpiredSet.run(setKey, now);
      sql.putSet.run(setKey, now + ttlMs);
      sql.addMember.run(setKey, member);
    }),
    removeMember: db.transaction((setKey: string, member: string) => {
      sql.removeMember.run(setKey, member);
      sql.dropEmptySet.run(setKey, setKey);
    }),
  };
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

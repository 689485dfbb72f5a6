// The store port. Business code depends on this interface only; adapters (memory, embedded,
// redis) implement it and must pass test/store/conformance.ts.
//
// Three kinds of data:
// * documents: durable, versioned records in named collections (tenants, apps, users, orgs,
//   keys). A write is applied only if it is not older than what is stored, so an older
//   marketplace push never overwrites a newer one. A `null` value is a tombstone: it keeps its
//   version so a late, older "add" cannot resurrect a deleted record.
// * temps: expiring string values (nonces, login transactions, sessions, locks).
// * sets: expiring sets of strings (indexes such as user -> sessions).
// Every promise resolves only once the change is durable for that adapter (embedded: committed
// with fsync; redis: acknowledged by the server) and rejects with StoreUnavailableError when the
// backend cannot answer within its deadline.
import { GatewayError } from '../identity/errors.ts';

export interface Doc {
  id: string;
  /** Ordering key. Compared as plain strings: callers use fixed-width versions (17-digit timeStamp). */
  version: string;
  /** JSON text of the record, or null for a tombstone. */
  value: string | null;
}

export type WriteCondition =
  /** apply when nothing is stored or the stored version <= this version (the default) */
  | 'not-older'
  /** apply only when nothing (not even a tombstone) is stored */
  | 'absent'
  /** apply unconditionally */
  | 'always';

export interface DocWrite {
  col: string;
  id: string;
  version: string;
  value: string | null;
  when?: WriteCondition;
}

export interface AuditEvent {
  /** ISO 8601 time the change was accepted */
  at: string;
  /** who caused it, e.g. "marketplace", "user:<sub>", "operator" */
  actor: string;
  /** what happened, e.g. "tenant.upsert", "user.delete", "login.refused" */
  action: string;
  /** the record it concerns, e.g. "prod/tenant/t-1" */
  target: string;
  /** extra facts; never secrets */
  detail?: Record<string, string | number | boolean | null>;
}

/** audit records every store keeps at least; older ones are dropped (Redis trims its stream near this) */
export const AUDIT_MAX_ROWS = 100_000;

/** one change of Store.putAll: a temp stored (as putTemp, unconditionally) or a set member added (as addMember) */
export type Put =
  | { kind: 'temp'; key: string; value: string; ttlMs: number }
  | { kind: 'member'; setKey: string; member: string; ttlMs: number };

export interface PutOptions {
  /** only store when the key does not exist (or has expired); the result says whether it was stored */
  ifAbsent?: boolean;
}

export interface Store {
  /** "memory" | "embedded" | "redis" */
  readonly kind: string;

  getDoc(col: string, id: string): Promise<Doc | null>;
  /** same order as ids; null where missing */
  getDocs(col: string, ids: readonly string[]): Promise<Array<Doc | null>>;
  /** every document of a collection, tombstones included, in no particular order */
  listDocs(col: string): Promise<Doc[]>;
  /**
   * Apply all writes and append all audit events atomically (all or nothing), each write subject
   * to its condition. Resolves with one boolean per write: whether it was applied. A write whose
   * condition fails is not an error.
   */
  write(writes: readonly DocWrite[], audit?: readonly AuditEvent[]): Promise<boolean[]>;
  /** newest first */
  listAudit(limit: number): Promise<AuditEvent[]>;

  putTemp(key: string, value: string, ttlMs: number, opts?: PutOptions): Promise<boolean>;
  getTemp(key: string): Promise<string | null>;
  /** the remaining time to live of a temp in ms; null when it does not exist (or has expired) */
  tempTtl(key: string): Promise<number | null>;
  /** get and delete in one atomic step: at most one caller ever receives the value */
  takeTemp(key: string): Promise<string | null>;
  deleteTemp(keys: readonly string[]): Promise<void>;
  /** reset the time to live of an existing key; false when it does not exist */
  touchTemp(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Replace the values of existing keys, keeping their time to live, all in one go (one commit on
   * the embedded store). One boolean per entry, in order: false (nothing stored) where the key
   * does not exist.
   */
  replaceTemps(entries: ReadonlyArray<readonly [key: string, value: string]>): Promise<boolean[]>;

  /**
   * Temps and set members stored together, in order, as one unit where the backend has one: the
   * embedded store commits them in one transaction (all or nothing, one fsync), the memory store
   * applies them one after another in the same call, Redis sends each run of changes of one kind
   * together and the next run only once it is acknowledged (on a Cluster the keys live on
   * different masters, so there is no MULTI that spans them). Either way a change is never stored
   * without the changes before it; a failure may leave those before it, so callers put last
   * what must never be seen alone (a session record after its index entries).
   */
  putAll(changes: readonly Put[]): Promise<void>;

  /** add a member; the whole set expires ttlMs after its latest addition */
  addMember(setKey: string, member: string, ttlMs: number): Promise<void>;
  members(setKey: string): Promise<string[]>;
  removeMember(setKey: string, member: string): Promise<void>;

  /** deliver a message to every subscriber on every instance sharing this store */
  publish(channel: string, message: string): Promise<void>;
  /** returns an unsubscribe function */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;

  /** resolves when the backend answers; rejects with StoreUnavailableError otherwise */
  ping(): Promise<void>;
  /** starts what the first big write would otherwise start and wait for (the embedded store's writer thread) */
  warm?(): void;
  /** reasons the backend's own settings may lose an acknowledged change, for the start-up log */
  durabilityWarnings?(): Promise<string[]>;
  close(): Promise<void>;
}

/** The store did not answer (or, below, did not confirm): the caller answers "retry", never "done". */
export class StoreUnavailableError extends GatewayError {
  override readonly name: string = 'StoreUnavailableError';
  readonly status = 503;
  readonly code: string = 'store_unavailable';
  /** the message names the backend and its failure: for the log only */
  readonly expose = false;
  readonly userMessage = 'the store does not answer; retry in a moment';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A change reached the primary but fewer replicas than required confirmed it in time, so a
 * failover may lose it: answer "retry", never "done" (BRIDGE_REDIS_WAIT_REPLICAS).
 */
export class StoreNotReplicatedError extends StoreUnavailableError {
  override readonly name: string = 'StoreNotReplicatedError';
}

/**
 * Rejects with StoreUnavailableError when `p` does not settle within `ms`; `onTimeout` runs first
 * (the Redis store aborts the commands of the call that are not sent yet).
 */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new StoreUnavailableError(`store did not answer ${what} within ${ms} ms`));
    }, ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Whether a write with `condition` and `version` may replace `existing`. Shared by adapters. */
export function writeAllowed(existing: { version: string } | null | undefined, version: string, condition: WriteCondition = 'not-older'): boolean {
  if (condition === 'always') return true;
  if (condition === 'absent') return !existing;
  return !existing || existing.version <= version;
}

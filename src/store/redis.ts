// Shared store on Redis (node-redis v5), for several bridge instances behind a load balancer: one
// server, a Sentinel set or a Cluster (redis-link.ts holds what differs between them).
//
// Layout, every key under the prefix (default "bridge:"):
//   {prefix}doc:{col}    hash, field id -> JSON {"v": version, "val": value | null}
//   {prefix}audit        stream, one field "e" = JSON event, trimmed to ~100000 entries
//   {prefix}temp:{key}   string with PX expiry
//   {prefix}set:{key}    hash, field member -> "" (PEXPIREd on every addition); a set of an
//                        earlier version (a Redis set) is still read, added to and removed from
//   {prefix}chan:{name}  pub/sub channel
//   {prefix}stage:{uuid} list, a big write's arguments until its script applies them (writeStaged)
// One hash per collection keeps listDocs one HSCAN walk (a single call for a small one), and the version next to the value lets
// the write script decide with one HGET. One write spans the audit stream and several collection
// hashes, so on a Cluster those keys carry one hash tag: the prefix in braces, "{bridge}:doc:…",
// "{bridge}:audit" (the directory lives on one master; a prefix that already holds a tag is kept).
// Temps and sets are single-key (a MULTI touches one key), so they spread over every master by
// their own key: sessions, nonces and login transactions, the bulk of the traffic and memory.
//
// BRIDGE_REDIS_WAIT_REPLICAS=N: after each change (not after TTL-only touches) the store sends
// WAIT N on the connection that made it, and a change that fewer than N replicas confirmed in
// time rejects with StoreNotReplicatedError: the caller answers "retry", not "done".
import { createHash, randomUUID } from 'node:crypto';
import { ErrorReply } from 'redis';
import { StoreNotReplicatedError, StoreUnavailableError, withDeadline, type AuditEvent, type Doc, type DocWrite, type Put, type PutOptions, type Store } from './store.ts';
import { createRedisLink, describe, type RedisCommands, type RedisLink } from './redis-link.ts';
import { parseRedisSpec, type RedisTarget } from './redis-url.ts';
import { mapInSlices, nextTurn } from './slices.ts';
import { AbortFlag } from './abort-flag.ts';

export interface RedisStoreOptions {
  keyPrefix?: string;
  /** deadline of every command; default 2000 */
  commandTimeoutMs?: number;
  /** deadline of opening the store (and of each connection attempt); default 5000 */
  connectTimeoutMs?: number;
  /** replicas that must confirm a change before it is acknowledged (WAIT); default 0 */
  waitReplicas?: number;
  /** how long WAIT waits for them; default 1000 */
  waitTimeoutMs?: number;
}

const AUDIT_MAX_LEN = 100_000;

// The write script, in two forms. Every decision is taken before the first change, so a corrupt
// stored value aborts the script before it has written anything (Redis does not roll back a
// script that fails half way).
// * WRITE_SCRIPT: KEYS[1] the audit stream, KEYS[2..] one doc hash per collection. ARGV[1] the
//   number of writes; per write five args: KEYS index, id, condition, version, stored JSON; then
//   one JSON text per audit event.
// * STAGED_WRITE_SCRIPT, for big writes (stageBatch below): the same five values per write were
//   pushed beforehand onto a staging list, KEYS[2], in chunks; KEYS[1] the audit stream, KEYS[3..]
//   the doc hashes; ARGV[1] the number of writes, then the audit events. A staging list that is
//   not complete (lost in a failover, expired) refuses the whole write with TRYAGAIN.
// Either way one script applies the whole write: all or nothing, as atomic as before. It answers
// one character per write, "1" applied or "0" not: one bulk string, where an array of 10,000
// integers took node-redis 20-40 ms of the event loop to decode in one piece.
const writeScript = (staged: boolean) => `
local function notAfter(a, b)
  -- byte order, like the JS comparison for ASCII versions; Lua's own < follows the server locale
  if a == b then return true end
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local n = tonumber(ARGV[1])
${
  staged
    ? `local A = redis.call('LRANGE', KEYS[2], 0, -1)
if #A ~= n * 5 then return redis.error_reply('TRYAGAIN the staged write is incomplete') end
redis.call('DEL', KEYS[2])
local base = 1
local first = 2`
    : `local A = ARGV
local base = 2
local first = 2 + n * 5`
}
local pending = {}
local applied = {}
for i = 0, n - 1 do
  local at = base + i * 5
  local key, id, cond, version = KEYS[tonumber(A[at])], A[at + 1], A[at + 2], A[at + 3]
  local slot = key .. '\\0' .. id
  local current = pending[slot]
  if current == nil then
    local stored = redis.call('HGET', key, id)
    current = stored and cjson.decode(stored).v or false
  end
  local ok = cond == 'always' or current == false or (cond == 'not-older' and notAfter(current, version))
  if ok then pending[slot] = version end
  applied[i + 1] = ok and 1 or 0
end
for i = 0, n - 1 do
  local at = base + i * 5
  if applied[i + 1] == 1 then redis.call('HSET', KEYS[tonumber(A[at])], A[at + 1], A[at + 4]) end
end
for j = first, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', '${AUDIT_MAX_LEN}', '*', 'e', ARGV[j])
end
return table.concat(applied)
`;
const WRITE_SCRIPT = writeScript(false);
const STAGED_WRITE_SCRIPT = writeScript(true);
/** writes of at least this many documents are staged in chunks (see stageBatch) */
export const STAGE_WRITES = 500;
/** writes per staging command (a few ms to build and encode) */
const STAGE_CHUNK = 250;
/** staging commands sent and not yet answered, at most */
const STAGE_IN_FLIGHT = 4;
/** fields per HSCAN page; also the slice of them parsed per turn of the event loop */
const SCAN_PAGE = 500;
/** a staging list nobody applied (the gateway died half way) disappears after this */
const STAGE_TTL_MS = 120_000;
const STAGED_WRITE_SHA = createHash('sha1').update(STAGED_WRITE_SCRIPT).digest('hex');
const WRITE_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

// A store-port set is a Redis hash whose fields are the members: on Redis 7.0 a small hash is a
// listpack (a one-member index costs ~150 B; a one-member Redis set is a hashtable, ~260 B), and
// most sets are small (a user's sessions). Sets written by earlier versions are Redis sets: the
// script adds to whichever type the key holds, so they keep working until they expire.
// KEYS[1] the set, ARGV[1] the member, ARGV[2] the time to live (ms).
const ADD_MEMBER_SCRIPT = `
if redis.call('TYPE', KEYS[1]).ok == 'set' then redis.call('SADD', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], '') end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;
const ADD_MEMBER_SHA = createHash('sha1').update(ADD_MEMBER_SCRIPT).digest('hex');

/** the reply of a command on a key of the other type (a set of an earlier version) */
const isWrongType = (err: unknown) => err instanceof ErrorReply && err.message.startsWith('WRONGTYPE');

/** Connects; rejects with StoreUnavailableError when Redis does not answer within connectTimeoutMs. */
export async function openRedisStore(spec: string, opts: RedisStoreOptions = {}): Promise<RedisStore> {
  const store = new RedisStore(parseRedisSpec(spec), opts);
  await store.connect();
  return store;
}

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly topology: RedisTarget['topology'];
  /** key prefix of temps, sets and channels */
  readonly prefix: string;
  /** key prefix of the documents and the audit stream (hash-tagged on a cluster) */
  readonly durablePrefix: string;
  private readonly link: RedisLink;
  private readonly commandTimeoutMs: number;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  private closed = false;

  constructor(target: RedisTarget, opts: RedisStoreOptions = {}) {
    this.topology = target.topology;
    this.prefix = opts.keyPrefix ?? 'bridge:';
    this.durablePrefix = target.topology === 'cluster' && !/\{[^}]+\}/.test(this.prefix) ? `{${this.prefix.replace(/:$/, '')}}:` : this.prefix;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 2000;
    this.waitReplicas = opts.waitReplicas ?? 0;
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 1000;
    this.link = createRedisLink(target, { connectTimeoutMs: opts.connectTimeoutMs ?? 5000, closeTimeoutMs: this.commandTimeoutMs });
  }

  /** the command client of the current primary (or the cluster), for rate-limiter-flexible's shared counters (src/limits) */
  get commands(): RedisCommands {
    return this.link.cmd;
  }

  /** @internal used by openRedisStore */
  async connect(): Promise<void> {
    await this.link.connect();
  }

  async getDoc(col: string, id: string): Promise<Doc | null> {
    const raw = await this.run('getDoc', (c) => c.hGet(this.docKey(col), id));
    return raw == null ? null : parseDoc(id, raw);
  }

  async getDocs(col: string, ids: readonly string[]): Promise<Array<Doc | null>> {
    if (ids.length === 0) return [];
    const raws = await this.run('getDocs', (c) => c.hmGet(this.docKey(col), [...ids]));
    return ids.map((id, i) => {
      const raw = raws[i];
      return raw == null ? null : parseDoc(id, raw);
    });
  }

  /**
   * HSCAN, SCAN_PAGE fields at a time, and parsed a slice per turn of the event loop: a
   * collection of 10,000 departments is neither one huge reply nor 10,000 JSON.parse in one go.
   * (A small hash comes back whole in one HSCAN, as with HGETALL.) A field changed during the
   * scan is listed once, with the value of the page that saw it last.
   */
  async listDocs(col: string): Promise<Doc[]> {
    const key = this.docKey(col);
    const raws = new Map<string, string>();
    let cursor = '0';
    do {
      const page = await this.run('listDocs', (c) => c.hScan(key, cursor, { COUNT: SCAN_PAGE }));
      for (const { field, value } of page.entries) raws.set(field, value);
      cursor = String(page.cursor);
    } while (cursor !== '0');
    return mapInSlices([...raws], ([id, raw]) => parseDoc(id, raw), SCAN_PAGE);
  }

  async write(writes: readonly DocWrite[], audit: readonly AuditEvent[] = []): Promise<boolean[]> {
    if (writes.length === 0 && audit.length === 0) return [];
    if (writes.length >= STAGE_WRITES) return this.writeStaged(writes, audit);
    const keys = [this.auditKey()];
    const args = [String(writes.length)];
    for (const w of writes) {
      const key = this.docKey(w.col);
      let k = keys.indexOf(key);
      if (k < 0) k = keys.push(key) - 1;
      args.push(String(k + 1), w.id, w.when ?? 'not-older', w.version, JSON.stringify({ v: w.version, val: w.value }));
    }
    for (const e of audit) args.push(JSON.stringify(e));
    const reply = await this.change('write', [keys[0]!], (c) => this.script(c, WRITE_SHA, WRITE_SCRIPT, keys, args));
    return decisions(reply, writes.length);
  }

  /**
   * A big write (a push of thousands of users or departments): its arguments are built and sent
   * STAGE_CHUNK writes at a time onto a staging list next to the documents (same hash tag), one
   * chunk per turn of the event loop and at most STAGE_IN_FLIGHT of them unanswered, so neither
   * building nor encoding them holds the loop and the write does not wait a round trip per chunk;
   * then, once every chunk is acknowledged, one script applies the whole staged write atomically,
   * as the small form does. Dying half way leaves only the staging list, which expires; so does a
   * deadline passing half way: the chunks not sent yet and the script are never sent (run()).
   */
  private async writeStaged(writes: readonly DocWrite[], audit: readonly AuditEvent[]): Promise<boolean[]> {
    const stage = `${this.durablePrefix}stage:${randomUUID()}`;
    const keys = [this.auditKey(), stage];
    const keyIndex = new Map<string, string>();
    const args = [String(writes.length), ...audit.map((e) => JSON.stringify(e))];
    const reply = await this.change('write', [keys[0]!], async (c, deadline) => {
      const sent: Array<Promise<unknown>> = [];
      for (let i = 0; i < writes.length; i += STAGE_CHUNK) {
        if (i > 0) await nextTurn();
        const waitFor = sent.length - STAGE_IN_FLIGHT;
        if (waitFor >= 0) await sent[waitFor];
        deadline.throwIfAborted();
        const chunk: string[] = [];
        for (let j = i; j < Math.min(writes.length, i + STAGE_CHUNK); j++) {
          const w = writes[j]!;
          const key = this.docKey(w.col);
          let k = keyIndex.get(key);
          if (k === undefined) keyIndex.set(key, (k = String(keys.push(key))));
          chunk.push(k, w.id, w.when ?? 'not-older', w.version, JSON.stringify({ v: w.version, val: w.value }));
        }
        // each chunk with its expiry in one MULTI: a staging list never exists without one (a
        // connection lost or a failover right after a bare RPUSH would leave it for good), and a
        // slow staging cannot outlive it. One connection runs them in order; should one fail, the
        // script is not sent (and would refuse the incomplete list).
        const exec = c.multi().rPush(stage, chunk).pExpire(stage, STAGE_TTL_MS).exec();
        exec.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
        sent.push(exec);
      }
      await Promise.all(sent);
      deadline.throwIfAborted();
      return this.script(c, STAGED_WRITE_SHA, STAGED_WRITE_SCRIPT, keys, args);
    });
    return decisions(reply, writes.length);
  }

  async listAudit(limit: number): Promise<AuditEvent[]> {
    if (limit <= 0) return [];
    const entries = await this.run('listAudit', (c) => c.xRevRange(this.auditKey(), '+', '-', { COUNT: limit }));
    return entries.map((entry) => JSON.parse(entry.message['e'] ?? 'null') as AuditEvent);
  }

  async putTemp(key: string, value: string, ttlMs: number, opts: PutOptions = {}): Promise<boolean> {
    const k = this.tempKey(key);
    const expiration = { type: 'PX' as const, value: px(ttlMs) };
    const reply = await this.change('putTemp', [k], (c) => c.set(k, value, opts.ifAbsent ? { expiration, condition: 'NX' } : { expiration }));
    return reply === 'OK';
  }

  async replaceTemps(entries: ReadonlyArray<readonly [key: string, value: string]>): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const ks = entries.map(([key]) => this.tempKey(key));
    // one SET each (pipelined; on a cluster the keys may live on different masters)
    const replies = await this.change('replaceTemps', ks, (c) => Promise.all(entries.map(([, value], i) => c.set(ks[i]!, value, { expiration: 'KEEPTTL', condition: 'XX' }))));
    return replies.map((r) => r === 'OK');
  }

  async getTemp(key: string): Promise<string | null> {
    return this.run('getTemp', (c) => c.get(this.tempKey(key)));
  }

  async tempTtl(key: string): Promise<number | null> {
    // -2: no such key; -1: no expiry (never the case for a temp)
    const ms = await this.run('tempTtl', (c) => c.pTTL(this.tempKey(key)));
    return ms >= 0 ? ms : null;
  }

  async takeTemp(key: string): Promise<string | null> {
    const k = this.tempKey(key);
    return this.change('takeTemp', [k], (c) => c.getDel(k));
  }

  async deleteTemp(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const ks = keys.map((k) => this.tempKey(k));
    // on a cluster the keys may live on different masters: one DEL each
    await this.change('deleteTemp', ks, (c): Promise<unknown> => (this.topology === 'cluster' ? Promise.all(ks.map((k) => c.del(k))) : c.del(ks)));
  }

  async touchTemp(key: string, ttlMs: number): Promise<boolean> {
    // TTL only: losing it in a failover shortens a session's idle time, so it does not WAIT
    return (await this.run('touchTemp', (c) => c.pExpire(this.tempKey(key), px(ttlMs)))) === 1;
  }

  async addMember(setKey: string, member: string, ttlMs: number): Promise<void> {
    const key = this.setKey(setKey);
    await this.change('addMember', [key], (c) => this.script(c, ADD_MEMBER_SHA, ADD_MEMBER_SCRIPT, [key], [member, String(px(ttlMs))]));
  }

  async putAll(changes: readonly Put[]): Promise<void> {
    // each run of one kind pipelined (its keys may live on different masters), the next run once it is acknowledged
    for (let i = 0; i < changes.length; ) {
      let j = i + 1;
      while (j < changes.length && changes[j]!.kind === changes[i]!.kind) j++;
      await Promise.all(changes.slice(i, j).map((c) => (c.kind === 'temp' ? this.putTemp(c.key, c.value, c.ttlMs) : this.addMember(c.setKey, c.member, c.ttlMs))));
      i = j;
    }
  }

  async members(setKey: string): Promise<string[]> {
    const key = this.setKey(setKey);
    return this.run('members', async (c) => {
      try {
        return await c.hKeys(key);
      } catch (err) {
        if (!isWrongType(err)) throw err;
        return await c.sMembers(key);
      }
    });
  }

  async removeMember(setKey: string, member: string): Promise<void> {
    // Redis deletes a hash (and a set) when its last member goes
    const key = this.setKey(setKey);
    await this.change('removeMember', [key], async (c) => {
      try {
        return await c.hDel(key, member);
      } catch (err) {
        if (!isWrongType(err)) throw err;
        return await c.sRem(key, member);
      }
    });
  }

  /** EVALSHA, or EVAL when the server does not have the script yet */
  private async script(c: RedisCommands, sha: string, script: string, keys: string[], args: string[]): Promise<unknown> {
    const options = { keys, arguments: args };
    try {
      return await c.evalSha(sha, options);
    } catch (err) {
      if (!(err instanceof ErrorReply && err.message.startsWith('NOSCRIPT'))) throw err;
      return await c.eval(script, options);
    }
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run('publish', () => this.link.publish(this.channel(channel), message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new StoreUnavailableError('redis store is closed');
    const name = this.channel(channel);
    const listener = (message: string) => {
      // a throwing handler must not unwind into node-redis's reply parser (it would drop the rest
      // of the chunk); report it like any other warning instead
      try {
        handler(message);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : String(err));
      }
    };
    await this.run('subscribe', () => this.link.subscribe(name, listener));
    return () => this.run('unsubscribe', () => this.link.unsubscribe(name, listener));
  }

  async ping(): Promise<void> {
    // on a cluster: the master of the directory's slot, which every sync needs
    await this.run('ping', (_c, deadline) => this.link.sendTo(this.auditKey(), ['PING'], deadline.signal));
  }

  /**
   * What the servers' settings mean for an acknowledged change, as warnings for the start-up log:
   * fewer replicas than waitReplicas (now, or after a failover on Sentinel and Cluster, which
   * leaves the new primary one replica fewer), a min-replicas-to-write the primary cannot meet
   * (it refuses writes itself), no append-only file, an fsync policy that can lose a second.
   */
  async durabilityWarnings(): Promise<string[]> {
    const warnings: string[] = [];
    const infos = (await this.run('check replication', () => this.link.onEveryPrimary(['INFO', 'replication']))) as string[];
    const counts = infos.map((info) => Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0));
    const replicas = Math.min(...counts);
    if (this.waitReplicas > 0 && replicas < this.waitReplicas) {
      warnings.push(`BRIDGE_REDIS_WAIT_REPLICAS=${this.waitReplicas} but a primary has ${replicas} connected replica(s): every change will time out and be answered "retry"`);
    } else if (this.waitReplicas > 0 && this.topology !== 'single' && replicas - 1 < this.waitReplicas) {
      warnings.push(
        `BRIDGE_REDIS_WAIT_REPLICAS=${this.waitReplicas} with ${replicas} replica(s) per primary: after a failover the new primary has ${replicas - 1}, and every change is answered "retry" until a replica is added (run ${this.waitReplicas + 1})`,
      );
    }
    warnings.push(...(await this.minReplicasWarnings(counts)));
    if (this.waitReplicas === 0 && this.topology !== 'single') {
      warnings.push('BRIDGE_REDIS_WAIT_REPLICAS=0: a change acknowledged just before a failover can be lost (replication is asynchronous)');
    }
    let configs: unknown[];
    try {
      configs = await this.run('check persistence', () => this.link.onEveryPrimary(['CONFIG', 'GET', 'append*']));
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      // managed services often rename or refuse CONFIG
      warnings.push(`cannot read the servers' persistence settings (${describe(err)}); check appendonly yes and appendfsync everysec or always`);
      return warnings;
    }
    for (const reply of configs) {
      const conf = configMap(reply);
      if (conf['appendonly'] === 'no') {
        warnings.push(
          this.waitReplicas > 0
            ? 'a primary runs with appendonly no: a change is kept only in memory, on it and its replicas; restarting them all at once loses it'
            : 'a primary runs with appendonly no: an acknowledged change is lost when it restarts',
        );
      } else if (conf['appendfsync'] === 'no') {
        warnings.push('a primary runs with appendfsync no: a crash of its machine can lose the last ~30 s of acknowledged changes');
      }
    }
    return [...new Set(warnings)];
  }

  /**
   * min-replicas-to-write M: a primary with fewer than M replicas (lagging at most
   * min-replicas-max-lag seconds) refuses writes with NOREPLICAS, answered "retry" like a WAIT
   * timeout. It bounds what a primary cut off from its replicas accepts, but it confirms nothing
   * per change (WAIT does); here only the settings that would refuse every change are named.
   */
  private async minReplicasWarnings(counts: readonly number[]): Promise<string[]> {
    let replies: unknown[];
    try {
      replies = await this.run('check min-replicas', () => this.link.onEveryPrimary(['CONFIG', 'GET', 'min-replicas-to-write']));
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      return []; // CONFIG refused: the persistence check below says so
    }
    const warnings: string[] = [];
    for (const [i, reply] of replies.entries()) {
      const min = Number(configMap(reply)['min-replicas-to-write'] ?? 0);
      const have = counts[i] ?? 0;
      if (min > have) {
        warnings.push(`a primary has min-replicas-to-write ${min} but ${have} connected replica(s): it refuses every write (NOREPLICAS), each change is answered "retry"`);
      } else if (min > 0 && this.topology !== 'single' && have - 1 < min) {
        warnings.push(`min-replicas-to-write ${min} with ${have} replica(s) per primary: after a failover the new primary has ${have - 1} and refuses every write until a replica is added`);
      }
    }
    return warnings;
  }

  /** Quits cleanly when Redis answers, drops the connections otherwise; never waits past the deadline. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.link.close();
  }

  /** A change, then (with waitReplicas) WAIT on the connection of each key it touched. */
  private change<T>(what: string, keys: readonly string[], command: Command<T>): Promise<T> {
    if (this.waitReplicas === 0) return this.run(what, command);
    return this.run(
      what,
      async (c, deadline) => {
        const epoch = this.link.epoch;
        const result = await command(c, deadline);
        const routes = this.topology === 'cluster' ? [...new Set(keys)] : keys.slice(0, 1);
        const confirmed = await Promise.all(routes.map((k) => this.link.sendTo(k, ['WAIT', String(this.waitReplicas), String(this.waitTimeoutMs)], deadline.signal)));
        if (this.link.epoch !== epoch) {
          // a connection changed under the change: WAIT may have run on another one (redis-link.ts)
          throw new StoreNotReplicatedError(`redis ${what}: the connection changed before its replicas confirmed the change`);
        }
        const least = Math.min(...confirmed.map(Number));
        if (least < this.waitReplicas) {
          throw new StoreNotReplicatedError(`redis ${what}: ${least} of ${this.waitReplicas} replica(s) confirmed the change within ${this.waitTimeoutMs} ms`);
        }
        return result;
      },
      this.commandTimeoutMs + this.waitTimeoutMs,
    );
  }

  /**
   * Runs one store call under its deadline; connection trouble becomes StoreUnavailableError.
   * The call's commands carry the deadline as their abort signal (CallDeadline): a command node-redis has
   * not handed to the socket by then (a Sentinel client waiting for a new primary, a socket that
   * must drain, the later chunks of a staged write) is dropped and never sent, so a call answered
   * "retry" does not run later. A command already written cannot be recalled: Redis may still
   * carry it out after the deadline (a paused or slow server). Every change the gateway makes is
   * safe to have happened anyway — versioned documents (a push's retry, or the late original,
   * leaves the same state), temps and sets keyed by random ids (test/store/redis-abort.test.ts).
   */
  private async run<T>(what: string, command: Command<T>, deadlineMs = this.commandTimeoutMs): Promise<T> {
    const deadline = new CallDeadline();
    try {
      return await withDeadline(command(this.link.bound(deadline.signal), deadline), deadlineMs, what, () => deadline.abort());
    } catch (err) {
      const e = toStoreError(what, err);
      if (e instanceof StoreUnavailableError) this.link.trouble();
      throw e;
    }
  }

  private docKey(col: string): string {
    return `${this.durablePrefix}doc:${col}`;
  }

  private auditKey(): string {
    return `${this.durablePrefix}audit`;
  }

  private tempKey(key: string): string {
    return `${this.prefix}temp:${key}`;
  }

  private setKey(key: string): string {
    return `${this.prefix}set:${key}`;
  }

  private channel(name: string): string {
    return `${this.prefix}chan:${name}`;
  }
}

/** one store call's commands, on commands bound to the call's deadline */
type Command<T> = (c: RedisCommands, deadline: CallDeadline) => Promise<T>;

/**
 * One store call's deadline, in the shape node-redis takes as a command's `abortSignal`: it reads
 * `aborted` when it queues a command and adds an "abort" listener until it writes it (5.12,
 * client/commands-queue.js, the only place that uses the option). A real AbortController per
 * call, with node-redis's listener on it, tripled the CPU of a getTemp (7 to 17–25 µs, measured);
 * this costs next to nothing. test/store/redis-abort.test.ts checks node-redis still drops a
 * queued command when it aborts.
 */
class CallDeadline extends AbortFlag {
  /** before each further command of a call: past the deadline nothing more is sent */
  throwIfAborted(): void {
    if (this.aborted) throw new StoreUnavailableError('the store call passed its deadline: nothing more is sent');
  }
}

/** CONFIG GET replies: a flat [name, value, …] list (RESP2) or a map (RESP3) */
function configMap(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
  }
  return (reply ?? {}) as Record<string, string>;
}

/** Redis rejects PX 0; a non-positive ttl keeps the key for a millisecond, near enough to "expired". */
function px(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

/** the write script's answer: one "1" (applied) or "0" per write */
function decisions(reply: unknown, writes: number): boolean[] {
  if (typeof reply !== 'string' || reply.length !== writes || !/^[01]*$/.test(reply)) throw new Error('redis write script returned an unexpected reply');
  const out = new Array<boolean>(writes);
  for (let i = 0; i < writes; i++) out[i] = reply.charCodeAt(i) === 49;
  return out;
}

function parseDoc(id: string, raw: string): Doc {
  const { v, val } = JSON.parse(raw) as { v: string; val: string | null };
  return { id, version: v, value: val };
}

// Server replies that mean "not now" rather than "wrong request".
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)\b/;

function toStoreError(what: string, err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  // other server replies (WRONGTYPE, script errors) are bugs or corrupt data: let them through
  if (err instanceof ErrorReply && !TRANSIENT_REPLY.test(err.message)) return err;
  return new StoreUnavailableError(`redis could not ${what}: ${describe(err)}`, { cause: err });
}

// Shared store on Redis (node-redis v5), for several bridge instances behind a load balancer.
//
// Layout, every key under the prefix (default "bridge:"):
//   {prefix}doc:{col}    hash, field id -> JSON {"v": version, "val": value | null}
//   {prefix}temp:{key}   string with PX expiry
//   {prefix}set:{key}    set, PEXPIREd on every addition
//   {prefix}audit        stream, one field "e" = JSON event, trimmed to ~100000 entries
//   {prefix}chan:{name}  pub/sub channel
// One hash per collection keeps listDocs a single HGETALL, and the version next to the value lets
// the write script decide with one HGET. The keys of one write span several hashes, so this layout
// needs a single Redis (or a prefix with a hash tag, e.g. "{bridge}:", on a cluster).
//
// Never hangs: the offline queue is off (commands fail at once while reconnecting), every command
// runs under withDeadline, and reconnection goes on forever in the background.
import { createHash } from 'node:crypto';
import { createClient, ErrorReply, type RedisClientType } from 'redis';
import { StoreUnavailableError, withDeadline, type AuditEvent, type Doc, type DocWrite, type PutOptions, type Store } from './store.ts';

export interface RedisStoreOptions {
  keyPrefix?: string;
  /** deadline of every command; default 2000 */
  commandTimeoutMs?: number;
  /** deadline of opening the store (and of each connection attempt); default 5000 */
  connectTimeoutMs?: number;
}

const AUDIT_MAX_LEN = 100_000;
const MAX_BACKOFF_MS = 2000;

// KEYS[1] the audit stream, KEYS[2..] one doc hash per collection.
// ARGV[1] the number of writes; per write five args: KEYS index, id, condition, version, stored
// JSON; then one JSON text per audit event.
// Every decision is taken before the first change, so a corrupt stored value aborts the script
// before it has written anything (Redis does not roll back a script that fails half way).
const WRITE_SCRIPT = `
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
local pending = {}
local applied = {}
for i = 0, n - 1 do
  local at = 2 + i * 5
  local key, id, cond, version = KEYS[tonumber(ARGV[at])], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
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
  local at = 2 + i * 5
  if applied[i + 1] == 1 then redis.call('HSET', KEYS[tonumber(ARGV[at])], ARGV[at + 1], ARGV[at + 4]) end
end
for j = 2 + n * 5, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', '${AUDIT_MAX_LEN}', '*', 'e', ARGV[j])
end
return applied
`;
const WRITE_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

/** Connects; rejects with StoreUnavailableError when Redis does not answer within connectTimeoutMs. */
export async function openRedisStore(url: string, opts: RedisStoreOptions = {}): Promise<RedisStore> {
  const store = new RedisStore(url, opts);
  await store.connect();
  return store;
}

export class RedisStore implements Store {
  readonly kind = 'redis';
  /** the command connection, for connect-redis */
  readonly client: RedisClientType;
  /** key prefix of every key this store writes */
  readonly prefix: string;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private subscriber: Promise<RedisClientType> | undefined;
  private lastError: unknown;
  private closed = false;

  constructor(url: string, opts: RedisStoreOptions = {}) {
    this.prefix = opts.keyPrefix ?? 'bridge:';
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 2000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.connectTimeoutMs,
        // never give up: the store must come back by itself once Redis does
        reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, MAX_BACKOFF_MS) + Math.floor(Math.random() * 100),
      },
    });
    this.watch(this.client);
  }

  /** @internal used by openRedisStore */
  async connect(): Promise<void> {
    await this.connectClient(this.client, 'connect');
  }

  async getDoc(col: string, id: string): Promise<Doc | null> {
    const raw = await this.run('getDoc', () => this.client.hGet(this.docKey(col), id));
    return raw == null ? null : parseDoc(id, raw);
  }

  async getDocs(col: string, ids: readonly string[]): Promise<Array<Doc | null>> {
    if (ids.length === 0) return [];
    const raws = await this.run('getDocs', () => this.client.hmGet(this.docKey(col), [...ids]));
    return ids.map((id, i) => {
      const raw = raws[i];
      return raw == null ? null : parseDoc(id, raw);
    });
  }

  async listDocs(col: string): Promise<Doc[]> {
    const all = await this.run('listDocs', () => this.client.hGetAll(this.docKey(col)));
    return Object.entries(all).map(([id, raw]) => parseDoc(id, raw));
  }

  async write(writes: readonly DocWrite[], audit: readonly AuditEvent[] = []): Promise<boolean[]> {
    if (writes.length === 0 && audit.length === 0) return [];
    const keys = [`${this.prefix}audit`];
    const args = [String(writes.length)];
    for (const w of writes) {
      const key = this.docKey(w.col);
      let k = keys.indexOf(key);
      if (k < 0) k = keys.push(key) - 1;
      args.push(String(k + 1), w.id, w.when ?? 'not-older', w.version, JSON.stringify({ v: w.version, val: w.value }));
    }
    for (const e of audit) args.push(JSON.stringify(e));
    const reply = await this.run('write', async () => {
      const options = { keys, arguments: args };
      try {
        return await this.client.evalSha(WRITE_SHA, options);
      } catch (err) {
        if (!(err instanceof ErrorReply && err.message.startsWith('NOSCRIPT'))) throw err;
        return await this.client.eval(WRITE_SCRIPT, options);
      }
    });
    if (!Array.isArray(reply) || reply.length !== writes.length) throw new Error('redis write script returned an unexpected reply');
    return reply.map((x) => x === 1);
  }

  async listAudit(limit: number): Promise<AuditEvent[]> {
    if (limit <= 0) return [];
    const entries = await this.run('listAudit', () => this.client.xRevRange(`${this.prefix}audit`, '+', '-', { COUNT: limit }));
    return entries.map((entry) => JSON.parse(entry.message['e'] ?? 'null') as AuditEvent);
  }

  async putTemp(key: string, value: string, ttlMs: number, opts: PutOptions = {}): Promise<boolean> {
    const expiration = { type: 'PX' as const, value: px(ttlMs) };
    const reply = await this.run('putTemp', () =>
      this.client.set(this.tempKey(key), value, opts.ifAbsent ? { expiration, condition: 'NX' } : { expiration }),
    );
    return reply === 'OK';
  }

  async getTemp(key: string): Promise<string | null> {
    return this.run('getTemp', () => this.client.get(this.tempKey(key)));
  }

  async takeTemp(key: string): Promise<string | null> {
    return this.run('takeTemp', () => this.client.getDel(this.tempKey(key)));
  }

  async deleteTemp(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.run('deleteTemp', () => this.client.del(keys.map((k) => this.tempKey(k))));
  }

  async touchTemp(key: string, ttlMs: number): Promise<boolean> {
    return (await this.run('touchTemp', () => this.client.pExpire(this.tempKey(key), px(ttlMs)))) === 1;
  }

  async addMember(setKey: string, member: string, ttlMs: number): Promise<void> {
    const key = this.setKey(setKey);
    await this.run('addMember', () => this.client.multi().sAdd(key, member).pExpire(key, px(ttlMs)).exec());
  }

  async members(setKey: string): Promise<string[]> {
    return this.run('members', () => this.client.sMembers(this.setKey(setKey)));
  }

  async removeMember(setKey: string, member: string): Promise<void> {
    // Redis deletes a set when its last member goes
    await this.run('removeMember', () => this.client.sRem(this.setKey(setKey), member));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run('publish', () => this.client.publish(this.channel(channel), message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    const sub = await this.getSubscriber();
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
    await this.run('subscribe', () => sub.subscribe(name, listener));
    return () => this.run('unsubscribe', () => sub.unsubscribe(name, listener));
  }

  async ping(): Promise<void> {
    await this.run('ping', () => this.client.ping());
  }

  /** Quits cleanly when Redis answers, drops the connections otherwise; never waits past the deadline. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sub = await this.subscriber?.catch(() => undefined);
    await Promise.all([this.quit(this.client), sub && this.quit(sub)]);
  }

  private async quit(client: RedisClientType): Promise<void> {
    if (!client.isOpen) return;
    try {
      // Redis answers in order: once PING is answered nothing else is in flight, so close() is quick
      await withDeadline(client.ping(), this.commandTimeoutMs, 'close');
      await withDeadline(client.close(), this.commandTimeoutMs, 'close');
    } catch {
      if (client.isOpen) client.destroy();
    }
  }

  private getSubscriber(): Promise<RedisClientType> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('redis store is closed'));
    this.subscriber ??= (async () => {
      const sub = this.client.duplicate();
      this.watch(sub);
      await this.connectClient(sub, 'subscriber connect');
      return sub;
    })().catch((err: unknown) => {
      this.subscriber = undefined; // the next subscribe tries again
      throw err;
    });
    return this.subscriber;
  }

  private watch(client: RedisClientType): void {
    // without a listener an 'error' event would crash the process; reconnection is automatic
    client.on('error', (err: unknown) => {
      this.lastError = err;
    });
  }

  private async connectClient(client: RedisClientType, what: string): Promise<void> {
    // connect() keeps retrying (reconnectStrategy) until it succeeds: bound it, then stop it
    const connecting = client.connect();
    try {
      await withDeadline(connecting, this.connectTimeoutMs, what);
    } catch (err) {
      connecting.catch(() => undefined);
      if (client.isOpen) client.destroy();
      throw new StoreUnavailableError(`redis ${what} failed: ${describe(this.lastError ?? err)}`, { cause: err });
    }
  }

  /** Runs one command under the deadline; connection trouble becomes StoreUnavailableError. */
  private async run<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(command(), this.commandTimeoutMs, what);
    } catch (err) {
      throw toStoreError(what, err);
    }
  }

  private docKey(col: string): string {
    return `${this.prefix}doc:${col}`;
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

/** Redis rejects PX 0; a non-positive ttl keeps the key for a millisecond, near enough to "expired". */
function px(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
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

function describe(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

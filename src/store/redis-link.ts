// The connection side of the Redis store, one shape for the three topologies: a single server,
// a Sentinel-watched primary, a Cluster. The store above it only sends commands.
//
// Never hangs: the offline queue is off on every node connection (commands fail at once while a
// node is unreachable), callers bound every call, and reconnection goes on in the background.
// Following a failover:
// * Sentinel: node-redis asks the sentinels for the new primary (their +switch-master message,
//   a READONLY reply, or a lost connection) and moves the command and pub/sub connections there.
//   Measured (bench/failover-trace.ts), it follows 2-3 s after the sentinels switch: its
//   rediscovery (node-redis 5.12 @redis/client/dist/lib/sentinel/index.js, #connect / analyze)
//   asks one sentinel, takes no primary that sentinel flags s_down, disconnected or
//   failover_in_progress (the elected sentinel's flag until its +failover-end; then disconnected
//   until it has reconnected, up to 1 s), and pauses a fixed 1 s before each new look; sentinel
//   messages arriving meanwhile do not cut the pause short. That is within the 10 s the chaos
//   test allows; the ~19 s rounds it once saw were a second failover (Sentinel's
//   down-after-milliseconds too low, README), not this client.
//   Known risk, read in that code and not reproduced: a sentinel reports a killed primary with no
//   flag for the first few ms and for a moment at its once-a-second reconnect attempts (a probe
//   asking without pause saw such answers after 2 of 3 kills, at 1-4 ms and once at 1033 ms).
//   A rediscovery landing there (node-redis's first look comes ~5-10 ms after the kill) reopens
//   the dead primary, and transform() awaits that connect(), which the never-giving-up
//   reconnectStrategy below never ends: the link would then wait for that address for good
//   (and close() with it). Giving up instead is no cure: its pub/sub client, once given up,
//   makes every later changeNode() throw (destroy() of a closed client).
// * Cluster: node-redis re-reads the slot map only on MOVED/ASK, which a dead master never sends;
//   so a node connection error here asks for a new slot map (at most once per REDISCOVER_EVERY_MS)
//   until a replica has taken the dead master's slots.
import { createClient, createCluster, createSentinel, type RedisClientType, type RedisClusterType, type RedisSentinelType } from 'redis';
import { StoreUnavailableError, withDeadline } from './store.ts';
import type { RedisNodeAddress, RedisTarget } from './redis-url.ts';

/**
 * The command methods the store uses. The cluster and sentinel clients have the same methods
 * with the same signatures (a cluster routes each by its first key), so one type serves all.
 */
export type RedisCommands = Pick<
  RedisClientType,
  'hGet' | 'hmGet' | 'hGetAll' | 'hScan' | 'rPush' | 'evalSha' | 'eval' | 'xRevRange' | 'set' | 'get' | 'getDel' | 'del' | 'pExpire' | 'multi' | 'sMembers' | 'sRem' | 'hKeys' | 'hDel' | 'pTTL'
>;

export type Listener = (message: string) => void;

export interface RedisLinkOptions {
  connectTimeoutMs: number;
  /** deadline of close() */
  closeTimeoutMs: number;
}

export interface RedisLink {
  readonly topology: RedisTarget['topology'];
  readonly cmd: RedisCommands;
  /**
   * `cmd` bound to `signal`: a command still waiting in node-redis when the signal aborts (not
   * yet handed to the socket: a Sentinel client waiting for a primary, a socket that must drain)
   * is dropped with an AbortError and never sent. One already written is not recalled. (MULTI
   * blocks ignore the signal: their callers check it before each one.)
   */
  bound(signal: AbortSignal): RedisCommands;
  connect(): Promise<void>;
  /** a raw command on the connection that serves `key` (its slot's master on a cluster); `signal` as in bound() */
  sendTo(key: string, args: string[], signal?: AbortSignal): Promise<unknown>;
  /** a raw command on every primary (one on single and sentinel, each master on a cluster) */
  onEveryPrimary(args: string[]): Promise<unknown[]>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, listener: Listener): Promise<void>;
  unsubscribe(channel: string, listener: Listener): Promise<void>;
  /** called after a command failed for want of a connection */
  trouble(): void;
  /** the last connection error, for messages */
  readonly lastError: unknown;
  /**
   * Counts connection events (errors, reconnections, a new primary or slot map). WAIT only
   * speaks for the writes of the connection it runs on: a WAIT that node-redis retried on a new
   * connection after the change would confirm nothing, so a change whose epoch moved before its
   * WAIT answered is not confirmed.
   */
  readonly epoch: number;
  close(): Promise<void>;
}

const MAX_BACKOFF_MS = 2000;
const REDISCOVER_EVERY_MS = 500;

// never give up: the store must come back by itself once Redis does
const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, MAX_BACKOFF_MS) + Math.floor(Math.random() * 100);

export function createRedisLink(target: RedisTarget, opts: RedisLinkOptions): RedisLink {
  switch (target.topology) {
    case 'single':
      return new SingleLink(target.url, opts);
    case 'sentinel':
      return new SentinelLink(target, opts);
    case 'cluster':
      return new ClusterLink(target, opts);
  }
}

abstract class BaseLink {
  lastError: unknown;
  epoch = 0;
  protected constructor(protected readonly opts: RedisLinkOptions) {}

  protected noteError = (err: unknown): void => {
    this.lastError = err;
    this.epoch += 1;
  };

  protected bump = (): void => {
    this.epoch += 1;
  };

  /** connect() may keep retrying: bound it, and drop the half-open client when it fails */
  protected async bounded(connecting: Promise<unknown>, what: string, drop: () => void): Promise<void> {
    try {
      await withDeadline(connecting, this.opts.connectTimeoutMs, what);
    } catch (err) {
      connecting.catch(() => undefined);
      drop();
      throw new StoreUnavailableError(`redis ${what} failed: ${describe(this.lastError ?? err)}`, { cause: err });
    }
  }

  /** close cleanly when the servers answer, drop the connections otherwise */
  protected async closeOrDrop(close: () => Promise<unknown>, drop: () => unknown): Promise<void> {
    try {
      await withDeadline(close(), this.opts.closeTimeoutMs, 'close');
    } catch {
      drop();
    }
  }
}

class SingleLink extends BaseLink implements RedisLink {
  readonly topology = 'single' as const;
  private readonly client: RedisClientType;
  private subscriber: Promise<RedisClientType> | undefined;
  private closed = false;

  constructor(url: string, opts: RedisLinkOptions) {
    super(opts);
    this.client = createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: opts.connectTimeoutMs, reconnectStrategy } });
    // without a listener an 'error' event would crash the process; reconnection is automatic
    this.client.on('error', this.noteError);
    this.client.on('reconnecting', this.bump);
    this.client.on('ready', this.bump);
  }

  get cmd(): RedisCommands {
    return this.client;
  }

  bound(signal: AbortSignal): RedisCommands {
    return this.client.withAbortSignal(signal);
  }

  async connect(): Promise<void> {
    await this.bounded(this.client.connect(), 'connect', () => this.client.isOpen && this.client.destroy());
  }

  sendTo(_key: string, args: string[], signal?: AbortSignal): Promise<unknown> {
    return this.client.sendCommand(args, signal ? { abortSignal: signal } : undefined);
  }

  async onEveryPrimary(args: string[]): Promise<unknown[]> {
    return [await this.client.sendCommand(args)];
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(channel, message);
  }

  async subscribe(channel: string, listener: Listener): Promise<void> {
    await (await this.getSubscriber()).subscribe(channel, listener);
  }

  async unsubscribe(channel: string, listener: Listener): Promise<void> {
    await (await this.getSubscriber()).unsubscribe(channel, listener);
  }

  trouble(): void {}

  async close(): Promise<void> {
    this.closed = true;
    const sub = await this.subscriber?.catch(() => undefined);
    await Promise.all([this.quit(this.client), sub && this.quit(sub)]);
  }

  private async quit(client: RedisClientType): Promise<void> {
    if (!client.isOpen) return;
    // Redis answers in order: once PING is answered nothing else is in flight, so close() is quick
    await this.closeOrDrop(
      async () => {
        await client.ping();
        await client.close();
      },
      () => client.isOpen && client.destroy(),
    );
  }

  private getSubscriber(): Promise<RedisClientType> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('redis store is closed'));
    this.subscriber ??= (async () => {
      const sub = this.client.duplicate();
      sub.on('error', this.noteError);
      await this.bounded(sub.connect(), 'subscriber connect', () => sub.isOpen && sub.destroy());
      return sub;
    })().catch((err: unknown) => {
      this.subscriber = undefined; // the next subscribe tries again
      throw err;
    });
    return this.subscriber;
  }
}

class SentinelLink extends BaseLink implements RedisLink {
  readonly topology = 'sentinel' as const;
  private readonly sentinel: RedisSentinelType;

  constructor(target: Extract<RedisTarget, { topology: 'sentinel' }>, opts: RedisLinkOptions) {
    super(opts);
    const socket = { connectTimeout: opts.connectTimeoutMs, reconnectStrategy };
    this.sentinel = createSentinel({
      name: target.masterName,
      sentinelRootNodes: target.sentinels,
      nodeClientOptions: {
        ...credentials(target),
        database: target.database,
        disableOfflineQueue: true,
        socket,
      },
      // the credentials are the data nodes'; sentinels commonly run without (see README)
      sentinelClientOptions: { socket },
      // one connection to the primary: WAIT counts the writes of the connection it is sent on
      masterPoolSize: 1,
      // the topology is also re-read on +switch-master and on a lost primary; this is the fallback
      scanInterval: 2000,
      passthroughClientErrorEvents: true,
    });
    // The epoch counts what can change the primary connection WAIT runs on: an error of that
    // connection, or new primary clients. A sentinel's own trouble and a new list of sentinels
    // (SENTINE_LIST_CHANGE, node-redis's spelling: each time a sentinel learns of its peers, as
    // ~2 s after a set starts) do not; counting them answered in-flight changes "retry".
    this.sentinel.on('error', (err: unknown) => {
      this.lastError = err;
    });
    this.sentinel.on('client-error', (e: { type: string; error: unknown }) => {
      if (e.type === 'MASTER') this.noteError(e.error);
      else this.lastError = e.error;
    });
    this.sentinel.on('topology-change', (e: { type: string }) => {
      if (e.type === 'MASTER_CHANGE') this.bump();
    });
  }

  get cmd(): RedisCommands {
    return this.sentinel as unknown as RedisCommands;
  }

  /**
   * node-redis 5.12's sentinel client has no per-command options of its own: its
   * withCommandOptions() sets a field its commands never read, and its commands take their
   * options from the `commandOptions` getter (sentinel/utils.js createCommand,
   * createScriptCommand). A view of the client with its own `commandOptions` gives each command
   * the signal; node-redis checks it when, after waiting for a primary, it queues the command.
   */
  bound(signal: AbortSignal): RedisCommands {
    return Object.create(this.sentinel, { commandOptions: { value: { abortSignal: signal } } }) as RedisCommands;
  }

  async connect(): Promise<void> {
    await this.bounded(this.sentinel.connect(), 'sentinel connect', () => void this.sentinel.destroy().catch(() => undefined));
  }

  sendTo(_key: string, args: string[], signal?: AbortSignal): Promise<unknown> {
    return this.sentinel.sendCommand(false, args, signal ? { abortSignal: signal } : undefined);
  }

  async onEveryPrimary(args: string[]): Promise<unknown[]> {
    return [await this.sentinel.sendCommand(false, args)];
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.sentinel.publish(channel, message);
  }

  async subscribe(channel: string, listener: Listener): Promise<void> {
    await this.sentinel.subscribe(channel, listener);
  }

  async unsubscribe(channel: string, listener: Listener): Promise<void> {
    await this.sentinel.unsubscribe(channel, listener as unknown as Parameters<RedisSentinelType['unsubscribe']>[1]);
  }

  trouble(): void {}

  async close(): Promise<void> {
    if (!this.sentinel.isOpen) return;
    await this.closeOrDrop(
      () => this.sentinel.close(),
      () => this.sentinel.destroy().catch(() => undefined),
    );
  }
}

/** what node-redis keeps of the slot map; its rediscover() is not part of the typed surface */
interface ClusterSlots {
  rediscover(startWith: { options: { socket: RedisNodeAddress } }): Promise<void>;
}

class ClusterLink extends BaseLink implements RedisLink {
  readonly topology = 'cluster' as const;
  private readonly cluster: RedisClusterType;
  private readonly nodes: RedisNodeAddress[];
  private lastRediscover = 0;
  private closed = false;

  constructor(target: Extract<RedisTarget, { topology: 'cluster' }>, opts: RedisLinkOptions) {
    super(opts);
    this.nodes = target.nodes;
    this.cluster = createCluster({
      rootNodes: target.nodes.map((socket) => ({ socket })),
      defaults: {
        ...credentials(target),
        disableOfflineQueue: true,
        socket: { connectTimeout: opts.connectTimeoutMs, reconnectStrategy },
      },
    });
    this.cluster.on('error', this.noteError);
    this.cluster.on('node-error', (err: unknown) => {
      this.noteError(err);
      this.trouble();
    });
    for (const event of ['node-connect', 'node-ready', 'node-reconnecting', 'node-disconnect']) this.cluster.on(event, this.bump);
  }

  get cmd(): RedisCommands {
    return this.cluster as unknown as RedisCommands;
  }

  bound(signal: AbortSignal): RedisCommands {
    return this.cluster.withCommandOptions({ abortSignal: signal }) as unknown as RedisCommands;
  }

  async connect(): Promise<void> {
    await this.bounded(this.cluster.connect(), 'cluster connect', () => this.cluster.destroy());
  }

  sendTo(key: string, args: string[], signal?: AbortSignal): Promise<unknown> {
    return this.cluster.sendCommand(key, false, args, signal ? { abortSignal: signal } : undefined);
  }

  async onEveryPrimary(args: string[]): Promise<unknown[]> {
    return Promise.all(this.cluster.masters.map(async (m) => (await this.cluster.nodeClient(m)).sendCommand(args)));
  }

  // Classic pub/sub, not sharded: a cluster forwards PUBLISH to every node, and node-redis moves
  // the classic subscriber to a live node after a failover, whereas it drops sharded listeners
  // whose master left the slot map. The channels carry a few small invalidations, so the
  // cluster-wide fan-out costs little.
  async publish(channel: string, message: string): Promise<void> {
    await this.cluster.publish(channel, message);
  }

  async subscribe(channel: string, listener: Listener): Promise<void> {
    await this.cluster.subscribe(channel, listener);
  }

  async unsubscribe(channel: string, listener: Listener): Promise<void> {
    await this.cluster.unsubscribe(channel, listener as unknown as Parameters<RedisClusterType['unsubscribe']>[1]);
  }

  trouble(): void {
    const now = Date.now();
    if (this.closed || now - this.lastRediscover < REDISCOVER_EVERY_MS) return;
    this.lastRediscover = now;
    const slots = (this.cluster as unknown as { _slots: ClusterSlots })._slots;
    const start = this.nodes[Math.floor(Math.random() * this.nodes.length)]!;
    // it falls back to every root node when the first does not answer
    this.bump();
    slots.rediscover({ options: { socket: start } }).then(this.bump, this.noteError);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.cluster.isOpen) return;
    await this.closeOrDrop(
      () => this.cluster.close(),
      () => this.cluster.destroy(),
    );
  }
}

function credentials(c: { username?: string; password?: string }): { username?: string; password?: string } {
  return { ...(c.username ? { username: c.username } : {}), ...(c.password ? { password: c.password } : {}) };
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

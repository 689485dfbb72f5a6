// Rate limits (rate-limiter-flexible) by client address and by tenant. On Redis the counters are
// shared by every instance; on the embedded and memory stores they live in this process (one
// instance is all those stores serve). A Redis that does not answer in time falls back to an
// in-process counter of the same limit, so a store outage neither opens the gates nor hangs.
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Settings } from '../config/load.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Store } from '../store/store.ts';
import { keyspace } from '../store/keyspace.ts';

export type LimitName = 'login' | 'login-tenant' | 'transactions' | 'callback' | 'callback-tenant' | 'oidc' | 'push-failures' | 'admin';

export type Verdict = { ok: true } | { ok: false; retryAfterSec: number };

const OK: Verdict = { ok: true };
/** how long one Redis limiter call may take before the in-process counter decides */
const REDIS_DEADLINE_MS = 500;
/** while Redis is down every request falls back: say so at most this often */
const WARN_EVERY_MS = 10_000;

interface Rate {
  points: number;
  durationSec: number;
}

/** one limit: counts per key; `take` consumes a point, `check` only looks */
export class Limit {
  private warnedAt = 0;

  constructor(
    readonly name: LimitName,
    private readonly points: number,
    private readonly primary: RateLimiterAbstract | null,
    private readonly fallback: RateLimiterMemory | null,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  async take(key: string): Promise<Verdict> {
    if (!this.primary || !this.fallback) return OK;
    try {
      await this.call((l) => l.consume(key));
      return OK;
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      this.metrics.rateLimited.inc({ limit: this.name });
      return { ok: false, retryAfterSec: retryAfter(e) };
    }
  }

  /** without counting: whether the next `take` would be refused (the limit's points are used up) */
  async check(key: string): Promise<Verdict> {
    if (!this.primary || !this.fallback) return OK;
    const res = await this.call((l) => l.get(key));
    if (!res || res.consumedPoints < this.points) return OK;
    this.metrics.rateLimited.inc({ limit: this.name });
    return { ok: false, retryAfterSec: retryAfter(res) };
  }

  private async call<T>(fn: (l: RateLimiterAbstract) => Promise<T>): Promise<T> {
    const primary = this.primary!;
    if (primary === this.fallback) return fn(primary);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate limiter did not answer within ${REDIS_DEADLINE_MS} ms`)), REDIS_DEADLINE_MS);
      timer.unref();
    });
    try {
      return await Promise.race([fn(primary), deadline]);
    } catch (e) {
      if (e instanceof RateLimiterRes) throw e;
      if (Date.now() - this.warnedAt > WARN_EVERY_MS) {
        this.warnedAt = Date.now();
        this.log.warn({ err: e, limit: this.name }, 'shared rate limiter unavailable: counting in this process');
      }
      return fn(this.fallback!);
    } finally {
      clearTimeout(timer);
    }
  }
}

function retryAfter(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}

interface RedisLike {
  prefix: string;
  /** a getter: after a Sentinel failover it is another client */
  commands: object;
}

/**
 * The store's Redis commands for rate-limiter-flexible, looked up on every call so a Sentinel
 * failover (a new primary client) is followed; null for the embedded and memory stores.
 */
function redisOf(store: Store): { prefix: string; client: object } | null {
  const s = store as unknown as Partial<RedisLike>;
  if (store.kind !== 'redis' || typeof s.prefix !== 'string' || !s.commands) return null;
  const client = new Proxy(
    {},
    {
      get(_target, prop) {
        const commands = (store as unknown as RedisLike).commands as Record<PropertyKey, unknown>;
        const v = commands[prop];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(commands) : v;
      },
    },
  );
  return { prefix: s.prefix, client };
}

export class RateLimits {
  readonly login: Limit;
  readonly loginTenant: Limit;
  readonly transactions: Limit;
  readonly callback: Limit;
  readonly callbackTenant: Limit;
  readonly oidc: Limit;
  readonly pushFailures: Limit;
  /** the operator console, pages and API */
  readonly admin: Limit;

  constructor(settings: Settings, store: Store, metrics: Metrics, log: Logger) {
    const l = settings.limits;
    const redis = redisOf(store);
    const make = (name: LimitName, rate: Rate): Limit => {
      if (!l.enabled) return new Limit(name, rate.points, null, null, metrics, log);
      const opts = { keyPrefix: keyspace.rateLimit.key(name), points: rate.points, duration: rate.durationSec };
      const memory = new RateLimiterMemory(opts);
      const primary = redis ? new RateLimiterRedis({ ...opts, keyPrefix: redis.prefix + keyspace.rateLimit.key(name), storeClient: redis.client, useRedisPackage: true }) : memory;
      return new Limit(name, rate.points, primary, memory, metrics, log);
    };
    this.login = make('login', l.login.perClient);
    this.loginTenant = make('login-tenant', l.login.perTenant);
    this.transactions = make('transactions', { points: l.transactionsPerClient, durationSec: settings.login.transactionTtlSec });
    this.callback = make('callback', l.callback.perClient);
    this.callbackTenant = make('callback-tenant', l.callback.perTenant);
    this.oidc = make('oidc', l.oidc.perClient);
    this.pushFailures = make('push-failures', l.pushFailures);
    this.admin = make('admin', settings.admin.perClient);
  }
}

// Keeps a session's upstream access token fresh, request-free: refreshed once shortly before it
// expires, single-flight per session within the process (one shared promise, whose result every
// waiter gets without reading again) and across instances (a lock in the store; the loser waits
// for the winner's result by re-reading the session). The refresh itself is the connector's
// refresh capability. A refused or failed refresh ends the session cleanly.
// On the usual path the session is read once, by the caller, and written once (the new tokens,
// only while the record lives, so a session that ended meanwhile stays ended); a directory
// change announced during the grant makes it read the record once more, to keep that change.
import type { Store } from '../store/store.ts';
import { keyspace, keysOf } from '../store/keyspace.ts';
import type { UpstreamTokens } from '../identity/identity.ts';
import type { RefreshCapable } from '../identity/connector.ts';
import { GatewayError } from '../identity/errors.ts';
import { msg } from '../web/i18n.ts';
import { SessionError, sessionEnded } from './errors.ts';
import { isLive, needsRefresh, upstreamTenant, type SessionRecord } from './record.ts';
import type { Sessions } from './sessions.ts';

/** the connector's refresh capability: fresh tokens for this session's tenant */
export type RefreshGrant = RefreshCapable['refresh'];

export interface RefresherDeps {
  store: Store;
  sessions: Sessions;
  /** refresh this long before the access token expires */
  skewMs: number;
  grant: RefreshGrant;
  /** word of announced session changes (SessionCache.version): a directory change during the grant is not overwritten */
  changes?: { version(sid: string): number };
  lockTtlMs?: number;
  waitMs?: number;
}

export class Refresher {
  private readonly inFlight = new Map<string, Promise<SessionRecord>>();

  constructor(private readonly d: RefresherDeps) {}

  get skewMs(): number {
    return this.d.skewMs;
  }

  /** the record's upstream tokens are due */
  due(record: Pick<SessionRecord, 'upstream'>): boolean {
    return needsRefresh(record, this.d.skewMs);
  }

  /**
   * The session's record with fresh tokens (itself when none are due). `record`: the session as
   * the caller just read it, so it is not read again. Throws SessionError when the session ended.
   */
  async ensureFresh(sid: string, record?: SessionRecord | null): Promise<SessionRecord> {
    const s = record === undefined ? await this.d.sessions.read(sid) : record;
    if (!isLive(s, this.d.sessions.timeouts.absoluteMs)) throw sessionEnded();
    if (!this.due(s)) return s;
    let p = this.inFlight.get(sid);
    if (!p) {
      p = this.refreshOnce(sid, s).finally(() => this.inFlight.delete(sid));
      this.inFlight.set(sid, p);
    }
    return p;
  }

  private async refreshOnce(sid: string, s: SessionRecord & { identity: NonNullable<SessionRecord['identity']> }): Promise<SessionRecord> {
    const { sessions } = this.d;
    const keys = keysOf(this.d.store);
    const lock = keyspace.refreshLock.key(sid);
    const lockTtl = this.d.lockTtlMs ?? 15_000;
    const got = await keys.put(lock, String(process.pid), lockTtl, { ifAbsent: true });
    if (!got) return this.awaitOther(sid, lockTtl);
    try {
      const refreshToken = s.upstream?.tokens?.refreshToken;
      if (!refreshToken || !s.upstream) throw sessionEnded();
      const version = this.d.changes?.version(sid);
      let tokens: UpstreamTokens;
      try {
        tokens = await this.d.grant({ protocol: s.upstream.protocol, ns: s.identity.ns, tenantId: upstreamTenant(s), refreshToken });
      } catch (e) {
        await sessions.end(sid, sessions.activeOf(s)).catch(() => undefined);
        // a fault (not a typed refusal) is not the person's business: it goes on as it is
        if (!(e instanceof GatewayError)) throw e;
        // OneAccess refused the refresh token: the session is over; anything else the refresh failed
        throw e.code === 'session_expired' ? sessionEnded(e) : new SessionError('session_expired', msg('refusal.refreshFailed'), { cause: e });
      }
      // a directory change rewrote the identity meanwhile: the tokens go onto that record (the one re-read)
      let base: SessionRecord | null = s;
      if (this.d.changes && this.d.changes.version(sid) !== version) base = await sessions.read(sid);
      if (!isLive(base, sessions.timeouts.absoluteMs)) throw sessionEnded();
      // only the tokens change, and only while the record lives
      const next = await sessions.replaceTokens(sid, base, tokens);
      if (!next) throw sessionEnded();
      return next;
    } finally {
      await keys.delete(lock).catch(() => undefined);
    }
  }

  /** another instance is refreshing this session: wait for the stored session to change */
  private async awaitOther(sid: string, lockTtl: number): Promise<SessionRecord> {
    const deadline = Date.now() + (this.d.waitMs ?? lockTtl);
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const s = await this.d.sessions.read(sid).catch(() => undefined);
      if (s === undefined) continue;
      if (!isLive(s, this.d.sessions.timeouts.absoluteMs)) throw sessionEnded();
      if (!this.due(s)) return s;
    }
    throw new SessionError('upstream_timeout', msg('refusal.refreshSlow'));
  }
}

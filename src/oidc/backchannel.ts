// OpenID Connect Back-Channel Logout 1.0, sent from a durable outbox on the store port, for every
// way a gateway session ends. Keys (all under oidc:bcl:, families logout* in src/store/keyspace.ts):
//   rps:<gatewaySid>   set of "<clientId> <sub> <sid>" — relying parties that redeemed a code made
//                      in that gateway session (clients with backchannel_logout_uri only)
//   tracked            set of gateway session ids that have such relying parties
//   outbox             set of entry ids waiting to be sent
//   entry:<id>         JSON Entry (kept for RETRY_FOR_MS)
//   sending:<id>       a short lock, so one instance sends an entry at a time
// A session that ends by logout, deprovisioning or the console is announced on the session-ended
// channel; idle and absolute timeouts end silently (the record expires), and an announcement can
// be missed (another instance crashed in between), so a sweeper also looks for tracked sessions
// whose record is gone. Outbox entries are written before the session's tracking is dropped: a
// restart at any point loses nothing (at worst an RP hears of a logout twice, which it must bear).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Store } from '../store/store.ts';
import { keysOf, keyspace, type Keyspace, type ValueOf } from '../store/keyspace.ts';
import type { Sessions } from '../session/sessions.ts';
import type { KeyManager, SigningAlg } from '../delivery/keys.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface BackchannelClient {
  clientId: string;
  uri: string;
  /** sign the logout token as the client's ID tokens are signed */
  alg: SigningAlg;
}

export interface BackchannelOptions {
  issuer: string;
  /** how often tracked sessions are checked, and the outbox worked through */
  sweepMs: number;
  /** deadline of one POST */
  timeoutMs: number;
  /** how long a tracked session can live: its absolute timeout */
  sessionTtlMs: number;
}

type Entry = ValueOf<typeof keyspace.logoutEntry>;

const TRACKED = keyspace.logoutTracked.key();
const OUTBOX = keyspace.logoutOutbox.key();
const rpsKey = (gatewaySid: string) => keyspace.logoutRelyingParties.key(gatewaySid);
const entryKey = (id: string) => keyspace.logoutEntry.key(id);
const lockKey = (id: string) => keyspace.logoutSending.key(id);
const RETRY_FOR_MS = 24 * 3600_000;
/** tracking outlives the sessions it tracks, so the sweeper sees every one of them end */
const TRACK_MARGIN_MS = 24 * 3600_000;
const MAX_BACKOFF_MS = 3600_000;
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export class BackchannelLogout {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private running: Promise<void> = Promise.resolve();
  private lastSweep = 0;
  private tickQueued = false;
  private readonly store: Keyspace;

  constructor(
    store: Store,
    private readonly sessions: Sessions,
    private readonly keys: KeyManager,
    private readonly clients: ReadonlyMap<string, BackchannelClient>,
    private readonly opts: BackchannelOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.store = keysOf(store);
  }

  private count(outcome: 'queued' | 'delivered' | 'retry' | 'given_up', by = 1): void {
    this.metrics?.backchannelLogouts.inc({ outcome }, by);
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.store.subscribe(keyspace.sessionEnded, (sids) => this.enqueueRun(() => this.ended(sids)));
    this.timer = setInterval(() => this.queueTick(), Math.min(this.opts.sweepMs, 1000)).unref();
    // entries left by an earlier run (a restart) go out at once
    this.queueTick();
  }

  /** at most one tick waiting: a slow relying party must not pile ticks up behind it */
  private queueTick(): void {
    if (this.tickQueued) return;
    this.tickQueued = true;
    this.enqueueRun(async () => {
      this.tickQueued = false;
      await this.tick();
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.unsubscribe?.().catch(() => {});
    await this.running;
  }

  /** a relying party redeemed a code made in this gateway session */
  async track(gatewaySid: string, rp: { clientId: string; sub: string; sid?: string | undefined }): Promise<void> {
    if (!this.clients.has(rp.clientId)) return;
    const ttlMs = this.opts.sessionTtlMs + TRACK_MARGIN_MS;
    await this.store.add(rpsKey(gatewaySid), rp, ttlMs);
    await this.store.add(TRACKED, gatewaySid, ttlMs);
  }

  /** these gateway sessions ended: every relying party of theirs gets a logout token */
  async ended(gatewaySids: readonly string[]): Promise<void> {
    for (const gatewaySid of gatewaySids) {
      const rps = await this.store.members(rpsKey(gatewaySid));
      // most sessions have no such relying party: nothing to write for them
      if (rps.length === 0) continue;
      for (const { clientId, sub, sid } of rps) {
        // one entry per relying party session, whichever instance gets here first
        const id = `${gatewaySid}.${clientId}.${sid || sub}`;
        const entry: Entry = { clientId, sub, ...(sid ? { sid } : {}), createdAt: Date.now(), attempts: 0, nextAt: 0 };
        await this.store.put(entryKey(id), entry, RETRY_FOR_MS, { ifAbsent: true });
        await this.store.add(OUTBOX, id, RETRY_FOR_MS);
      }
      for (const member of rps) await this.store.remove(rpsKey(gatewaySid), member);
      await this.store.remove(TRACKED, gatewaySid);
      this.count('queued', rps.length);
      this.log.info({ relyingParties: rps.length }, 'gateway session ended: back-channel logout queued');
    }
    await this.deliver();
  }

  /** one run at a time on this instance, in order; a failure is logged and the next tick retries */
  private enqueueRun(run: () => Promise<void>): void {
    this.running = this.running.then(run).catch((err: unknown) => this.log.warn({ err }, 'back-channel logout: will retry'));
  }

  private async tick(): Promise<void> {
    if (Date.now() - this.lastSweep >= this.opts.sweepMs) {
      this.lastSweep = Date.now();
      await this.sweep();
    }
    await this.deliver();
  }

  /** tracked sessions whose record is gone ended silently (idle or absolute timeout) */
  private async sweep(): Promise<void> {
    const gone: string[] = [];
    for (const sid of await this.store.members(TRACKED)) {
      if (!(await this.sessions.load(sid))) gone.push(sid);
    }
    if (gone.length) await this.ended(gone);
  }

  private async deliver(): Promise<void> {
    const now = Date.now();
    for (const id of await this.store.members(OUTBOX)) {
      const entry = await this.store.get(entryKey(id));
      if (entry === null) {
        await this.store.remove(OUTBOX, id);
        continue;
      }
      if (entry.nextAt > now) continue;
      if (!(await this.store.put(lockKey(id), randomUUID(), this.opts.timeoutMs + 5000, { ifAbsent: true }))) continue;
      try {
        await this.send(id, entry);
      } finally {
        await this.store.delete(lockKey(id));
      }
    }
  }

  private async send(id: string, entry: Entry): Promise<void> {
    const client = this.clients.get(entry.clientId);
    const problem = client ? await this.post(client, entry) : 'client no longer configured';
    if (problem === null) {
      await this.store.delete(entryKey(id));
      await this.store.remove(OUTBOX, id);
      this.count('delivered');
      this.log.info({ client: entry.clientId, attempts: entry.attempts + 1 }, 'back-channel logout delivered');
      return;
    }
    const attempts = entry.attempts + 1;
    const nextAt = Date.now() + Math.min(1000 * 2 ** attempts, MAX_BACKOFF_MS);
    if (!client || nextAt - entry.createdAt > RETRY_FOR_MS) {
      await this.store.delete(entryKey(id));
      await this.store.remove(OUTBOX, id);
      this.count('given_up');
      this.log.error({ client: entry.clientId, attempts, problem }, 'back-channel logout given up');
      return;
    }
    await this.store.put(entryKey(id), { ...entry, attempts, nextAt }, Math.max(entry.createdAt + RETRY_FOR_MS - Date.now(), 1000));
    this.count('retry');
    this.log.warn({ client: entry.clientId, attempts, problem, retryAt: new Date(nextAt).toISOString() }, 'back-channel logout failed; will retry');
  }

  /** null when the relying party took it (200 or 204), else what went wrong */
  private async post(client: BackchannelClient, entry: Entry): Promise<string | null> {
    const token = await this.logoutToken(client, entry);
    try {
      const res = await fetch(client.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      await res.body?.cancel();
      return res.status === 200 || res.status === 204 ? null : `HTTP ${res.status}`;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  /** Back-Channel Logout 1.0 section 2.4: no nonce; signed like the client's ID tokens */
  logoutToken(client: BackchannelClient, entry: Pick<Entry, 'sub' | 'sid'>): Promise<string> {
    const { kid, alg, key } = this.keys.signingKeyFor(client.alg);
    return new SignJWT({ events: { [EVENT]: {} }, ...(entry.sid ? { sid: entry.sid } : {}) })
      .setProtectedHeader({ alg, kid, typ: 'logout+jwt' })
      .setIssuer(this.opts.issuer)
      .setAudience(client.clientId)
      .setSubject(entry.sub)
      .setIssuedAt()
      .setExpirationTime('2m')
      .setJti(randomUUID())
      .sign(key);
  }
}

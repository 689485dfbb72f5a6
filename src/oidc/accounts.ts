// What the provider's findAccount answers with: a snapshot of the gateway session's identity
// claims, taken when an interaction finishes (the provider later asks for them at the token and
// userinfo endpoints, where there is no browser and so no gateway session to read).
// A snapshot lives as long as the gateway session could (its absolute end), so tokens cannot
// outlive the sign-in they came from. When a gateway session ends early (logout, deprovisioning)
// its person's snapshot is dropped at once, which stops refresh and userinfo for their tokens.
import type { Store } from '../store/store.ts';
import { SESSION_ENDED_CHANNEL, type ActiveSession } from '../session/sessions.ts';
import type { IdentityClaims } from '../login/identity.ts';
import type { Logger } from '../ops/logger.ts';

const accountKey = (sub: string) => `oidc:account:${sub}`;
/** gateway session id -> sub, to find the snapshot when that session ends */
const sessionKey = (sid: string) => `oidc:gateway-session:${sid}`;

export class AccountSnapshots {
  private constructor(
    private readonly store: Store,
    private readonly absoluteTimeoutMs: number,
  ) {}

  static async open(store: Store, absoluteTimeoutMs: number, log: Logger): Promise<AccountSnapshots> {
    const accounts = new AccountSnapshots(store, absoluteTimeoutMs);
    // the subscription lives as long as the store (which the gateway's owner closes)
    await store.subscribe(SESSION_ENDED_CHANNEL, (message) => {
      accounts.forget(JSON.parse(message) as string[]).catch((err: unknown) => log.warn({ err }, 'could not drop OIDC account snapshots of ended sessions'));
    });
    return accounts;
  }

  async remember(sid: string, session: ActiveSession): Promise<void> {
    const ttlMs = session.createdAt + this.absoluteTimeoutMs - Date.now();
    if (ttlMs <= 0) return;
    const { sub } = session.identity.claims;
    await this.store.putTemp(accountKey(sub), JSON.stringify(session.identity.claims), ttlMs);
    await this.store.putTemp(sessionKey(sid), sub, ttlMs);
  }

  async claims(sub: string): Promise<IdentityClaims | null> {
    const raw = await this.store.getTemp(accountKey(sub));
    return raw === null ? null : (JSON.parse(raw) as IdentityClaims);
  }

  async forget(sids: readonly string[]): Promise<void> {
    for (const sid of sids) {
      const sub = await this.store.takeTemp(sessionKey(sid));
      if (sub !== null) await this.store.deleteTemp([accountKey(sub)]);
    }
  }
}

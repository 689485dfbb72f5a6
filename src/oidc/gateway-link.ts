// Binds the provider's grants to the gateway session they were made in, so that everything the
// provider hands out lives and dies with that session and says what it says now:
//   oidc:grant-session:<grantId> -> gateway session id (until that session's absolute end)
// The token and userinfo endpoints have no browser: they find the gateway session through the
// token's grant and read its record as it stands (the directory keeps live records up to date),
// so a role change reaches userinfo and the next ID token, and a session that ended, went idle
// or reached its absolute end stops refresh and userinfo at once.
import type { Request } from 'express';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Store } from '../store/store.ts';
import { keysOf, keyspace } from '../store/keyspace.ts';
import type { ActiveSession, Sessions } from '../session/sessions.ts';

export class GatewayLinks {
  constructor(
    private readonly store: Store,
    private readonly sessions: Sessions,
    private readonly absoluteTimeoutMs: number,
  ) {}

  async bind(grantId: string, gatewaySid: string, session: ActiveSession): Promise<void> {
    const ttlMs = session.createdAt + this.absoluteTimeoutMs - Date.now();
    if (ttlMs > 0) await keysOf(this.store).put(keyspace.oidcGrantSession.key(grantId), gatewaySid, ttlMs);
  }

  boundTo(grantId: string): Promise<string | null> {
    return keysOf(this.store).get(keyspace.oidcGrantSession.key(grantId));
  }

  /** the live gateway session behind a grant, or null */
  async sessionOf(grantId: string): Promise<{ sid: string; session: ActiveSession } | null> {
    const sid = await this.boundTo(grantId);
    const session = sid === null ? null : await this.sessions.load(sid);
    return sid !== null && session ? { sid, session } : null;
  }

  /**
   * the provider's loadExistingGrant: its own grant when it was made in the browser's current
   * gateway session; when the provider session outlived the gateway session its grant came from
   * (sign-out and sign-in again at the gateway), the same scopes under a new grant bound to the
   * current one, so silent flows (prompt=none) keep working and old tokens stay dead.
   */
  async existingGrant(ctx: KoaContextWithOIDC): Promise<InstanceType<Provider['Grant']> | undefined> {
    const clientId = ctx.oidc.client!.clientId;
    const session = ctx.oidc.session!;
    const fresh = ctx.oidc.result?.consent?.grantId;
    const grantId = fresh ?? session.grantIdFor(clientId);
    if (!grantId) return undefined;
    const grant = await ctx.oidc.provider.Grant.find(grantId);
    if (!grant || fresh) return grant;
    const req = ctx.req as Request;
    const active = await this.sessions.current(req);
    // no gateway session, or another person's: the login check asks for a sign-in anyway
    if (!active || active.identity.claims.sub !== grant.accountId) return grant;
    if ((await this.boundTo(grantId)) === this.sessions.sidOf(req)) return grant;
    const renewed = new ctx.oidc.provider.Grant({ accountId: grant.accountId, clientId });
    const scope = grant.getOIDCScope();
    if (scope) renewed.addOIDCScope(scope);
    const renewedId = await renewed.save();
    await this.bind(renewedId, this.sessions.sidOf(req)!, active);
    session.grantIdFor(clientId, renewedId);
    return renewed;
  }
}

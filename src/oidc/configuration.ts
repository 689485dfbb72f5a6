// oidc-provider's configuration for the gateway. Decisions:
// * Claims: `openid` gives sub; `profile` name and user_name; `email` email; `phone` mobile;
//   `tenant` the tenant and authorization claims (tenant, tenant_code, tenant_name, role,
//   org_code, idp). With conformIdTokenClaims off the ID token carries every claim its scopes
//   grant, as the gateway's own identity token does; absent values are omitted. They are read
//   from the gateway session record when asked for (gateway-link.ts), never from a copy.
// * Refresh tokens: issued to every client allowed the refresh_token grant, offline_access or
//   not, and offline_access is granted to those clients when asked for (mount.ts). They are
//   bound to the gateway session instead: every token is usable only while the gateway session
//   it came from lives (not ended, not idle, not past its absolute end).
// * Consent: configured clients are first-party; the interaction grants what was asked.
// * ID tokens: RS256 unless the client chooses (id_token_signed_response_alg); the provider
//   signs with the gateway's key set, which holds a signer for RS256 and for tokens.alg, and
//   lives no longer than its identity tokens, so the key timeline's "published until every token
//   expired" holds for them too.
import { interactionPolicy, type ClientMetadata, type Configuration, type KoaContextWithOIDC, type Session } from 'oidc-provider';
import type { Request } from 'express';
import type { JWK } from 'jose';
import type { Settings } from '../config/load.ts';
import type { Store } from '../store/store.ts';
import type { Sessions } from '../session/sessions.ts';
import { deriveKey } from '../directory/secret-box.ts';
import type { GatewayLinks } from './gateway-link.ts';
import { storeAdapter } from './store-adapter.ts';
import { providerPages } from './pages.ts';

export const OIDC_CLAIMS: Record<string, string[]> = {
  openid: ['sub'],
  profile: ['name', 'user_name'],
  email: ['email'],
  phone: ['mobile'],
  tenant: ['tenant', 'tenant_code', 'tenant_name', 'role', 'org_code', 'idp'],
};

const ANONYMOUS_SESSION_SEC = 600;

export interface ConfigurationDeps {
  settings: Settings;
  store: Store;
  sessions: Sessions;
  links: GatewayLinks;
  /** a relying party redeemed a code made in this gateway session (for back-channel logout) */
  onCodeRedeemed?: (gatewaySid: string, rp: { clientId: string; sub: string; sid?: string | undefined }) => Promise<void>;
  cookieSecret: string;
  issuer: string;
}

type ClientSettings = Settings['oidc']['clients'][number];

/** what a client that does not choose gets: OpenID Connect's default */
export const DEFAULT_ID_TOKEN_ALG = 'RS256';

function clientMetadata(c: ClientSettings): ClientMetadata {
  return {
    client_id: c.client_id,
    ...(c.client_secret ? { client_secret: c.client_secret } : {}),
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris,
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? (c.client_secret ? 'client_secret_basic' : 'none'),
    grant_types: c.grant_types,
    response_types: ['code'],
    id_token_signed_response_alg: c.id_token_signed_response_alg ?? DEFAULT_ID_TOKEN_ALG,
    ...(c.backchannel_logout_uri ? { backchannel_logout_uri: c.backchannel_logout_uri, backchannel_logout_session_required: c.backchannel_logout_session_required } : {}),
  };
}

/**
 * The provider keeps its own session cookie; the gateway session stays the authority: no gateway
 * session, or one of another person (findAccount then finds no account) -> the login prompt (an
 * interaction, or login_required for prompt=none).
 */
function policy(sessions: Sessions): interactionPolicy.Policy {
  const p = interactionPolicy.base();
  const login = p.get('login');
  if (!login) throw new Error('oidc-provider has no login prompt');
  login.checks.add(
    new interactionPolicy.Check('gateway_session', 'the gateway session ended or belongs to someone else', 'login_required', async (ctx: KoaContextWithOIDC) => {
      // the provider is mounted on express: its request is express's, and carries the gateway's cookie
      const active = await sessions.current(ctx.req as Request);
      return !ctx.oidc.account || !active || active.identity.claims.sub !== ctx.oidc.session?.accountId;
    }),
  );
  return p;
}

export function providerConfiguration(d: ConfigurationDeps, jwks: { keys: JWK[] }): Partial<Configuration> {
  const { settings, issuer } = d;
  if (jwks.keys.length === 0) throw new Error('no signing key for the OIDC provider');
  const sessionSec = settings.session.absoluteTimeoutSec;
  const grantSec = Math.max(sessionSec, settings.oidc.refreshTokenTtlSec);
  const pages = providerPages(settings.publicUrl);
  return {
    adapter: storeAdapter(d.store, { grantIndexTtlSec: grantSec, defaultTtlSec: grantSec }),
    clients: settings.oidc.clients.map(clientMetadata),
    jwks,
    // with a token (code, refresh, access): the gateway session its grant is bound to; at the
    // authorization endpoint: the browser's gateway session. Either way the person's claims now.
    async findAccount(ctx, sub, token) {
      const bound = token?.grantId ? await d.links.sessionOf(token.grantId) : null;
      const active = token?.grantId ? bound?.session : await d.sessions.current(ctx.req as Request);
      if (!active || active.identity.claims.sub !== sub) return undefined;
      if (bound && token?.kind === 'AuthorizationCode' && token.clientId) await d.onCodeRedeemed?.(bound.sid, { clientId: token.clientId, sub, sid: token.sid });
      const { claims } = active.identity;
      return { accountId: sub, claims: () => ({ ...claims }) };
    },
    loadExistingGrant: (ctx) => d.links.existingGrant(ctx),
    claims: OIDC_CLAIMS,
    scopes: ['openid', 'offline_access', ...Object.keys(OIDC_CLAIMS).filter((s) => s !== 'openid')],
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    // a tenant hint (tenantId or code), passed on to /login so people are not asked for their company
    extraParams: ['tenant'],
    cookies: {
      // distinct from the app's own cookies, with which they share the origin in proxy mode
      names: { session: 'bridge.oidc', interaction: 'bridge.oidc.interaction', resume: 'bridge.oidc.resume' },
      keys: [deriveKey(d.cookieSecret, 'oidc-cookies').toString('base64url')],
    },
    features: {
      devInteractions: { enabled: false },
      // no resource servers here: access tokens are for userinfo only
      resourceIndicators: { enabled: false },
      // for the client metadata, discovery and the sid claim; the logout tokens themselves go
      // out from the gateway's durable outbox (backchannel.ts), for every way a session ends
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource: pages.logoutSource, postLogoutSuccessSource: pages.postLogoutSuccessSource },
    },
    interactions: { url: async (_ctx, interaction) => `${issuer}/interaction/${interaction.uid}`, policy: policy(d.sessions) },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => true,
    renderError: pages.renderError,
    ttl: {
      AccessToken: settings.oidc.accessTokenTtlSec,
      AuthorizationCode: 60,
      IdToken: settings.tokens.ttlSec,
      Interaction: settings.login.transactionTtlSec,
      RefreshToken: settings.oidc.refreshTokenTtlSec,
      // a provider session nobody signed in to (e.g. a visit to /oidc/session/end) is anonymous
      // state anyone can create: it lives minutes, not a gateway session's lifetime
      Session: (_ctx, session) => ((session as Session | undefined)?.accountId ? sessionSec : ANONYMOUS_SESSION_SEC),
      Grant: grantSec,
    },
  };
}

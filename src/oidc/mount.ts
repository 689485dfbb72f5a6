// Mounts the provider (see provider.ts): the express interaction route, then the provider itself
// under /oidc, rebuilt whenever the gateway's signing keys change.
//
// The issuer is fixed: `${publicUrl}/oidc`, and every URL the provider writes (discovery, form
// actions, cookie paths) derives from it, not from the request's Host, which a proxy may rewrite.
//
// RP-initiated logout: after "sign out" the provider ends its own session (revoking the app's
// tokens) and the gateway session of that browser. OneAccess's session is left alone: the next
// sign-in may pass through OneAccess without a password. Apps wanting that too send the browser to
// the gateway's /logout afterwards. A browser without a provider session (the provider would
// submit its logout form by itself) but with a gateway session gets the same question: the
// gateway session never ends without the person's click.
//
// offline_access: oidc-provider drops it unless the request says prompt=consent (OpenID Connect
// Core 11). The gateway grants it to every client allowed to refresh, so such requests get
// prompt=consent added, which our interaction answers at once (no consent screen). Only a silent
// request (prompt=none) cannot have it.
//
// Back-channel logout (backchannel.ts) follows the gateway session, not the provider's: relying
// parties are tracked per gateway session when they redeem a code, and told when it ends.
import type express from 'express';
import type { Request } from 'express';
import Provider, { type OIDCContext } from 'oidc-provider';
import type { KeyManager } from '../delivery/keys.ts';
import type { OidcDeps } from './provider.ts';
import { GatewayLinks } from './gateway-link.ts';
import { DEFAULT_ID_TOKEN_ALG, providerConfiguration } from './configuration.ts';
import { BackchannelLogout } from './backchannel.ts';
import type { Logger } from '../ops/logger.ts';
import { interactionHandler } from './interaction.ts';
import { logoutPage } from './pages.ts';

interface Built {
  /** the key ids it was built with, signer first */
  kids: string;
  provider: Provider;
  handle: ReturnType<Provider['callback']>;
}

const kidsOf = (keys: KeyManager) => keys.jwks().keys.map((k) => k.kid).join(' ');

export async function mountProvider(app: express.Express, deps: OidcDeps): Promise<{ provider: Provider; close(): Promise<void> }> {
  const { settings, sessions } = deps;
  const issuer = `${settings.publicUrl}/oidc`;
  const log = deps.log.child({ module: 'oidc' });
  const links = new GatewayLinks(deps.store, sessions, settings.session.absoluteTimeoutSec * 1000);
  const backchannel = backchannelFor(deps, issuer, log);
  await backchannel?.start();
  const configDeps = {
    settings,
    store: deps.store,
    sessions,
    links,
    cookieSecret: deps.cookieSecret,
    issuer,
    ...(backchannel ? { onCodeRedeemed: backchannel.track.bind(backchannel) } : {}),
  };
  const refreshing = new Set(settings.oidc.clients.filter((c) => c.grant_types.includes('refresh_token')).map((c) => c.client_id));

  function build(): Built {
    const kids = kidsOf(deps.keys);
    const provider = new Provider(issuer, providerConfiguration(configDeps, deps.keys.privateJwks()));
    // see the request wrapper below
    provider.proxy = true;
    provider.OIDCContext.prototype.urlFor = (name, opt) => provider.urlFor(name, opt);
    // the provider would send logout tokens itself on RP-initiated logout only, once, from memory:
    // the ended gateway session's outbox sends them instead (backchannel.ts)
    provider.Client.prototype.backchannelLogout = async () => {};
    provider.use(async (ctx, next) => {
      await next();
      // undefined on paths the provider has no route for
      const oidc = ctx.oidc as OIDCContext | undefined;
      if (oidc?.route === 'end_session' && ctx.status === 200 && !oidc.session?.accountId && (await sessions.current(ctx.req as Request))) {
        // the provider's self-submitting form would end the gateway session unasked
        ctx.type = 'html';
        ctx.body = logoutPage(ctx);
        return;
      }
      // the provider also ends its own session to switch accounts; that one returns to its resume
      // endpoint and must leave the (new) gateway session alone
      if (oidc?.route !== 'end_session_confirm' || !oidc.params?.logout || ctx.status !== 303) return;
      if (ctx.response.get('location').startsWith(`${issuer}/auth/`)) return;
      const ended = await sessions.endCurrent(ctx.req as Request);
      if (ended) log.info({ sub: ended.identity.claims.sub }, 'RP-initiated logout ended the gateway session');
    });
    provider.on('server_error', (ctx, err) => log.error({ err, route: (ctx.oidc as OIDCContext | undefined)?.route }, 'OIDC provider failed'));
    return { kids, provider, handle: provider.callback() };
  }

  // The provider's key set is fixed at construction: after a rotation (new key published, then
  // signing) a new provider takes over, so it signs and publishes exactly what the gateway does.
  // All its state is in the store, so nothing in flight is lost.
  let built = build();
  const current = (): Built => {
    if (kidsOf(deps.keys) !== built.kids) {
      built = build();
      log.info({ kids: built.kids }, 'signing keys changed: OIDC provider rebuilt with them');
    }
    return built;
  };

  app.get('/oidc/interaction/:uid', interactionHandler({ provider: () => current().provider, sessions, store: deps.store, links, publicUrl: settings.publicUrl, issuer, log }));
  app.use('/oidc', (req, res) => {
    if (req.method === 'GET' && req.path === '/auth') req.url = withConsentForOffline(req.url, refreshing);
    // Koa believes X-Forwarded-* only with provider.proxy, and then from anyone: give it express's
    // verdict instead, which honours trustedProxies (its cookies get Secure when the session cookie does)
    req.headers['x-forwarded-proto'] = req.protocol;
    req.headers['x-forwarded-for'] = req.ip ?? '';
    current().handle(req, res);
  });
  log.info({ issuer, clients: settings.oidc.clients.map((c) => c.client_id) }, 'OIDC provider mounted');
  return {
    get provider() {
      return current().provider;
    },
    async close() {
      await backchannel?.close();
    },
  };
}

function backchannelFor(deps: OidcDeps, issuer: string, log: Logger): BackchannelLogout | null {
  const { settings } = deps;
  const clients = new Map(
    settings.oidc.clients.flatMap((c) =>
      c.backchannel_logout_uri ? [[c.client_id, { clientId: c.client_id, uri: c.backchannel_logout_uri, alg: c.id_token_signed_response_alg ?? DEFAULT_ID_TOKEN_ALG }] as const] : [],
    ),
  );
  if (clients.size === 0) return null;
  const opts = { issuer, sweepMs: settings.oidc.backchannelSweepMs, timeoutMs: settings.oidc.backchannelTimeoutMs, sessionTtlMs: settings.session.absoluteTimeoutSec * 1000 };
  return new BackchannelLogout(deps.store, deps.sessions, deps.keys, clients, opts, log, deps.metrics);
}

/** `url` (an authorization request) with prompt=consent added when it asks offline_access for a client that may refresh */
export function withConsentForOffline(url: string, refreshing: ReadonlySet<string>): string {
  const q = new URLSearchParams(url.slice(url.indexOf('?') + 1));
  const scopes = (q.get('scope') ?? '').split(' ');
  const prompts = (q.get('prompt') ?? '').split(' ').filter(Boolean);
  if (!url.includes('?') || !scopes.includes('offline_access') || !refreshing.has(q.get('client_id') ?? '') || prompts.includes('consent') || prompts.includes('none')) return url;
  q.set('prompt', [...prompts, 'consent'].join(' '));
  return `${url.slice(0, url.indexOf('?'))}?${q}`;
}

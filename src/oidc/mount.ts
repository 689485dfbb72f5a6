// Mounts the provider (see provider.ts): the express interaction route, then the provider itself
// under /oidc, rebuilt whenever the gateway's signing keys change.
//
// The issuer is fixed: `${publicUrl}/oidc`, and every URL the provider writes (discovery, form
// actions, cookie paths) derives from it, not from the request's Host, which a proxy may rewrite.
//
// RP-initiated logout: after "sign out" the provider ends its own session (revoking the app's
// tokens) and the gateway session of that browser. OneAccess's session is left alone: the next
// sign-in may pass through OneAccess without a password. Apps wanting that too send the browser to
// the gateway's /logout afterwards.
import type express from 'express';
import type { Request } from 'express';
import Provider, { type OIDCContext } from 'oidc-provider';
import type { KeyManager } from '../delivery/keys.ts';
import type { OidcDeps } from './provider.ts';
import { AccountSnapshots } from './accounts.ts';
import { providerConfiguration } from './configuration.ts';
import { interactionHandler } from './interaction.ts';

interface Built {
  /** the key ids it was built with, signer first */
  kids: string;
  provider: Provider;
  handle: ReturnType<Provider['callback']>;
}

const kidsOf = (keys: KeyManager) => keys.jwks().keys.map((k) => k.kid).join(' ');

export async function mountProvider(app: express.Express, deps: OidcDeps): Promise<{ provider: Provider }> {
  const { settings, sessions } = deps;
  const issuer = `${settings.publicUrl}/oidc`;
  const log = deps.log.child({ module: 'oidc' });
  const accounts = await AccountSnapshots.open(deps.store, settings.session.absoluteTimeoutSec * 1000, log);
  const configDeps = { settings, store: deps.store, sessions, accounts, cookieSecret: deps.cookieSecret, issuer };

  function build(): Built {
    const kids = kidsOf(deps.keys);
    const provider = new Provider(issuer, providerConfiguration(configDeps, deps.keys.privateJwks()));
    // see the request wrapper below
    provider.proxy = true;
    provider.OIDCContext.prototype.urlFor = (name, opt) => provider.urlFor(name, opt);
    provider.use(async (ctx, next) => {
      await next();
      // undefined on paths the provider has no route for
      const oidc = ctx.oidc as OIDCContext | undefined;
      // the provider also ends its own session to switch accounts; that one returns to its resume
      // endpoint and must leave the (new) gateway session alone
      if (oidc?.route !== 'end_session_confirm' || !oidc.params?.logout || ctx.status !== 303) return;
      if (ctx.response.get('location').startsWith(`${issuer}/auth/`)) return;
      const ended = await sessions.end(ctx.req as Request);
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

  app.get('/oidc/interaction/:uid', interactionHandler({ provider: () => current().provider, sessions, store: deps.store, accounts, publicUrl: settings.publicUrl, issuer, log }));
  app.use('/oidc', (req, res) => {
    // Koa believes X-Forwarded-* only with provider.proxy, and then from anyone: give it express's
    // verdict instead, which honours trustedProxies (its cookies get Secure when express-session's do)
    req.headers['x-forwarded-proto'] = req.protocol;
    req.headers['x-forwarded-for'] = req.ip ?? '';
    current().handle(req, res);
  });
  log.info({ issuer, clients: settings.oidc.clients.map((c) => c.client_id) }, 'OIDC provider mounted');
  return {
    get provider() {
      return current().provider;
    },
  };
}

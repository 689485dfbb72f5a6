// The gateway as an OpenID Connect provider (panva's certified oidc-provider) under /oidc, for
// apps that "redirect for auth" with any OIDC client library: discovery, authorization code with
// PKCE, token, userinfo, JWKS, end_session, refresh, back-channel logout. Its interaction step is
// the gateway's sign-in (interaction.ts), its state lives on the store port (store-adapter.ts),
// its grants are bound to the gateway session (gateway-link.ts), back-channel logout goes out from
// an outbox (backchannel.ts), its settings and decisions are in configuration.ts, the mounting in
// mount.ts. Off while no client is configured.
import type express from 'express';
import type Provider from 'oidc-provider';
import type { Settings } from '../config/load.ts';
import type { Store } from '../store/store.ts';
import type { Sessions } from '../session/sessions.ts';
import type { KeyManager } from '../delivery/keys.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface OidcDeps {
  settings: Settings;
  store: Store;
  sessions: Sessions;
  keys: KeyManager;
  cookieSecret: string;
  log: Logger;
  metrics?: Metrics;
}

/** mounts /oidc on `app` (before the gateway's 404 handler); null when no client is configured */
export async function mountOidc(app: express.Express, deps: OidcDeps): Promise<{ provider: Provider; close(): Promise<void> } | null> {
  if (deps.settings.oidc.clients.length === 0) return null;
  // loaded only when used: the feature is optional, and oidc-provider warns at import on Node < 22
  const { mountProvider } = await import('./mount.ts');
  return mountProvider(app, deps);
}

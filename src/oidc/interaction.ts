// The provider's interaction step is the gateway's own sign-in: no gateway session, or none since
// a requested re-authentication (prompt=login, max_age) -> the gateway's /login with this
// interaction as return_to; with one -> the provider's login is that session's account, and
// consent is granted for what was asked (the configured clients are first-party: no consent
// screen), under a new grant bound to that gateway session.
import type { Request, RequestHandler, Response } from 'express';
import { decodeJwt } from 'jose';
import { errors, type Interaction, type Provider } from 'oidc-provider';
import type { ActiveSession, Sessions } from '../session/sessions.ts';
import type { Store } from '../store/store.ts';
import { keysOf, keyspace } from '../store/keyspace.ts';
import type { Logger } from '../ops/logger.ts';
import { sendError } from '../web/pages.ts';
import { msg } from '../web/i18n.ts';
import type { GatewayLinks } from './gateway-link.ts';

export interface InteractionDeps {
  provider: () => Provider;
  sessions: Sessions;
  store: Store;
  links: GatewayLinks;
  publicUrl: string;
  issuer: string;
  log: Logger;
}

const REAUTHENTICATE = new Set(['login_prompt', 'max_age']);

export function interactionHandler(d: InteractionDeps): RequestHandler {
  function loginUrl(details: Interaction, tenant: string | undefined): string {
    const q = new URLSearchParams();
    if (tenant) q.set('tenant', tenant);
    q.set('return_to', `${d.issuer}/interaction/${details.uid}`);
    return `${d.publicUrl}/login?${q}`;
  }

  /**
   * Whether the browser must go through the gateway's sign-in (again). prompt=login and max_age
   * want a sign-in after the request: the first visit notes when it sent the browser to /login
   * (ms; the interaction's own iat is in whole seconds), and a gateway session created since
   * then satisfies them.
   */
  async function mustSignIn(details: Interaction, active: ActiveSession | null): Promise<boolean> {
    if (!details.prompt.reasons.some((r) => REAUTHENTICATE.has(r))) return !active;
    const key = keyspace.oidcReauthenticate.key(details.uid);
    const asked = await keysOf(d.store).get(key);
    if (asked !== null) return !active || active.createdAt < asked;
    await keysOf(d.store).put(key, Date.now(), Math.max(details.exp * 1000 - Date.now(), 1000));
    return true;
  }

  async function handle(req: Request, res: Response): Promise<void> {
    res.set('Cache-Control', 'no-store');
    const provider = d.provider();
    const details = await provider.interactionDetails(req, res);
    const active = await d.sessions.current(req);
    if ((await mustSignIn(details, active)) || !active) {
      const hint = typeof details.params.tenant === 'string' && details.params.tenant.length <= 64 ? details.params.tenant : active?.identity.claims.tenant;
      res.redirect(303, loginUrl(details, hint));
      return;
    }
    const { sub } = active.identity.claims;
    // the provider checks id_token_hint against its own session only, not against the login given here
    const hint = details.prompt.details.id_token_hint;
    if (typeof hint === 'string' && decodeJwt(hint).sub !== sub) {
      await provider.interactionFinished(req, res, { error: 'login_required', error_description: 'the signed-in account is not the one the app asked for' }, { mergeWithLastSubmission: false });
      return;
    }
    // a grant per gateway session: what it gives lives and dies with this session (gateway-link.ts)
    const grant = new provider.Grant({ accountId: sub, clientId: String(details.params.client_id) });
    grant.addOIDCScope(typeof details.params.scope === 'string' ? details.params.scope : 'openid');
    const grantId = await grant.save();
    await d.links.bind(grantId, d.sessions.sidOf(req)!, active);
    d.log.info({ sub, client: details.params.client_id }, 'OIDC sign-in');
    await provider.interactionFinished(req, res, { login: { accountId: sub, ts: Math.floor(active.createdAt / 1000) }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return;
      if (err instanceof errors.SessionNotFound) {
        sendError(req, res, { status: 400, code: 'interaction_expired', message: msg('refusal.interactionExpired'), retry: false });
        return;
      }
      d.log.error({ err, path: req.path }, 'OIDC interaction failed');
      sendError(req, res, { status: 503, code: 'server_error', message: msg('refusal.serviceTroubleApp'), retry: false });
    });
  };
}

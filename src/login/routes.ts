// The browser side of sign-in: /login (GET starts one, POST answers the account-switch page),
// /oauth/callback, /cas/callback, /logout, /auth/session, /signed-out. Routers translate HTTP to
// connector, transaction and sign-in calls and never branch on the protocol: each protocol's
// connector (connectors[protocol]) builds its URLs and reads its callback; what it can do beyond
// that (logout URL, single logout) is asked of its capabilities. Every refusal is a page (or
// JSON) that says what went wrong.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Settings } from '../config/load.ts';
import { StoreUnavailableError, type Store } from '../store/store.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Sessions } from '../session/sessions.ts';
import { resolveReturnTo, type ReturnToPolicy } from '../web/return-to.ts';
import { hasLogoutUrl, hasSingleLogout, hasTenantChooser, type CallbackRequest } from '../identity/connector.ts';
import type { Connectors } from './connectors.ts';
import type { Protocol } from '../identity/identity.ts';
import { CasError, MAX_CAS_RESPONSE_BYTES } from './cas-response.ts';
import { CasTickets } from './cas-logout.ts';
import { GatewayError } from '../identity/errors.ts';
import { LoginError } from './errors.ts';
import { readOAuthCallback } from './oauth-connector.ts';
import { sendError, sendPage, pageLanguage } from '../web/pages.ts';
import { noteTenant } from '../ops/access-log.ts';
import type { AccountSwitches } from './account-switch.ts';
import type { SignIn } from './sign-in.ts';
import type { Refresher } from '../session/refresh.ts';
import { SessionError } from '../session/errors.ts';
import type { Tenants } from './tenants.ts';
import type { LoginTransaction, Transactions } from './transactions.ts';
import { msg } from '../web/i18n.ts';

export interface LoginDeps {
  settings: Settings;
  store: Store;
  sessions: Sessions;
  transactions: Transactions;
  switches: AccountSwitches;
  tenants: Tenants;
  connectors: Connectors;
  signIn: SignIn;
  refresher: Refresher;
  returnTo: ReturnToPolicy;
  log: Logger;
  metrics: Metrics;
}

type Handler = (req: Request, res: Response) => Promise<void>;

function str(v: unknown, max = 2048): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

const isProtocol = (v: unknown): v is Protocol => v === 'oauth' || v === 'cas';

export function loginRouter(d: LoginDeps): express.Router {
  const { settings, tenants, connectors, signIn } = d;
  const base = settings.publicUrl;
  const ns = tenants.ns;
  const r = express.Router();
  // CAS single logout: only when switched on, and only for a connector that can
  const singleLogout = settings.login.casSingleLogout && hasSingleLogout(connectors.cas) ? { connector: connectors.cas, tickets: new CasTickets(d.store, settings.session.absoluteTimeoutSec * 1000) } : null;

  function loginUrl(tenant?: string, returnTo?: string, protocol?: string): string {
    const q = new URLSearchParams();
    if (tenant) q.set('tenant', tenant);
    if (returnTo) q.set('return_to', returnTo);
    if (protocol && protocol !== 'oauth') q.set('protocol', protocol);
    const s = q.toString();
    return `${base}/login${s ? `?${s}` : ''}`;
  }

  /** wraps a handler: typed failures become pages, anything else a logged 500-free refusal */
  const handle = (fn: Handler, retry: (req: Request, res: Response) => string) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      await fn(req, res);
    } catch (e) {
      const known = e instanceof LoginError || e instanceof CasError ? e : null;
      if (!known) {
        d.log.error({ err: e, path: req.path }, 'sign-in failed unexpectedly');
        if (res.headersSent) return next(e);
        const storeDown = e instanceof StoreUnavailableError; // down, or a change its replicas did not confirm
        sendError(req, res, { status: 503, code: storeDown ? 'store_unavailable' : 'server_error', message: msg('refusal.serviceTrouble'), retry: true }, retry(req, res));
        return;
      }
      // the tenant and person it concerns, as far as the attempt got (set by the handlers once known)
      const tenantId = (res.locals.tenant as string | undefined) ?? str(req.query.tenant, 64) ?? '';
      const userName = res.locals.user as string | undefined;
      noteTenant(req, tenantId);
      d.metrics.logins.inc({ outcome: known.code });
      d.log.warn({ refusal: known.code, status: known.status, cause: known.cause, path: req.path, tenantId: tenantId || undefined, userName }, 'sign-in refused');
      await signIn.audit('login.refused', `${ns}/tenant/${tenantId || '-'}`, { code: known.code, status: known.status });
      d.transactions.clear(res);
      sendError(req, res, { status: known.status, code: known.code, message: known.shown, retry: (known instanceof LoginError ? known.retry : known.status >= 500) || known.status === 400 }, retry(req, res));
    }
  };

  /**
   * The browser is back with its transaction sorted out: the connector turns the callback into
   * one identity, the sign-in step does the rest.
   */
  async function arrive(req: Request, res: Response, protocol: Protocol, tenantId: string, returnTo: string, tx: Pick<LoginTransaction, 'codeVerifier' | 'appId'> | null, state: string | undefined): Promise<void> {
    res.locals.tenant = tenantId;
    const connector = connectors[protocol];
    const tenant = await tenants.active(tenantId);
    const cb: CallbackRequest = {
      query: req.query as Record<string, unknown>,
      ...(state ? { state } : {}),
      ...(tx?.codeVerifier ? { codeVerifier: tx.codeVerifier } : {}),
      ...(state && tx?.appId ? { appId: tx.appId } : {}),
    };
    const { appId, ...id } = await connector.handleCallback(tenant, cb);
    // signed in with this handle (not parked on the switch page): single logout can name it
    const handleForLogout = singleLogout && singleLogout.connector === connector ? singleLogout.connector.logoutHandle(cb) : undefined;
    await signIn.complete(req, res, {
      tenant,
      id,
      returnTo,
      appId,
      // with state, PKCE bound the code to this browser's transaction: nobody else's sign-in can arrive
      // here; a CAS service ticket or an unsolicited code is bound to no browser
      bound: !!state,
      alongside: handleForLogout ? (sid) => singleLogout!.tickets.remember(tenantId, handleForLogout, sid) : undefined,
    });
  }

  // the tenant a failed attempt was for, once known (res.locals.tenant), makes the retry link one click
  const retryLogin = (req: Request, res: Response) => loginUrl((res.locals.tenant as string | undefined) ?? str(req.query.tenant, 64), str(req.query.return_to));

  r.get(
    '/login',
    handle(async (req, res) => {
      const returnTo = resolveReturnTo(req.query.return_to, d.returnTo);
      const protocol = req.query.protocol ?? 'oauth';
      if (!isProtocol(protocol)) throw new LoginError('invalid_request', msg('refusal.unknownProtocol'));
      const connector = connectors[protocol];
      const tenant = await tenants.fromRequest(req.query.tenant, req.host);
      res.set('Cache-Control', 'no-store');
      if (!tenant) {
        if (req.query.tenant !== undefined) await tenants.lookup(String(req.query.tenant)); // throws the clear refusal
        // the provider's own page chooses the tenant (OneAccess's unified login page), when it has one
        const chooser = hasTenantChooser(connector) ? connector.startWithoutTenant() : null;
        if (chooser) {
          await d.transactions.start(req, res, { protocol, tenantId: null, returnTo });
          res.redirect(303, chooser.url);
          return;
        }
        sendPage(req, res, 'chooser', { action: `${base}/login`, returnTo, protocol, lang: typeof req.query.lang === 'string' ? req.query.lang : '' });
        return;
      }
      const started = await connector.start(tenant);
      await d.transactions.start(req, res, { protocol, tenantId: tenant.tenantId, returnTo, ...(started.codeVerifier ? { codeVerifier: started.codeVerifier } : {}), ...(started.appId ? { appId: started.appId } : {}) }, started.state);
      res.redirect(303, started.url);
    }, retryLogin),
  );

  r.get(
    '/oauth/callback',
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      // OneAccess's own refusal, or no code: said before any transaction is looked at
      readOAuthCallback(req.query as Record<string, unknown>);
      const state = str(req.query.state, 256);
      const claimed = str(req.query.tenant, 64);
      if (state) {
        const tx = await d.transactions.takeByState(req, state);
        if (!tx || tx.protocol !== 'oauth' || !tx.tenantId) {
          throw new LoginError('invalid_state', msg('refusal.stateUsed'));
        }
        if (claimed && claimed !== tx.tenantId) throw new LoginError('invalid_state', msg('refusal.otherTenant'));
        await arrive(req, res, 'oauth', tx.tenantId, tx.returnTo, tx, state);
        return;
      }
      // unified login page or enterprise workbench: code + tenant, no state
      if (!claimed) throw new LoginError('invalid_request', msg('refusal.noTenant'));
      const tx = await d.transactions.takeByCookie(req);
      if (!tx && !settings.login.allowUnsolicited) {
        throw new LoginError('unsolicited_login', msg('refusal.unsolicited'));
      }
      if (tx && tx.tenantId && tx.tenantId !== claimed) throw new LoginError('invalid_state', msg('refusal.otherTenant'));
      await arrive(req, res, 'oauth', claimed, tx?.returnTo ?? d.returnTo.fallback, tx, undefined);
    }, retryLogin),
  );

  r.get(
    '/cas/callback',
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const tenantId = str(req.query.tenant, 64);
      if (!tenantId) throw new LoginError('invalid_request', msg('refusal.noTenant'));
      res.locals.tenant = tenantId;
      if (req.query.ticket === undefined) {
        // back from the CAS logout (its service is this URL) or a bare visit
        res.redirect(303, `${base}/signed-out?tenant=${encodeURIComponent(tenantId)}`);
        return;
      }
      const tx = await d.transactions.takeByCookie(req);
      if (!tx && !settings.login.allowUnsolicited) throw new LoginError('unsolicited_login', msg('refusal.unsolicited'));
      if (tx && (tx.protocol !== 'cas' || tx.tenantId !== tenantId)) throw new LoginError('invalid_state', msg('refusal.casMismatch'));
      // a service ticket is bound to no browser: anyone's ticket can be opened here
      await arrive(req, res, 'cas', tenantId, tx?.returnTo ?? d.returnTo.fallback, null, undefined);
    }, (req) => loginUrl(str(req.query.tenant, 64), undefined, 'cas')),
  );

  // single logout (CAS: cas-logout.ts), only when switched on: a back-channel call from OneAccess
  // to the service URL, answered in JSON; a well-formed request for an unknown ticket changes nothing
  if (singleLogout) {
    const { connector, tickets } = singleLogout;
    r.post('/cas/callback', express.urlencoded({ extended: false, limit: MAX_CAS_RESPONSE_BYTES * 2 }), async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const tenantId = str(req.query.tenant, 64);
      const refuse = (reason: string) => {
        d.log.warn({ refusal: 'cas_logout_request', reason, tenantId }, 'CAS single logout refused');
        res.status(400).json({ error: 'invalid_request', error_description: reason });
      };
      if (!tenantId) return refuse('no tenant in the service URL');
      let ticket: string;
      try {
        ticket = await connector.readLogoutRequest((req.body as Record<string, unknown> | undefined)?.['logoutRequest']);
      } catch (e) {
        return refuse(e instanceof GatewayError && e.expose ? e.userMessage : 'unreadable request');
      }
      try {
        const sid = await tickets.sessionOf(tenantId, ticket);
        const { ended } = sid ? await d.sessions.revise([sid], async () => null) : { ended: 0 };
        if (sid) await tickets.forget(tenantId, ticket);
        d.log.info({ tenantId, ended }, 'CAS single logout');
        res.status(200).json({ ended });
      } catch (e) {
        d.log.error({ err: e, tenantId }, 'CAS single logout failed');
        res.status(503).json({ error: 'unavailable', error_description: 'the gateway could not end the session; send it again' });
      }
    });
  }

  // the person's answer on the switch page (POST: the proxy guides already route /login here)
  r.post(
    '/login',
    express.urlencoded({ extended: false, limit: '4kb' }),
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      // the handle is a secret bound to this session; this only turns away other sites' forms early.
      // Pages are sent with Referrer-Policy: no-referrer, so browsers post this with Origin: null.
      const origin = req.headers.origin;
      const site = req.headers['sec-fetch-site'];
      if ((origin !== undefined && origin !== 'null' && origin !== new URL(base).origin) || (site !== undefined && site !== 'same-origin')) {
        throw new LoginError('invalid_request', msg('refusal.switchOrigin'));
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const current = await d.sessions.current(req);
      const pending = current ? await d.switches.take(body.switch, d.sessions.sidOf(req)!) : null;
      if (!current || !pending) throw new LoginError('invalid_state', msg('refusal.switchExpired'));
      if (body.choice !== 'continue') {
        d.metrics.logins.inc({ outcome: 'switch_declined', protocol: pending.id.protocol });
        await signIn.audit('login.switch-declined', signIn.userTarget(pending.tenantId, pending.id.userName), { current: current.identity.claims.sub }, `user:${current.identity.claims.sub}`);
        res.redirect(303, d.returnTo.fallback);
        return;
      }
      res.locals.tenant = pending.tenantId;
      const tenant = await tenants.active(pending.tenantId);
      await signIn.complete(req, res, { tenant, id: pending.id, returnTo: pending.returnTo, appId: pending.appId, bound: true });
    }, retryLogin),
  );

  const logout = handle(async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const signedOut = `${base}/signed-out`;
    const target = resolveReturnTo(req.query.return_to ?? (req.body as Record<string, unknown> | undefined)?.return_to, { ...d.returnTo, fallback: signedOut });
    const held = await d.sessions.endCurrent(req);
    res.clearCookie(d.sessions.cookieName, d.sessions.cookie.clearOptions());
    if (!held) {
      res.redirect(303, target);
      return;
    }
    await signIn.audit('logout', signIn.userTarget(held.identity.claims.tenant, held.identity.claims.user_name), { sub: held.identity.claims.sub }, `user:${held.identity.claims.sub}`);
    // the provider's sign-out too, when it has one and the tenant is still there (sessions before
    // the protocol was recorded signed in with OAuth)
    const connector = connectors[held.upstream?.protocol ?? 'oauth'];
    const tenant = hasLogoutUrl(connector) ? await tenants.find(held.identity.claims.tenant) : null;
    let to = target;
    if (tenant && hasLogoutUrl(connector)) {
      try {
        to = connector.logoutUrl(tenant, target);
      } catch {
        // an unusable OneAccess URL (insecure_idp): the gateway's sign-out is all there is
      }
    }
    res.redirect(303, to);
  }, () => `${base}/signed-out`);
  r.get('/logout', logout);
  r.post('/logout', express.urlencoded({ extended: false, limit: '4kb' }), logout);

  r.get('/signed-out', (req, res) => {
    res.set('Cache-Control', 'no-store');
    sendPage(req, res, 'signed-out', { loginUrl: loginUrl(str(req.query.tenant, 64)) });
  });

  // the landing page after sign-in when no app is configured (BRIDGE_APP_URL unset)
  r.get(
    '/signed-in',
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const s = await d.sessions.current(req);
      if (!s) {
        res.redirect(303, loginUrl(undefined, `${base}/signed-in`));
        return;
      }
      const c = s.identity.claims;
      const lang = pageLanguage(req);
      sendPage(req, res, 'signed-in', {
        name: c.name ?? c.user_name,
        userName: c.user_name,
        tenantName: c.tenant_name ? `${c.tenant_name} (${c.tenant_code ?? c.tenant})` : c.tenant,
        role: msg(c.role === 'admin' ? 'role.admin' : 'role.user'),
        email: c.email,
        expiresAt: new Date(s.expiresAt).toLocaleString(lang, { timeZone: 'Asia/Shanghai', dateStyle: 'medium', timeStyle: 'short' }),
        logoutUrl: `${base}/logout`,
      });
    }, () => loginUrl()),
  );

  r.get('/auth/session', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    try {
      const s = await d.sessions.current(req);
      if (!s) {
        res.status(401).json({ error: 'unauthenticated', error_description: 'no gateway session', login_url: `${base}/login` });
        return;
      }
      const sid = d.sessions.sidOf(req)!;
      // the record current() read, refreshed when due: one read of the session per request
      const now = d.refresher.due(s) ? d.sessions.activeOf(await d.refresher.ensureFresh(sid, await d.sessions.loadedRecord(req))) : s;
      if (!now) {
        res.status(401).json({ error: 'unauthenticated', error_description: 'the session has ended', login_url: `${base}/login` });
        return;
      }
      res.json({ ...now.identity.claims, expires_at: new Date(now.expiresAt).toISOString() });
    } catch (e) {
      if (e instanceof LoginError || e instanceof SessionError) {
        res.status(e.status === 401 ? 401 : e.status).json({ error: e.code, error_description: e.userMessage, login_url: `${base}/login` });
        return;
      }
      d.log.error({ err: e }, '/auth/session failed');
      res.status(503).json({ error: 'unavailable', error_description: 'the session store does not answer' });
    }
  });

  return r;
}


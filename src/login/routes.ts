// The browser side of sign-in: /login (GET starts one, POST answers the account-switch page),
// /oauth/callback, /cas/callback, /logout, /auth/session, /signed-out. Routers translate HTTP to
// connector and directory calls; every refusal is a page (or JSON) that says what went wrong.
import express, { type NextFunction, type Request, type Response } from 'express';
import * as client from 'openid-client';
import type { Settings } from '../config/load.ts';
import { StoreUnavailableError, type Store } from '../store/store.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Directory } from '../directory/directory.ts';
import type { TenantRecord } from '../directory/model.ts';
import type { TenantApps } from './tenant-apps.ts';
import type { Sessions } from '../session/sessions.ts';
import { resolveReturnTo, type ReturnToPolicy } from '../web/return-to.ts';
import { CasError, MAX_CAS_RESPONSE_BYTES } from './cas-response.ts';
import { CasLogoutError, CasTickets, logoutRequestTicket } from './cas-logout.ts';
import type { CasConnector } from './cas-connector.ts';
import { LoginError } from './errors.ts';
import type { IdentityClaims, UpstreamIdentity } from '../identity/identity.ts';
import type { OAuthClientInfo, OAuthConnector } from './oauth-connector.ts';
import { pageLanguage, sendError, sendPage, wantsJson } from '../web/pages.ts';
import { noteTenant } from '../ops/access-log.ts';
import { switchPage, type AccountSwitches, type PendingSwitch } from './account-switch.ts';
import { profileOf, settleSignIn } from './live-identity.ts';
import { decideSignIn } from './policy.ts';
import type { Refresher } from '../session/refresh.ts';
import { SessionError } from '../session/errors.ts';
import { idpBaseUrl, type TenantResolver } from './tenant.ts';
import type { Transactions } from './transactions.ts';
import { msg } from '../web/i18n.ts';

export interface LoginDeps {
  settings: Settings;
  store: Store;
  directory: Directory;
  sessions: Sessions;
  transactions: Transactions;
  switches: AccountSwitches;
  resolver: TenantResolver;
  oauth: OAuthConnector;
  cas: CasConnector;
  apps: TenantApps;
  refresher: Refresher;
  returnTo: ReturnToPolicy;
  log: Logger;
  metrics: Metrics;
}

type Handler = (req: Request, res: Response) => Promise<void>;

function str(v: unknown, max = 2048): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

export function loginRouter(d: LoginDeps): express.Router {
  const { settings, directory } = d;
  const base = settings.publicUrl;
  const redirectUri = `${base}/oauth/callback`;
  const casService = (tenantId: string) => `${base}/cas/callback?tenant=${encodeURIComponent(tenantId)}`;
  const r = express.Router();
  const casTickets = settings.login.casSingleLogout ? new CasTickets(d.store, settings.session.absoluteTimeoutSec * 1000) : null;

  const audit = (action: string, target: string, detail: Record<string, string | number | boolean | null>, actor = 'browser') =>
    d.store.write([], [{ at: new Date().toISOString(), actor, action, target, detail }]).catch((e: unknown) => d.log.warn({ err: e, action }, 'could not write audit record'));

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
      await audit('login.refused', `prod/tenant/${tenantId || '-'}`, { code: known.code, status: known.status });
      d.transactions.clear(res);
      sendError(req, res, { status: known.status, code: known.code, message: known.shown, retry: ('retry' in known ? known.retry : known.status >= 500) || known.status === 400 }, retry(req, res));
    }
  };

  /**
   * Completes a sign-in. `bound`: this browser provably started it (OAuth state + PKCE, or the
   * person's click on the switch page); otherwise a live session of another person is not
   * replaced without asking (account-switch.ts).
   */
  async function finish(
    req: Request,
    res: Response,
    tenant: TenantRecord,
    id: UpstreamIdentity,
    returnTo: string,
    appId: string | undefined,
    bound: boolean,
    /** what must be stored with the new session before the browser is told it is signed in */
    alongside?: (sid: string) => Promise<unknown>,
  ): Promise<void> {
    res.locals.tenant = tenant.tenantId;
    res.locals.user = id.userName;
    const user = await directory.getUser('prod', tenant.tenantId, id.userName);
    let claims: IdentityClaims;
    try {
      claims = decideSignIn(tenant, user, id, (u) => directory.accountId('prod', tenant.tenantId, u), settings.login);
    } catch (e) {
      if (e instanceof LoginError) await audit('login.refused', `prod/user/${tenant.tenantId}/${id.userName}`, { code: e.code, protocol: id.protocol });
      throw e;
    }
    const current = bound ? null : await d.sessions.current(req);
    if (current && current.identity.claims.sub !== claims.sub) {
      await askBeforeSwitch(req, res, current.identity.claims, claims, { id, tenantId: tenant.tenantId, ...(appId ? { appId } : {}), returnTo });
      return;
    }
    const established = await d.sessions.establishFor(req, { ns: 'prod', claims }, { protocol: id.protocol, tenantId: tenant.tenantId, ...(appId ? { appId } : {}), ...(id.tokens ? { tokens: id.tokens } : {}), profile: profileOf(id) });
    const settled = await settleSignIn(established, { directory, sessions: d.sessions, policy: settings.login });
    if (!settled) throw new LoginError('not_authorized', msg('refusal.withdrawnDuringSignIn'));
    try {
      await alongside?.(established.sid);
    } catch (e) {
      // no half sign-in: a session whose companion record is missing is ended, and the retry page shown
      await d.sessions.end(established.sid, established.session).catch(() => undefined);
      throw e;
    }
    // the browser learns of the session only now that every part of it is stored
    d.sessions.setCookie(req, res, established);
    d.transactions.clear(res);
    d.metrics.logins.inc({ outcome: 'success', protocol: id.protocol });
    await audit('login.success', `prod/user/${tenant.tenantId}/${claims.user_name}`, { sub: claims.sub, protocol: id.protocol }, `user:${claims.sub}`);
    d.log.info({ sub: claims.sub, tenant: tenant.tenantId, protocol: id.protocol }, 'signed in');
    res.redirect(303, returnTo);
  }

  async function askBeforeSwitch(req: Request, res: Response, current: IdentityClaims, next: IdentityClaims, pending: Omit<PendingSwitch, 'binding'>): Promise<void> {
    d.transactions.clear(res);
    d.metrics.logins.inc({ outcome: 'switch_asked', protocol: pending.id.protocol });
    await audit('login.switch-asked', `prod/user/${next.tenant}/${next.user_name}`, { sub: next.sub, current: current.sub, protocol: pending.id.protocol }, `user:${current.sub}`);
    d.log.info({ sub: next.sub, current: current.sub }, 'sign-in for another person parked until this browser confirms');
    // not framable, no Referer: the security headers every page of the gateway gets (web/security-headers.ts)
    res.status(200).set('Cache-Control', 'no-store');
    if (wantsJson(req)) {
      res.status(409).json({ error: 'account_switch', error_description: `This browser is signed in as ${current.user_name}; the sign-in answer is for another person. Open it in a browser page to choose.` });
      return;
    }
    const handle = await d.switches.park(d.sessions.sidOf(req)!, pending);
    res.type('html').send(switchPage(pageLanguage(req), current, next, `${base}/login`, handle));
  }

  // the tenant a failed attempt was for, once known (res.locals.tenant), makes the retry link one click
  const retryLogin = (req: Request, res: Response) => loginUrl((res.locals.tenant as string | undefined) ?? str(req.query.tenant, 64), str(req.query.return_to));

  r.get(
    '/login',
    handle(async (req, res) => {
      const returnTo = resolveReturnTo(req.query.return_to, d.returnTo);
      const protocol = req.query.protocol ?? 'oauth';
      if (protocol !== 'oauth' && protocol !== 'cas') throw new LoginError('invalid_request', msg('refusal.unknownProtocol'));
      const tenant = await d.resolver.fromRequest(req.query.tenant, req.host);
      res.set('Cache-Control', 'no-store');
      if (!tenant) {
        if (req.query.tenant !== undefined) await d.resolver.lookup(String(req.query.tenant)); // throws the clear refusal
        if (settings.login.appId && protocol === 'oauth') {
          await d.transactions.startByCookie(req, res, { protocol: 'oauth', tenantId: null, returnTo });
          const u = settings.login.unifiedLoginUrl;
          const params = `ind=UNOP&appId=${encodeURIComponent(settings.login.appId)}`;
          res.redirect(303, u.includes('#') ? `${u}${u.includes('?', u.indexOf('#')) ? '&' : '?'}${params}` : `${u}?${params}`);
          return;
        }
        sendPage(req, res, 'chooser', { action: `${base}/login`, returnTo, protocol, lang: typeof req.query.lang === 'string' ? req.query.lang : '' });
        return;
      }
      if (protocol === 'cas') {
        const idp = idpBaseUrl(tenant, settings.login.allowInsecureIdp);
        await d.transactions.startByCookie(req, res, { protocol: 'cas', tenantId: tenant.tenantId, returnTo });
        res.redirect(303, d.cas.loginUrl(idp, casService(tenant.tenantId)));
        return;
      }
      const info = await d.apps.clientFor(tenant);
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = await d.transactions.startWithState(req, res, { protocol: 'oauth', tenantId: tenant.tenantId, returnTo, codeVerifier });
      const url = d.oauth.authorizationUrl(info, { redirectUri, state, codeChallenge: await client.calculatePKCECodeChallenge(codeVerifier) });
      res.redirect(303, url);
    }, retryLogin),
  );

  r.get(
    '/oauth/callback',
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const error = str(req.query.error, 256);
      if (error) {
        const desc = str(req.query.error_description, 256);
        throw new LoginError(error === 'access_denied' ? 'not_authorized' : 'upstream_refused', msg('refusal.upstreamDenied', { detail: `${error}${desc ? `: ${desc}` : ''}` }), { retry: true });
      }
      const code = str(req.query.code, 1024);
      if (!code) throw new LoginError('invalid_request', msg('refusal.noCode'));
      const state = str(req.query.state, 256);
      let tenantId: string;
      let returnTo: string;
      let codeVerifier: string | undefined;
      if (state) {
        const tx = await d.transactions.takeByState(req, state);
        if (!tx || tx.protocol !== 'oauth' || !tx.tenantId) {
          throw new LoginError('invalid_state', msg('refusal.stateUsed'));
        }
        const claimed = str(req.query.tenant, 64);
        if (claimed && claimed !== tx.tenantId) throw new LoginError('invalid_state', msg('refusal.otherTenant'));
        ({ tenantId, returnTo, codeVerifier } = { tenantId: tx.tenantId, returnTo: tx.returnTo, codeVerifier: tx.codeVerifier });
      } else {
        // unified login page or enterprise workbench: code + tenant, no state
        const claimed = str(req.query.tenant, 64);
        if (!claimed) throw new LoginError('invalid_request', msg('refusal.noTenant'));
        const tx = await d.transactions.takeByCookie(req);
        if (!tx && !settings.login.allowUnsolicited) {
          throw new LoginError('unsolicited_login', msg('refusal.unsolicited'));
        }
        if (tx && tx.tenantId && tx.tenantId !== claimed) throw new LoginError('invalid_state', msg('refusal.otherTenant'));
        tenantId = claimed;
        returnTo = tx?.returnTo ?? d.returnTo.fallback;
      }
      res.locals.tenant = tenantId;
      const tenant = await d.apps.activeTenant(tenantId);
      const info = await d.apps.clientFor(tenant);
      const callbackUrl = new URL(redirectUri);
      for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string') callbackUrl.searchParams.set(k, v);
      const started = performance.now();
      const id = await d.oauth.signIn(info, callbackUrl, { ...(state ? { state } : {}), ...(codeVerifier ? { codeVerifier } : {}) });
      d.metrics.upstreamSeconds.observe({ step: 'oauth-signin' }, (performance.now() - started) / 1000);
      // with state, PKCE bound the code to this browser's transaction: nobody else's sign-in can arrive here
      await finish(req, res, tenant, id, returnTo, info.appId, !!state);
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
      const tenant = await d.apps.activeTenant(tenantId);
      const idp = idpBaseUrl(tenant, settings.login.allowInsecureIdp);
      const started = performance.now();
      const id = await d.cas.validate(idp, casService(tenantId), req.query.ticket, tenantId);
      d.metrics.upstreamSeconds.observe({ step: 'cas-validate' }, (performance.now() - started) / 1000);
      // a service ticket is bound to no browser: anyone's ticket can be opened here
      // signed in with this ticket (not parked on the switch page): single logout can name it
      const ticket = String(req.query.ticket);
      await finish(req, res, tenant, id, tx?.returnTo ?? d.returnTo.fallback, undefined, false, casTickets ? (sid) => casTickets.remember(tenantId, ticket, sid) : undefined);
    }, (req) => loginUrl(str(req.query.tenant, 64), undefined, 'cas')),
  );

  // CAS single logout (cas-logout.ts), only when switched on: a back-channel call from OneAccess,
  // answered in JSON; a well-formed request for an unknown ticket changes nothing and is fine
  if (casTickets) {
    r.post('/cas/callback', express.urlencoded({ extended: false, limit: MAX_CAS_RESPONSE_BYTES * 2 }), async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const tenantId = str(req.query.tenant, 64);
      let ticket: string;
      try {
        if (!tenantId) throw new CasLogoutError('no tenant in the service URL');
        ticket = await logoutRequestTicket((req.body as Record<string, unknown> | undefined)?.['logoutRequest']);
      } catch (e) {
        const reason = e instanceof CasLogoutError ? e.message : 'unreadable request';
        d.log.warn({ refusal: 'cas_logout_request', reason, tenantId }, 'CAS single logout refused');
        res.status(400).json({ error: 'invalid_request', error_description: reason });
        return;
      }
      try {
        const sid = await casTickets.sessionOf(tenantId, ticket);
        const { ended } = sid ? await d.sessions.revise([sid], async () => null) : { ended: 0 };
        if (sid) await casTickets.forget(tenantId, ticket);
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
        await audit('login.switch-declined', `prod/user/${pending.tenantId}/${pending.id.userName}`, { current: current.identity.claims.sub }, `user:${current.identity.claims.sub}`);
        res.redirect(303, d.returnTo.fallback);
        return;
      }
      res.locals.tenant = pending.tenantId;
      const tenant = await d.apps.activeTenant(pending.tenantId);
      await finish(req, res, tenant, pending.id, pending.returnTo, pending.appId, true);
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
    await audit('logout', `prod/user/${held.identity.claims.tenant}/${held.identity.claims.user_name}`, { sub: held.identity.claims.sub }, `user:${held.identity.claims.sub}`);
    const tenant = await directory.getTenant('prod', held.identity.claims.tenant);
    if (!tenant) {
      res.redirect(303, target);
      return;
    }
    let idp: string;
    try {
      idp = idpBaseUrl(tenant, settings.login.allowInsecureIdp);
    } catch {
      res.redirect(303, target);
      return;
    }
    if (held.upstream?.protocol === 'cas') res.redirect(303, d.cas.logoutUrl(idp, casService(tenant.tenantId)));
    else res.redirect(303, `${idp}/api/v1/logout?redirect_url=${encodeURIComponent(target)}`);
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
      const now = d.refresher.due(s) ? d.sessions.activeOf(await d.refresher.ensureFresh(sid)) : s;
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


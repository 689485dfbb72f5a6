// Composes the gateway from its modules. Everything it needs is passed in, so tests build the
// same app main.ts serves, on any store.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { KeyObject } from 'node:crypto';
import type { Settings } from './config/load.ts';
import type { AuditEvent, Store } from './store/store.ts';
import type { Logger } from './ops/logger.ts';
import { Metrics } from './ops/metrics.ts';
import { opsRouter } from './ops/health.ts';
import { accessLog } from './ops/access-log.ts';
import { Directory, type DirectoryEffect } from './directory/directory.ts';
import { deriveKey, SecretBox } from './directory/secret-box.ts';
import { syncRouter } from './marketplace/sync-router.ts';
import type { BootSecrets } from './bootstrap.ts';
import { Sessions } from './session/sessions.ts';
import { Transactions } from './login/transactions.ts';
import { AccountSwitches } from './login/account-switch.ts';
import { OAuthConnector } from './login/oauth-connector.ts';
import { CasConnector } from './login/cas-connector.ts';
import { loginRouter } from './login/routes.ts';
import { reviseSessions } from './login/live-identity.ts';
import { returnToPolicyFromSettings } from './web/return-to.ts';
import { Tenants } from './login/tenants.ts';
import { SignIn } from './login/sign-in.ts';
import { refreshGrant } from './login/connectors.ts';
import { Refresher } from './session/refresh.ts';
import { SessionCache } from './session/session-cache.ts';
import { KeyManager, keySetAlgs } from './delivery/keys.ts';
import { TokenIssuer } from './delivery/tokens.ts';
import { jwksRouter } from './delivery/jwks-route.ts';
import { createVerifier } from './delivery/verify.ts';
import { AccessRules } from './delivery/access-rules.ts';
import { mountOidc } from './oidc/provider.ts';
import { createProxyMode } from './delivery/proxy-mode.ts';
import { gatewayPathMatcher } from './web/routes.ts';
import { securityHeaders } from './web/security-headers.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { GatewayError } from './identity/errors.ts';
import type { Duplex } from 'node:stream';
import { RateLimits } from './limits/rate-limits.ts';
import { browserLimits } from './limits/browser-limits.ts';
import { VerifyPool } from './marketplace/verify-pool.ts';
import { SyncLog } from './marketplace/sync-log.ts';
import { Console } from './admin/console.ts';
import { OperatorAuth } from './admin/operator.ts';
import { SessionHandles } from './admin/session-handles.ts';
import { adminRouter } from './admin/router.ts';
import { anchorTickObjects } from './ops/tick-anchor.ts';

export interface AppDeps {
  settings: Settings;
  store: Store;
  log: Logger;
  secrets: BootSecrets;
  clientSecretKey: KeyObject | null;
  now?: () => number;
  /** keep one tick object alive (src/ops/tick-anchor.ts); false only in bench/tick-anchor.ts, which measures what it is for */
  anchorTicks?: boolean;
}

export interface Gateway {
  app: express.Express;
  /** what the HTTP server runs: the forward-auth fast path, then express for everything else */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  directory: Directory;
  metrics: Metrics;
  sessions: Sessions;
  keys: KeyManager;
  tokens: TokenIssuer;
  verifier: ReturnType<typeof createVerifier>;
  /** WebSocket (and other) upgrades in proxy mode; attach to the HTTP server's 'upgrade' event */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Starts the threads a big push needs (the verification workers, the embedded store's writer)
   * instead of at the first one, which waited for them. main.ts calls it; tests and tools that
   * build a gateway start them only when a big push comes.
   */
  warm(): void;
  /** stops background work (not the store, which the caller owns) */
  close(): Promise<void>;
}

/**
 * What the last error handler answers: the gateway's own errors say it themselves. Errors made
 * by express, its router and body parsers are no class of ours: they carry `status` (and
 * http-errors' `expose`) by express's convention, so only for them is the shape read.
 */
function errorAnswer(err: unknown): { status: number; shown: string | undefined } {
  if (err instanceof GatewayError) return { status: err.status, shown: err.expose ? err.userMessage : undefined };
  const e = err as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  return { status, shown: e?.expose === true && typeof e.message === 'string' && e.message ? e.message : undefined };
}

export async function createGateway(deps: AppDeps): Promise<Gateway> {
  const { settings, store, log } = deps;
  if (deps.anchorTicks !== false) anchorTickObjects();
  const metrics = new Metrics();
  const limits = new RateLimits(settings, store, metrics, log.child({ module: 'limits' }));
  const verifyPool = new VerifyPool(settings.marketplace.kitAccessKey, settings.limits.largePush);
  const directory = new Directory(store, deps.secrets.accountKey);
  const atRest = new SecretBox(deriveKey(deps.secrets.sessionSecret, 'at-rest'));
  const secure = settings.publicUrl.startsWith('https:');
  const cookieSecret = deriveKey(deps.secrets.sessionSecret, 'cookie').toString('base64url');
  const sessions = new Sessions(store, {
    idleTimeoutSec: settings.session.idleTimeoutSec,
    absoluteTimeoutSec: settings.session.absoluteTimeoutSec,
    secure,
    cookieSecret,
  });
  const sessionCache = new SessionCache(store, sessions.sessionStore, sessions.cookie, {
    ttlMs: settings.access.cacheTtlMs,
    touchEveryMs: Math.min(60_000, (settings.session.idleTimeoutSec * 1000) / 4),
  });
  await sessionCache.start();
  const keys = await KeyManager.open(store, atRest, {
    alg: settings.tokens.alg,
    alsoSign: keySetAlgs(settings.tokens.alg),
    tokenTtlSec: settings.tokens.ttlSec,
    rotateAfterDays: settings.tokens.rotateAfterDays,
    log: log.child({ module: 'keys' }),
  });
  const tokens = new TokenIssuer(keys, { issuer: settings.publicUrl, audience: settings.tokens.audience || settings.app.url || settings.publicUrl, ttlSec: settings.tokens.ttlSec });
  const returnTo = returnToPolicyFromSettings(settings);
  // in proxy mode the app lives on the gateway's own origin: land there, not on the private app URL
  if (settings.app.proxy) returnTo.fallback = `${settings.publicUrl}/`;
  const upstreamLimits = { timeoutMs: settings.login.upstreamTimeoutMs, maxBodyBytes: settings.login.maxUpstreamBodyBytes };
  // sign-in serves the production namespace; seller debug data (testFlag 1) is never signed in to
  const tenants = new Tenants(directory, atRest, { ns: 'prod', appId: settings.login.appId, allowInsecureIdp: settings.login.allowInsecureIdp, tenantHosts: settings.login.tenantHosts });
  const oauth = new OAuthConnector(tenants, {
    limits: upstreamLimits,
    allowInsecure: settings.login.allowInsecureIdp,
    publicUrl: settings.publicUrl,
    unifiedLogin: { url: settings.login.unifiedLoginUrl, appId: settings.login.appId },
    observeUpstream: (step, seconds) => metrics.upstreamSeconds.observe({ step }, seconds),
  });
  const cas = new CasConnector(tenants, { limits: upstreamLimits, publicUrl: settings.publicUrl, format: settings.login.casFormat, observeUpstream: (step, seconds) => metrics.upstreamSeconds.observe({ step }, seconds) });
  const connectors = { oauth, cas } as const;
  const refresher = new Refresher({
    store,
    sessions,
    skewMs: settings.session.refreshSkewSec * 1000,
    grant: refreshGrant(connectors),
    changes: sessionCache,
  });
  const verifier = createVerifier({
    publicUrl: settings.publicUrl,
    cache: sessionCache,
    sessions,
    tokens,
    refresher,
    trust: proxyaddr.compile(settings.trustedProxies),
    rules: new AccessRules(settings.access.rules, settings.access.caseSensitivePaths),
    returnTo,
    metrics,
    log: log.child({ module: 'verify' }),
  });

  /** a committed sync's consequences: cached OneAccess clients dropped, affected sessions ended or given the new identity */
  const onEffects = async (effects: DirectoryEffect[]): Promise<void> => {
    for (const e of effects) if (e.kind === 'tenant-changed' || e.kind === 'app-changed') oauth.forgetTenant(e.tenantId);
    const ended = await sessions.endFor(effects);
    if (ended) log.info({ ended }, 'deprovisioning ended sessions');
    await auditDeprovisioning(effects, ended);
    const revised = await reviseSessions(effects, { directory, sessions, policy: settings.login });
    if (revised.changed || revised.ended) log.info(revised, 'directory change reached live sessions');
  };

  /** one audit record per person or tenant a sync took away, for the console's audit log */
  const auditDeprovisioning = async (effects: DirectoryEffect[], ended: number): Promise<void> => {
    const at = new Date().toISOString();
    const events = effects.flatMap((e): AuditEvent[] =>
      e.kind === 'user-revoked'
        ? [{ at, actor: 'marketplace', action: 'user.deprovisioned', target: `${e.ns}/user/${e.tenantId}/${e.userName}`, detail: { sub: e.sub, sessionsEndedBySync: ended } }]
        : (e.kind === 'tenant-changed' || e.kind === 'app-changed') && e.removed
          ? [{ at, actor: 'marketplace', action: 'tenant.deprovisioned', target: `${e.ns}/tenant/${e.tenantId}`, detail: { cause: e.kind, sessionsEndedBySync: ended } }]
          : [],
    );
    if (events.length) await store.write([], events).catch((err: unknown) => log.warn({ err }, 'could not write the deprovisioning audit records'));
  };

  const syncLog = new SyncLog(store);
  // off unless configured (contract §4): then /admin is not mounted and answers 404
  const consoleOn = settings.admin.token !== '' || settings.admin.operatorTenants.length > 0;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // X-Forwarded-* is believed only from these addresses
  app.set('trust proxy', settings.trustedProxies);
  // read by the page renderer when neither ?lang= nor Accept-Language decides
  app.locals.uiLanguage = settings.ui.defaultLanguage;
  // the gateway's own answers get the security headers; in proxy mode the app's paths are the app's
  const isGatewayPath = gatewayPathMatcher({ syncPrefix: settings.marketplace.syncPathPrefix, consoleOn });
  app.use(securityHeaders((req) => !settings.app.proxy || isGatewayPath(req.path)));

  app.use(opsRouter(store, metrics, settings.ops.metricsFrom));
  app.use(
    `${settings.marketplace.syncPathPrefix}/produceAPI/v2`,
    syncRouter({
      settings: settings.marketplace,
      store,
      log: log.child({ module: 'marketplace' }),
      metrics,
      apply: { directory, atRest, clientSecretKey: deps.clientSecretKey },
      ...(deps.now ? { now: deps.now } : {}),
      onEffects,
      pushFailures: limits.pushFailures,
      pool: verifyPool,
      largeBytes: settings.limits.largePush.bytes,
      syncLog,
    }),
  );

  app.use(jwksRouter(keys));
  // forward-auth: the express route of the same decision as the fast path (?redirect=true, apps mounting `app` directly)
  app.all(['/auth/verify', '/auth/verify/*appended'], (req, res, next) => {
    verifier.handler(req, res).catch(next);
  });
  // before any handler: a refused request reads and writes nothing
  const limited = browserLimits(limits, log.child({ module: 'limits' }));
  // POST /login is the answer on the switch page; a refused one still writes an audit row
  app.route('/login').get(limited.login).post(limited.login);
  app.get(['/oauth/callback', '/cas/callback'], limited.callback);
  app.use(['/oidc/auth', '/oidc/session/end', '/oidc/interaction'], limited.oidc);
  const proxyMode = settings.app.proxy
    ? createProxyMode({
        target: settings.app.url,
        publicUrl: settings.publicUrl,
        syncPrefix: settings.marketplace.syncPathPrefix,
        consoleOn,
        verifier,
        sessions: sessionCache,
        onError: (err) => log.warn({ err }, 'proxy: the app did not answer'),
      })
    : null;
  // proxy mode: app traffic takes the forward-auth path
  if (proxyMode) app.use(proxyMode.middleware);
  const oidc = await mountOidc(app, { settings, store, sessions, keys, cookieSecret, log, metrics });
  if (consoleOn) {
    app.use(
      '/admin',
      adminRouter({
        console: new Console({ store, directory, sessions, tenants, policy: settings.login, syncLog, keys, metrics, handles: new SessionHandles(deriveKey(deps.secrets.sessionSecret, 'admin-session-handle')) }),
        auth: new OperatorAuth(store, sessions, {
          token: settings.admin.token,
          operatorTenants: settings.admin.operatorTenants,
          idleSec: settings.admin.sessionIdleSec,
          secure,
          csrfKey: deriveKey(deps.secrets.sessionSecret, 'admin-csrf'),
        }),
        store,
        limit: limits.admin,
        publicUrl: settings.publicUrl,
        log: log.child({ module: 'admin' }),
      }),
    );
  }
  const transactions = new Transactions(store, settings.login.transactionTtlSec, secure);
  const switches = new AccountSwitches(store);
  app.use(
    loginRouter({
      settings,
      store,
      sessions,
      transactions,
      switches,
      tenants,
      connectors,
      signIn: new SignIn({ tenants, directory, sessions, transactions, switches, policy: settings.login, store, publicUrl: settings.publicUrl, log: log.child({ module: 'login' }), metrics }),
      refresher,
      returnTo,
      log: log.child({ module: 'login' }),
      metrics,
    }),
  );

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', error_description: `no route for ${req.method} ${req.path}` });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, shown } = errorAnswer(err);
    if (status >= 500) log.error({ err, path: req.path }, 'request failed');
    if (res.headersSent) return;
    res.status(status).json({ error: status >= 500 ? 'server_error' : 'bad_request', error_description: shown ?? 'the request could not be handled' });
  });

  const logRequest = settings.ops.accessLog ? accessLog(log.child({ module: 'access' })) : null;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    logRequest?.(req, res);
    let answered: boolean | Promise<boolean>;
    try {
      answered = verifier.fast(req, res);
    } catch (err) {
      answered = Promise.reject(err);
    }
    if (answered === true) return;
    if (answered === false) {
      app(req, res);
      return;
    }
    answered.then(
      (done) => {
        if (!done) app(req, res);
      },
      (err: unknown) => {
        log.error({ err }, 'forward-auth failed');
        if (!res.headersSent) res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"error":"unavailable"}');
      },
    );
  };

  return {
    app,
    listener,
    directory,
    metrics,
    sessions,
    keys,
    tokens,
    verifier,
    upgrade(req, socket, head) {
      if (proxyMode) proxyMode.upgrade(req, socket, head);
      else socket.destroy();
    },
    warm() {
      verifyPool.warm();
      store.warm?.();
    },
    async close() {
      proxyMode?.close();
      await verifyPool.close();
      await oidc?.close();
      await sessionCache.close();
      await keys.close();
    },
  };
}

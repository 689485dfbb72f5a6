// GET /auth/verify: the forward-auth check behind nginx auth_request, Traefik ForwardAuth, Caddy
// forward_auth and Envoy ext_authz. The hot path of every page the app serves: served on plain
// node:http ahead of express (fast()), the cookie is checked in memory, the session comes from a
// short in-process snapshot (one store read on a miss), and the identity token and the answer's
// headers are cached per session, so the usual answer is synchronous. Only an upstream token
// about to expire, or ?redirect=true, goes through express (and express-session for the refresh).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { SessionData } from 'express-session';
import type { Metrics } from '../ops/metrics.ts';
import type { Logger } from '../ops/logger.ts';
import type { SessionCache } from '../session/session-cache.ts';
import type { Sessions } from '../session/sessions.ts';
import { LoginError } from '../login/errors.ts';
import { ensureFresh, type RefreshDeps } from '../login/refresh.ts';
import type { AccessRules } from './access-rules.ts';
import { canonicalPath, type CanonicalPath } from '../web/canonical-path.ts';
import { forwarded, originalRequest, peerIsTrusted, type OriginalRequest } from './forwarded.ts';
import { identityHeaders } from './identity-headers.ts';
import { resolveReturnTo, type ReturnToPolicy } from './return-to.ts';
import type { TokenIssuer } from './tokens.ts';
import type { IdentityClaims } from '../identity/identity.ts';

export interface VerifyDeps {
  publicUrl: string;
  cache: SessionCache;
  sessions: Sessions;
  tokens: TokenIssuer;
  refresh: RefreshDeps;
  /** express's compiled 'trust proxy' function */
  trust: (addr: string, i: number) => boolean;
  rules: AccessRules;
  returnTo: ReturnToPolicy;
  absoluteTimeoutMs: number;
  metrics: Metrics;
  log: Logger;
}

export type Verdict =
  | { ok: true; headers: Record<string, string> }
  /** 400: the path cannot be judged by the access rules (forward-auth answers it as 403) */
  | { ok: false; status: 400 | 401 | 403 | 503; reason: string; loginUrl?: string };

const VERIFY = '/auth/verify';

/**
 * The original request's path from the verify URL itself: Envoy's HTTP ext_authz appends it to
 * the configured prefix (/auth/verify/app/page?x=1). Believed only from a trusted proxy.
 * undefined: not such a URL (plain /auth/verify, whose original path comes from forwarded headers).
 */
export function appendedPath(url: string): string | undefined {
  return url.startsWith(`${VERIFY}/`) ? url.slice(VERIFY.length) : undefined;
}

/** the original request: forwarded headers, with an Envoy-style appended path taking precedence */
function withAppendedPath(f: OriginalRequest, url: string, trusted: boolean): OriginalRequest {
  const appended = appendedPath(url);
  if (appended === undefined) return f;
  const { pathProblem: _ignored, uri: _forwarded, ...rest } = f;
  return trusted ? { ...rest, uri: appended } : rest;
}

/** the canonical path the access rules judge, from what the proxy said */
export function pathOf(f: OriginalRequest): CanonicalPath {
  if (f.pathProblem) return { ok: false, reason: f.pathProblem };
  if (f.uri === undefined) return { ok: false, reason: 'the proxy did not say which path was requested' };
  return canonicalPath(f.uri);
}

function runMiddleware(mw: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => mw(req, res, ((err?: unknown) => (err ? reject(err) : resolve())) as NextFunction));
}

export function createVerifier(d: VerifyDeps) {
  const loginUrl = (f: OriginalRequest): string => {
    if (f.uri) {
      const original = `${f.proto}://${f.host}${f.uri}`;
      const target = resolveReturnTo(original, d.returnTo);
      if (target !== d.returnTo.fallback || original === d.returnTo.fallback) return `${d.publicUrl}/login?return_to=${encodeURIComponent(target)}`;
    }
    return `${d.publicUrl}/login`;
  };

  const refreshSkewMs = d.refresh.skewMs;
  const needsRefresh = (s: SessionData) => !!s.upstream?.tokens && s.upstream.tokens.expiresAt - refreshSkewMs <= Date.now();

  interface DecideInput {
    cookie: string | undefined;
    /** the original path, for the access rules (computed only when there are rules) */
    path: () => CanonicalPath;
    loginUrl: () => string;
    /** express request and response, for the slow (refresh) path */
    slow?: { req: Request; res: Response };
    /** without `slow`: answer 'fallback' when a refresh is due (the caller retries through express); otherwise skip the refresh */
    fallbackOnRefresh?: boolean;
  }

  async function decide(input: DecideInput & { fallbackOnRefresh: true }): Promise<Verdict | 'fallback'>;
  async function decide(input: DecideInput): Promise<Verdict>;
  async function decide(input: DecideInput): Promise<Verdict | 'fallback'> {
    const sid = d.cache.sessionId(input.cookie);
    let s: SessionData | null = null;
    if (sid) {
      try {
        s = await d.cache.get(sid);
      } catch (e) {
        d.log.error({ err: e }, 'forward-auth: the session store does not answer');
        return { ok: false, status: 503, reason: 'the session store does not answer' };
      }
    }
    if (s && (!s.identity || !s.createdAt || Date.now() >= s.createdAt + d.absoluteTimeoutMs)) s = null;
    if (s && sid && !input.slow && input.fallbackOnRefresh && needsRefresh(s)) return 'fallback';
    if (s && sid && input.slow && needsRefresh(s)) {
      const { req, res } = input.slow;
      try {
        await runMiddleware(d.sessions.middleware, req, res);
        await ensureFresh(req, d.refresh);
        s = req.session?.identity ? req.session : null;
      } catch (e) {
        if (!(e instanceof LoginError)) d.log.warn({ err: e }, 'forward-auth: refresh failed');
        s = null;
      }
      d.cache.invalidate(sid);
    }
    if (!s || !sid) return { ok: false, status: 401, reason: 'no gateway session', loginUrl: input.loginUrl() };
    const claims = s.identity!.claims;
    const refusal = d.rules.check(input.path, claims);
    if (refusal) return { ok: false, ...refusal };
    const token = await d.tokens.tokenFor(sid, claims);
    return { ok: true, headers: identityHeaders(claims, token) };
  }

  /** /auth/verify: the original request is described by trusted forwarded headers (or the URL, Envoy) */
  const verdict = (req: Request, res: Response) => {
    const f = withAppendedPath(forwarded(req), req.originalUrl, peerIsTrusted(req));
    return decide({ cookie: req.headers.cookie, path: () => pathOf(f), loginUrl: () => loginUrl(f), slow: { req, res } });
  };

  const ALLOWED = { outcome: 'allowed' };
  const JSON_NO_STORE = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

  /** per session: the complete 200 headers for its current token (bounded; rebuilt when the token changes) */
  const answers = new Map<string, { token: string; claims: IdentityClaims; headers: OutgoingHttpHeaders }>();
  function okHeaders(sid: string, claims: IdentityClaims, token: string): OutgoingHttpHeaders {
    let a = answers.get(sid);
    if (!a || a.token !== token || a.claims !== claims) {
      a = { token, claims, headers: { 'cache-control': 'no-store', ...identityHeaders(claims, token) } };
      if (answers.size >= 20_000) answers.delete(answers.keys().next().value!);
      answers.set(sid, a);
    }
    return a.headers;
  }

  /**
   * The hot path on plain node:http, ahead of express: /auth/verify (and /auth/verify/<path>, Envoy).
   * Answers synchronously when the session snapshot and its token are cached (the usual case).
   * false = express must answer instead (a refresh is due, ?redirect=true, other routes).
   */
  function fast(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean> {
    const url = req.url ?? '';
    // ?redirect=true on the plain form is answered by express; an appended path's query is the app's
    if (!(url === VERIFY || (url.startsWith(`${VERIFY}?`) && !url.includes('redirect=')) || appendedPath(url) !== undefined)) return false;
    // the original request is parsed only when needed: for access rules, or for a refusal's login URL
    let f: OriginalRequest | undefined;
    const original = (): OriginalRequest => {
      if (!f) {
        const addr = req.socket.remoteAddress;
        const trusted = !!addr && d.trust(addr, 0);
        f = withAppendedPath(originalRequest(req, !!(req.socket as TLSSocket).encrypted, trusted), url, trusted);
      }
      return f;
    };
    const sid = d.cache.sessionId(req.headers.cookie);
    const s = sid ? d.cache.peek(sid) : undefined;
    if (sid && s?.identity && s.createdAt && Date.now() < s.createdAt + d.absoluteTimeoutMs && !needsRefresh(s) && !d.rules.check(() => pathOf(original()), s.identity.claims)) {
      const token = d.tokens.peek(sid, s.identity.claims);
      if (token) {
        d.metrics.verify.inc(ALLOWED);
        res.writeHead(200, okHeaders(sid, s.identity.claims, token)).end();
        return true;
      }
    }
    return fastAsync(req, res, original);
  }

  async function fastAsync(req: IncomingMessage, res: ServerResponse, original: () => OriginalRequest): Promise<boolean> {
    const v = await decide({ cookie: req.headers.cookie, path: () => pathOf(original()), loginUrl: () => loginUrl(original()), fallbackOnRefresh: true });
    if (v === 'fallback') return false;
    if (v.ok) {
      d.metrics.verify.inc(ALLOWED);
      res.writeHead(200, { 'cache-control': 'no-store', ...v.headers }).end();
      return true;
    }
    const status = forwardAuthStatus(v);
    d.metrics.verify.inc({ outcome: String(status) });
    const body = JSON.stringify(refusalBody(v));
    res.writeHead(status, v.loginUrl ? { ...JSON_NO_STORE, 'x-auth-request-login-url': v.loginUrl } : JSON_NO_STORE).end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  /** proxies understand only 401 and 403 from a forward-auth check: a path that cannot be judged is refused as 403 */
  const forwardAuthStatus = (v: Extract<Verdict, { ok: false }>) => (v.status === 400 ? 403 : v.status);

  function refusalBody(v: Extract<Verdict, { ok: false }>) {
    return { error: v.status === 401 ? 'unauthenticated' : v.status === 403 || v.status === 400 ? 'forbidden' : 'unavailable', error_description: v.reason, ...(v.loginUrl ? { login_url: v.loginUrl } : {}) };
  }

  const handler = async (req: Request, res: Response): Promise<void> => {
    res.set('Cache-Control', 'no-store');
    const v = await verdict(req, res);
    d.metrics.verify.inc({ outcome: v.ok ? 'allowed' : String(forwardAuthStatus(v)) });
    if (v.ok) {
      res.set(v.headers).status(200).end();
      return;
    }
    if (v.loginUrl) res.set('X-Auth-Request-Login-Url', v.loginUrl);
    // for proxies that cannot turn a 401 into a redirect themselves (Traefik, Caddy): opt in with ?redirect=true
    if (v.loginUrl && req.query.redirect === 'true') {
      res.redirect(302, v.loginUrl);
      return;
    }
    res.status(forwardAuthStatus(v)).json(refusalBody(v));
  };

  return { decide, verdict, handler, fast };
}

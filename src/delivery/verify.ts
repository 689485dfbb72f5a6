// GET /auth/verify: the forward-auth check behind nginx auth_request, Traefik ForwardAuth, Caddy
// forward_auth and Envoy ext_authz. The hot path of every page the app serves: served on plain
// node:http ahead of express (fast()), the cookie is parsed and checked once, in memory; the
// session comes from a short in-process snapshot (one store read on a miss), and the identity
// token and the answer's headers are cached per session, so the usual answer is synchronous.
// One decision (decide()) for every caller — the fast path, the express route (?redirect=true,
// and apps that mount the express app directly) and proxy mode — including a due refresh of the
// upstream token, which runs here, request-free, on the record already read.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Request, Response } from 'express';
import type { Metrics } from '../ops/metrics.ts';
import type { Logger } from '../ops/logger.ts';
import type { SessionCache } from '../session/session-cache.ts';
import type { Sessions } from '../session/sessions.ts';
import type { Refresher } from '../session/refresh.ts';
import { SessionError } from '../session/errors.ts';
import { isLive, type SessionRecord } from '../session/record.ts';
import type { AccessRules } from './access-rules.ts';
import { canonicalPath, type CanonicalPath } from '../web/canonical-path.ts';
import { originalRequest, type OriginalRequest } from '../web/forwarded.ts';
import { identityHeaders } from './identity-headers.ts';
import { resolveReturnTo, type ReturnToPolicy } from '../web/return-to.ts';
import type { TokenIssuer } from './tokens.ts';
import type { IdentityClaims } from '../identity/identity.ts';
import { LOGIN_URL_HEADER } from '../identity/headers.ts';
import { rawCookieHeader } from '../web/cookies.ts';
import { BoundedMap } from '../web/bounded-map.ts';

const LOGIN_URL = LOGIN_URL_HEADER.toLowerCase();

export interface VerifyDeps {
  publicUrl: string;
  cache: SessionCache;
  sessions: Sessions;
  tokens: TokenIssuer;
  refresher: Refresher;
  /** express's compiled 'trust proxy' function */
  trust: (addr: string, i: number) => boolean;
  rules: AccessRules;
  returnTo: ReturnToPolicy;
  metrics: Metrics;
  log: Logger;
}

export type Verdict =
  /**
   * headers: the identity headers; response: the complete 200 answer's (no-store and a zero
   * content-length included: without it Node frames the empty answer as chunked)
   */
  | { ok: true; headers: Record<string, string>; response: OutgoingHttpHeaders }
  /** 400: the path cannot be judged by the access rules (forward-auth answers it as 403) */
  | { ok: false; status: 400 | 401 | 403 | 503; reason: string; loginUrl?: string };

export interface DecideInput {
  /** the session id the request's cookie names (SessionCache.sessionId), parsed once by the caller */
  readonly sid: string | null;
  /** the original path, for the access rules (computed only when there are rules) */
  path(): CanonicalPath;
  loginUrl(): string;
}

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

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as Promise<T> | undefined)?.then === 'function';

export function createVerifier(d: VerifyDeps) {
  const absoluteMs = d.sessions.timeouts.absoluteMs;

  const loginUrl = (f: OriginalRequest): string => {
    if (f.uri) {
      const original = `${f.proto}://${f.host}${f.uri}`;
      const target = resolveReturnTo(original, d.returnTo);
      if (target !== d.returnTo.fallback || original === d.returnTo.fallback) return `${d.publicUrl}/login?return_to=${encodeURIComponent(target)}`;
    }
    return `${d.publicUrl}/login`;
  };

  /** per session: its identity headers and the complete 200 answer for its current token (bounded; rebuilt when the token changes) */
  const answers = new BoundedMap<string, { token: string; claims: IdentityClaims; verdict: Verdict & { ok: true } }>(20_000);
  function allowed(sid: string, claims: IdentityClaims, token: string): Verdict {
    let a = answers.get(sid);
    if (!a || a.token !== token || a.claims !== claims) {
      const headers = identityHeaders(claims, token);
      a = { token, claims, verdict: { ok: true, headers, response: { 'cache-control': 'no-store', ...headers, 'content-length': '0' } } };
      answers.set(sid, a);
    }
    return a.verdict;
  }

  const noSession = (input: DecideInput): Verdict => ({ ok: false, status: 401, reason: 'no gateway session', loginUrl: input.loginUrl() });

  /** the decision once the session's record is known and fresh; synchronous when its token is cached */
  function judge(input: DecideInput, s: SessionRecord | null): Verdict | Promise<Verdict> {
    const sid = input.sid;
    if (!sid || !isLive(s, absoluteMs)) return noSession(input);
    const claims = s.identity.claims;
    const refusal = d.rules.check(input, claims);
    if (refusal) return { ok: false, ...refusal };
    const token = d.tokens.peek(sid, claims);
    if (token) return allowed(sid, claims, token);
    return d.tokens.tokenFor(sid, claims).then((t) => allowed(sid, claims, t));
  }

  async function withRecord(input: DecideInput, sid: string, known: SessionRecord | null | undefined): Promise<Verdict> {
    let s: SessionRecord | null;
    try {
      s = known === undefined ? await d.cache.get(sid) : known;
    } catch (e) {
      d.log.error({ err: e }, 'forward-auth: the session store does not answer');
      return { ok: false, status: 503, reason: 'the session store does not answer' };
    }
    if (isLive(s, absoluteMs) && d.refresher.due(s)) {
      try {
        s = await d.refresher.ensureFresh(sid, s);
        d.cache.remember(sid, s);
      } catch (e) {
        if (!(e instanceof SessionError)) d.log.warn({ err: e }, 'forward-auth: refresh failed');
        d.cache.invalidate(sid);
        s = null;
      }
    }
    return judge(input, s);
  }

  /**
   * The one decision: the session the cookie names (snapshot, else one store read), its refresh
   * when due (on that record, not read again), the access rules, the identity token.
   * Synchronous when the snapshot is warm, fresh and its token cached (the usual case).
   */
  function decide(input: DecideInput): Verdict | Promise<Verdict> {
    if (!input.sid) return noSession(input);
    const s = d.cache.peek(input.sid);
    if (s === undefined || (isLive(s, absoluteMs) && d.refresher.due(s))) return withRecord(input, input.sid, s);
    return judge(input, s);
  }

  /** the original request as the (trusted) proxy described it */
  function originalOf(req: IncomingMessage, url: string): OriginalRequest {
    const addr = req.socket.remoteAddress;
    const trusted = !!addr && d.trust(addr, 0);
    return withAppendedPath(originalRequest(req, !!(req.socket as TLSSocket).encrypted, trusted), url, trusted);
  }

  /**
   * One forward-auth request's input to decide(): the cookie parsed once, the forwarded headers at
   * most once and only when needed. A class, not closures: the hot path allocates one object per
   * request (tsx's esbuild names every closure it creates, a defineProperty each).
   */
  class ForwardAuthInput implements DecideInput {
    readonly sid: string | null;
    private f: OriginalRequest | undefined;
    constructor(
      private readonly req: IncomingMessage,
      private readonly url: string,
    ) {
      this.sid = d.cache.sessionId(rawCookieHeader(req));
    }
    private original(): OriginalRequest {
      return (this.f ??= originalOf(this.req, this.url));
    }
    path(): CanonicalPath {
      return pathOf(this.original());
    }
    loginUrl(): string {
      return loginUrl(this.original());
    }
  }

  /** the decision for a forward-auth request */
  function check(req: IncomingMessage, url: string): Verdict | Promise<Verdict> {
    return decide(new ForwardAuthInput(req, url));
  }

  const JSON_NO_STORE = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const ALLOWED = { outcome: 'allowed' };

  /** proxies understand only 401 and 403 from a forward-auth check: a path that cannot be judged is refused as 403 */
  const forwardAuthStatus = (v: Extract<Verdict, { ok: false }>) => (v.status === 400 ? 403 : v.status);

  function refusalBody(v: Extract<Verdict, { ok: false }>) {
    return { error: v.status === 401 ? 'unauthenticated' : v.status === 403 || v.status === 400 ? 'forbidden' : 'unavailable', error_description: v.reason, ...(v.loginUrl ? { login_url: v.loginUrl } : {}) };
  }

  function send(req: IncomingMessage, res: ServerResponse, v: Verdict): void {
    if (v.ok) {
      d.metrics.verify.inc(ALLOWED);
      res.writeHead(200, v.response).end();
      return;
    }
    const status = forwardAuthStatus(v);
    d.metrics.verify.inc({ outcome: String(status) });
    const body = JSON.stringify(refusalBody(v));
    const length = { 'content-length': Buffer.byteLength(body) };
    res.writeHead(status, v.loginUrl ? { ...JSON_NO_STORE, [LOGIN_URL]: v.loginUrl, ...length } : { ...JSON_NO_STORE, ...length }).end(req.method === 'HEAD' ? undefined : body);
  }

  /**
   * The hot path on plain node:http, ahead of express: /auth/verify (and /auth/verify/<path>, Envoy).
   * false = express must answer instead (?redirect=true, other routes).
   */
  function fast(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean> {
    const url = req.url ?? '';
    // ?redirect=true on the plain form is answered by express; an appended path's query is the app's
    if (!(url === VERIFY || (url.startsWith(`${VERIFY}?`) && !url.includes('redirect=')) || appendedPath(url) !== undefined)) return false;
    const v = check(req, url);
    if (!isPromise(v)) {
      send(req, res, v);
      return true;
    }
    return v.then((verdict) => {
      send(req, res, verdict);
      return true;
    });
  }

  /** the express route: the same check; ?redirect=true turns a 401 into a 302 (Traefik, Caddy) */
  const handler = async (req: Request, res: Response): Promise<void> => {
    res.set('Cache-Control', 'no-store');
    const v = await check(req, req.originalUrl);
    d.metrics.verify.inc({ outcome: v.ok ? 'allowed' : String(forwardAuthStatus(v)) });
    if (v.ok) {
      res.set(v.headers).status(200).end();
      return;
    }
    if (v.loginUrl) res.set(LOGIN_URL_HEADER, v.loginUrl);
    if (v.loginUrl && req.query.redirect === 'true') {
      res.redirect(302, v.loginUrl);
      return;
    }
    res.status(forwardAuthStatus(v)).json(refusalBody(v));
  };

  return { decide, handler, fast };
}

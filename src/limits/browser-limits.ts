// Rate limits in front of the browser endpoints that cost something: GET /login (stores a sign-in
// transaction), the callbacks (a OneAccess token or ticket call each), and the OIDC endpoints that
// store provider state. Refusals are 429 with Retry-After, as a page or JSON like every refusal.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../ops/logger.ts';
import { sendError } from '../web/pages.ts';
import { msg } from '../web/i18n.ts';
import type { Limit, RateLimits, Verdict } from './rate-limits.ts';

type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/** the client address: the socket's, or the right-most untrusted X-Forwarded-For entry behind trustedProxies */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function tenantParam(req: Request): string | undefined {
  const t = req.query.tenant;
  return typeof t === 'string' && t.length > 0 && t.length <= 64 ? t : undefined;
}

export function sendRateLimited(req: Request, res: Response, retryAfterSec: number): void {
  res.set('Retry-After', String(retryAfterSec));
  sendError(req, res, { status: 429, code: 'rate_limited', message: msg('refusal.rateLimited', { seconds: retryAfterSec }), retry: false });
}

/** each check in turn; the first refusal answers (later limits are not counted) */
function limiter(log: Logger, checks: (req: Request) => Array<[Limit, string]>): Middleware {
  return (req, res, next) => {
    void (async () => {
      let verdict: Verdict = { ok: true };
      let limit: Limit | undefined;
      for (const [l, key] of checks(req)) {
        verdict = await l.take(key);
        if (!verdict.ok) {
          limit = l;
          break;
        }
      }
      if (verdict.ok) return next();
      log.warn({ refusal: 'rate_limited', limit: limit?.name, client: clientAddress(req), path: req.path, retryAfterSec: verdict.retryAfterSec }, 'request refused');
      sendRateLimited(req, res, verdict.retryAfterSec);
    })().catch(next);
  };
}

export function browserLimits(limits: RateLimits, log: Logger) {
  return {
    login: limiter(log, (req) => {
      const ip = clientAddress(req);
      const tenant = tenantParam(req);
      return [[limits.login, ip], ...(tenant ? ([[limits.loginTenant, tenant]] as Array<[Limit, string]>) : []), [limits.transactions, ip]];
    }),
    // a callback with `state` answers a sign-in started here (itself limited); without one it is
    // unsolicited and counts against its tenant too, which bounds the OneAccess calls junk can cause
    callback: limiter(log, (req) => {
      const tenant = tenantParam(req);
      const unsolicited = req.query.state === undefined && (req.query.code !== undefined || req.query.ticket !== undefined);
      return [[limits.callback, clientAddress(req)], ...(unsolicited && tenant ? ([[limits.callbackTenant, tenant]] as Array<[Limit, string]>) : [])];
    }),
    oidc: limiter(log, (req) => [[limits.oidc, clientAddress(req)]]),
  };
}

// One access-log line per request at info (method, path, status, ms, tenant when known), with
// the values of secret-bearing query parameters replaced. Probes (/healthz, /readyz, /metrics)
// and forward-auth checks (/auth/verify, one per request of the proxy in front, which logs the
// request itself; counted in the verify metric) log at debug: at info they would drown the log
// and cost the forward-auth fast path more than half its throughput.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.ts';

const SECRET_PARAMS = new Set(['code', 'state', 'ticket', 'token', 'access_token', 'id_token', 'id_token_hint', 'refresh_token', 'logout_token', 'client_secret', 'password', 'session_state', 'samlresponse', 'xsrf']);
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

const tenants = new WeakMap<IncomingMessage, string>();

/** the tenant a request concerns, once a handler knows it */
export function noteTenant(req: IncomingMessage, tenantId: string | undefined): void {
  if (tenantId) tenants.set(req, tenantId);
}

/** the path and query of a request URL with secret query values replaced by [redacted] */
export function loggablePath(url: string | undefined): string {
  const raw = (url ?? '/').slice(0, 2048);
  const q = raw.indexOf('?');
  if (q === -1) return raw;
  const parts = raw
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a malformed name is logged as sent
      }
      return eq !== -1 && SECRET_PARAMS.has(decoded.toLowerCase()) ? `${name}=[redacted]` : pair;
    });
  return `${raw.slice(0, q)}?${parts.join('&')}`;
}

/** noted by a handler, else what express-based routes left: res.locals.tenant or the session's identity */
function tenantOf(req: IncomingMessage, res: ServerResponse): { tenant?: string } {
  const noted = tenants.get(req);
  const local = (res as { locals?: { tenant?: unknown } }).locals?.tenant;
  const session = (req as { session?: { identity?: { claims?: { tenant?: unknown } } } }).session?.identity?.claims?.tenant;
  const tenant = noted ?? (typeof local === 'string' ? local : typeof session === 'string' ? session : undefined);
  return tenant ? { tenant } : {};
}

export function accessLog(log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // read now: express rewrites req.url inside mounted routers
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathOnly = q === -1 ? url : url.slice(0, q);
    const quiet = PROBES.has(pathOnly) || pathOnly === '/auth/verify' || pathOnly.startsWith('/auth/verify/');
    // nothing to do (not even a listener) when the line would not be written
    if (!log.isLevelEnabled(quiet ? 'debug' : 'info')) return;
    const started = performance.now();
    res.once('close', () => {
      const line = {
        method: req.method,
        path: loggablePath(url),
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...tenantOf(req, res),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (quiet) log.debug(line, 'request');
      else log.info(line, 'request');
    });
  };
}

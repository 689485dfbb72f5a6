// What the original request looked like, told only by proxies we trust (settings.trustedProxies,
// compiled by express as 'trust proxy'). Anyone else's X-Forwarded-* is ignored.
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Request } from 'express';

export interface OriginalRequest {
  proto: 'http' | 'https';
  host: string;
  /** the original path and query as the trusted proxy sent it (raw: canonicalPath() judges it) */
  uri?: string;
  /** why the original path cannot be judged: headers that disagree or repeat, a comma in X-Forwarded-Uri */
  pathProblem?: string;
}

export interface Forwarded extends OriginalRequest {
  for: string;
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/** nginx sets X-Original-URI, Traefik and Caddy X-Forwarded-Uri, IIS-style proxies X-Original-Url */
const URI_HEADERS = ['x-forwarded-uri', 'x-original-uri', 'x-original-url'] as const;

/** the raw path and query of an absolute URL or of a path, without parsing (parsing would normalise it) */
function rawTarget(v: string): string | undefined {
  if (v.startsWith('/')) return v;
  const m = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*(.*)$/is.exec(v);
  if (!m) return undefined;
  const rest = m[1]!;
  return rest.startsWith('/') ? rest : `/${rest}`;
}

type HeaderSource = { headers: IncomingHttpHeaders; headersDistinct?: NodeJS.Dict<string[]> };

/** the one implementation, for express routes and the raw forward-auth fast path alike */
export function originalRequest(req: HeaderSource, encrypted: boolean, trusted: boolean): OriginalRequest {
  const { headers } = req;
  const xfp = trusted ? first(headers['x-forwarded-proto']) : undefined;
  const f: OriginalRequest = {
    proto: xfp === 'https' || (!xfp && encrypted) ? 'https' : 'http',
    host: (trusted ? first(headers['x-forwarded-host']) : undefined) ?? headers.host ?? '',
  };
  if (!trusted) return f;
  // Each proxy sets its own header and passes the others through from the client untouched, and
  // node joins repeated headers with ", ": two values that disagree, a repeated header, or a
  // comma in X-Forwarded-Uri (two folded values?) mean one may be the client's. Never split them.
  const distinct = req.headersDistinct;
  const values: string[] = [];
  for (const name of URI_HEADERS) {
    const all = distinct ? distinct[name] : typeof headers[name] === 'string' ? [headers[name] as string] : undefined;
    if (!all?.length) continue;
    if (all.length > 1) {
      f.pathProblem = `the proxy sent ${name} more than once`;
      return f;
    }
    const v = name === 'x-original-url' ? rawTarget(all[0]!) : all[0];
    if (v === undefined) continue;
    if (name === 'x-forwarded-uri' && v.includes(',')) f.pathProblem = 'a comma in X-Forwarded-Uri';
    values.push(v);
  }
  if (new Set(values).size > 1) {
    f.pathProblem = 'the original-path headers disagree';
    return f;
  }
  // only good enough for return_to when the comma is the one problem
  if (values[0]?.startsWith('/')) f.uri = values[0];
  return f;
}

export function peerIsTrusted(req: Request): boolean {
  const trust = req.app.get('trust proxy fn') as (addr: string, i: number) => boolean;
  return !!req.socket.remoteAddress && trust(req.socket.remoteAddress, 0);
}

export function forwarded(req: Request): Forwarded {
  // req.ip follows 'trust proxy' through the whole X-Forwarded-For chain
  return { for: req.ip ?? req.socket.remoteAddress ?? '', ...originalRequest(req, !!(req.socket as TLSSocket).encrypted, peerIsTrusted(req)) };
}

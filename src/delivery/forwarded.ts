// What the original request looked like, told only by proxies we trust (settings.trustedProxies,
// compiled by express as 'trust proxy'). Anyone else's X-Forwarded-* is ignored.
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Request } from 'express';

export interface OriginalRequest {
  proto: 'http' | 'https';
  host: string;
  /** the original path and query, when a trusted proxy sent it */
  uri?: string;
  /** the proxy sent two original paths that disagree: one of them came from the client */
  conflict?: boolean;
}

export interface Forwarded extends OriginalRequest {
  for: string;
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/** the one implementation, for express routes and the raw forward-auth fast path alike */
export function originalRequest(headers: IncomingHttpHeaders, encrypted: boolean, trusted: boolean): OriginalRequest {
  const xfp = trusted ? first(headers['x-forwarded-proto']) : undefined;
  const f: OriginalRequest = {
    proto: xfp === 'https' || (!xfp && encrypted) ? 'https' : 'http',
    host: (trusted ? first(headers['x-forwarded-host']) : undefined) ?? headers.host ?? '',
  };
  if (trusted) {
    // nginx sets X-Original-URI, Traefik X-Forwarded-Uri, some set X-Original-Url; each passes the
    // others through from the client untouched. Two that disagree mean one is forged: use neither.
    const url = first(headers['x-original-url']);
    const candidates = [first(headers['x-forwarded-uri']), first(headers['x-original-uri']), url && URL.canParse(url) ? new URL(url).pathname + new URL(url).search : undefined]
      .filter((u): u is string => !!u);
    if (new Set(candidates).size > 1) f.conflict = true;
    else if (candidates[0]?.startsWith('/')) f.uri = candidates[0];
  }
  return f;
}

export function peerIsTrusted(req: Request): boolean {
  const trust = req.app.get('trust proxy fn') as (addr: string, i: number) => boolean;
  return !!req.socket.remoteAddress && trust(req.socket.remoteAddress, 0);
}

export function forwarded(req: Request): Forwarded {
  // req.ip follows 'trust proxy' through the whole X-Forwarded-For chain
  return { for: req.ip ?? req.socket.remoteAddress ?? '', ...originalRequest(req.headers, !!(req.socket as TLSSocket).encrypted, peerIsTrusted(req)) };
}

// What the original request looked like, told only by proxies we trust (settings.trustedProxies,
// compiled by express as 'trust proxy'). Anyone else's X-Forwarded-* is ignored.
import type { Request } from 'express';

export interface Forwarded {
  for: string;
  proto: 'http' | 'https';
  host: string;
  /** the original path and query, when a trusted proxy sent it */
  uri?: string;
  /** the proxy sent two original paths that disagree: one of them came from the client */
  conflict?: boolean;
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

export function peerIsTrusted(req: Request): boolean {
  const trust = req.app.get('trust proxy fn') as (addr: string, i: number) => boolean;
  return !!req.socket.remoteAddress && trust(req.socket.remoteAddress, 0);
}

export function forwarded(req: Request): Forwarded {
  const trusted = peerIsTrusted(req);
  // req.protocol, req.host and req.ip already follow 'trust proxy'
  const f: Forwarded = { for: req.ip ?? req.socket.remoteAddress ?? '', proto: req.protocol === 'https' ? 'https' : 'http', host: req.host };
  if (trusted) {
    // nginx sets X-Original-URI, Traefik X-Forwarded-Uri, some set X-Original-Url; each passes the
    // others through from the client untouched. Two that disagree mean one is forged: use neither.
    const url = first(req.headers['x-original-url']);
    const candidates = [first(req.headers['x-forwarded-uri']), first(req.headers['x-original-uri']), url && URL.canParse(url) ? new URL(url).pathname + new URL(url).search : undefined]
      .filter((u): u is string => !!u);
    const distinct = new Set(candidates);
    if (distinct.size > 1) f.conflict = true;
    else if (candidates[0]?.startsWith('/')) f.uri = candidates[0];
  }
  return f;
}

// What the original request looked like, told only by proxies we trust (settings.trustedProxies,
// compiled by express as 'trust proxy'). Anyone else's X-Forwarded-* is ignored.
import type { Request } from 'express';

export interface Forwarded {
  for: string;
  proto: 'http' | 'https';
  host: string;
  /** the original path and query, when a trusted proxy sent it */
  uri?: string;
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
    const uri = first(req.headers['x-forwarded-uri']) ?? first(req.headers['x-original-uri']);
    if (uri?.startsWith('/')) f.uri = uri;
    else {
      const url = first(req.headers['x-original-url']);
      if (url && URL.canParse(url)) {
        const u = new URL(url);
        f.uri = u.pathname + u.search;
      }
    }
  }
  return f;
}

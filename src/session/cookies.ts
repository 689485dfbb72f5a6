// Reading one cookie from the Cookie header; a mangled value is treated as absent. And the
// gateway's cookie family, which never leaves the gateway.
import type { IncomingMessage } from 'node:http';

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * The gateway's own cookies (session, login transaction, OIDC provider and their signatures):
 * every name in the bridge.* / bridge-* family, with or without a __Host- or __Secure- prefix.
 * Proxy mode never passes them to the app, which shares the origin and would log them.
 */
export function isGatewayCookie(name: string): boolean {
  return /^(?:__Host-|__Secure-)?bridge(?:[.-]|$)/.test(name);
}

/** the Cookie header without the cookies `drop` names; undefined when none is left */
export function withoutCookies(header: string, drop: (name: string) => boolean): string | undefined {
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !drop((p.includes('=') ? p.slice(0, p.indexOf('=')) : p).trim()));
  return kept.length ? kept.join('; ') : undefined;
}

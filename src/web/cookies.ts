// Cookies: reading one from the Cookie header (a mangled value is treated as absent), the
// gateway's cookie family (which never leaves the gateway), and the signed session cookie.
import type { IncomingMessage } from 'node:http';
import session from 'express-session';
import signature from 'cookie-signature';
import { BoundedMap } from './bounded-map.ts';

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
 * The request's Cookie header read from its raw headers, repeated ones joined with '; ' as Node
 * joins them, without building `req.headers` (which lowercases and copies every header: the
 * forward-auth hot path needs only this one).
 */
export function rawCookieHeader(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let header: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 6 && name.toLowerCase() === 'cookie') header = header === undefined ? raw[i + 1]! : `${header}; ${raw[i + 1]!}`;
  }
  return header;
}

/** whitespace as String.prototype.trim sees it */
const isSpace = (c: string | undefined) => c !== undefined && c.trim() === '';

/**
 * The value (as sent, without trailing whitespace) of the first cookie called `name` in a Cookie
 * header, found without splitting the header: a `name=` counts where only whitespace separates it
 * from the start or a ';'. undefined when there is none.
 */
export function cookieValue(header: string, name: string): string | undefined {
  const prefix = `${name}=`;
  for (let at = header.indexOf(prefix); at !== -1; at = header.indexOf(prefix, at + 1)) {
    let b = at - 1;
    while (isSpace(header[b])) b -= 1;
    if (b !== -1 && header[b] !== ';') continue;
    const start = at + prefix.length;
    const end = header.indexOf(';', start);
    return header.slice(start, end === -1 ? header.length : end).trimEnd();
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

export interface SessionCookieSettings {
  /** https public URL: Secure, with the __Host- prefix */
  secure: boolean;
  secret: string;
  /** the cookie lives for the absolute timeout */
  maxAgeMs: number;
}

/**
 * The session cookie, exactly as express-session writes and reads it (so cookies issued by
 * earlier versions keep working): `s:` + the id + its HMAC (cookie-signature), URI-encoded,
 * HttpOnly, SameSite=Lax, Path=/, Expires at the absolute timeout, Secure on https.
 */
export class SessionCookie {
  readonly name: string;
  /** the cookie's value as sent -> session id: the decoding and HMAC check run once per cookie, not per request */
  private readonly unsigned = new BoundedMap<string, string>(20_000);

  constructor(private readonly settings: SessionCookieSettings) {
    this.name = settings.secure ? '__Host-bridge' : 'bridge.sid';
  }

  get secure(): boolean {
    return this.settings.secure;
  }

  /** the session id from a Cookie header, if its signature is valid */
  sessionId(cookieHeader: string | undefined): string | null {
    if (!cookieHeader) return null;
    const encoded = cookieValue(cookieHeader, this.name);
    if (encoded === undefined) return null;
    const known = this.unsigned.get(encoded);
    if (known !== undefined) return known;
    let raw: string;
    try {
      raw = decodeURIComponent(encoded);
    } catch {
      return null;
    }
    if (!raw.startsWith('s:')) return null;
    const sid = signature.unsign(raw.slice(2), this.settings.secret);
    if (sid === false) return null;
    this.unsigned.set(encoded, sid);
    return sid;
  }

  /** the attributes as express-session keeps them in the session record (`cookie`) */
  attributes(): session.Cookie {
    // typed without its (documented) options argument
    const Cookie = session.Cookie as unknown as new (options: session.CookieOptions) => session.Cookie;
    return new Cookie({ httpOnly: true, sameSite: 'lax', secure: this.settings.secure, path: '/', maxAge: this.settings.maxAgeMs });
  }

  /** the Set-Cookie value for a session id; `attrs` is the record's (their Expires) */
  setCookie(sid: string, attrs: session.Cookie = this.attributes()): string {
    // express-session's own serialisation (typed without it): the same attributes in the same order
    return (attrs as session.Cookie & { serialize(name: string, value: string): string }).serialize(this.name, `s:${signature.sign(sid, this.settings.secret)}`);
  }

  /** options for express's res.clearCookie (logout) */
  clearOptions(): { path: string; httpOnly: boolean; sameSite: 'lax'; secure: boolean } {
    return { path: '/', httpOnly: true, sameSite: 'lax', secure: this.settings.secure };
  }
}

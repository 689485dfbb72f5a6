// The contract's identity headers, built from the identity claims and token. Header values are
// bytes that node refuses outside Latin-1 (ERR_INVALID_CHAR) and that proxies read as Latin-1,
// so every value that needs it is percent-encoded UTF-8: decodeURIComponent() always gives the
// claim back, and plain ASCII values (without "%") are sent unchanged.
import type { IdentityClaims } from '../identity/identity.ts';
import { IDENTITY_HEADER as H } from '../identity/headers.ts';

/** percent-encoded UTF-8 of one character (a lone surrogate becomes U+FFFD instead of throwing) */
function pct(ch: string): string {
  let out = '';
  for (const b of Buffer.from(ch, 'utf8')) out += `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
  return out;
}

function encode(value: string, plain: RegExp, all: RegExp): string {
  if (all.test(value)) return value;
  let out = '';
  for (const ch of value) out += plain.test(ch) ? ch : pct(ch);
  return out;
}

/** visible ASCII except "%": kept; anything else (non-ASCII, controls, spaces, "%") encoded */
export function headerValue(value: string): string {
  return encode(value, /^[\x21-\x24\x26-\x7e]$/, /^[\x21-\x24\x26-\x7e]*$/);
}

/** the display name: always encodeURIComponent's form, as the contract has said from the start */
export function nameHeaderValue(value: string): string {
  return encode(value, /^[A-Za-z0-9\-_.!~*'()]$/, /^[A-Za-z0-9\-_.!~*'()]*$/);
}

export function identityHeaders(claims: IdentityClaims, token: string): Record<string, string> {
  const h: Record<string, string> = {
    [H.jwt]: token,
    [H.subject]: headerValue(claims.sub),
    [H.tenant]: headerValue(claims.tenant),
    [H.user]: headerValue(claims.user_name),
    [H.role]: headerValue(claims.role),
  };
  if (claims.email) h[H.email] = headerValue(claims.email);
  if (claims.name) h[H.name] = nameHeaderValue(claims.name);
  return h;
}

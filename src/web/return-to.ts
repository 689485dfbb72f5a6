// The one place that decides where a browser may be sent (return_to after sign-in and sign-out).
// An attacker controls the input, so: refuse every form that browsers and URL parsers read
// differently, compare WHATWG-normalised origins, and emit only the re-serialised absolute URL,
// so what was checked is exactly what the browser gets.

export type ReturnToPolicy = {
  /** the gateway's base URL; may carry a path, but its whole origin counts as the gateway's */
  publicUrl: string;
  appUrl?: string;
  /** origins (the whole origin) or origin + path (that path prefix, on a segment boundary) */
  allowed: string[];
  /** absolute URL used whenever the input is missing or refused */
  fallback: string;
};

const MAX_LENGTH = 2048;
/** percent-encoding can grow a short input many times over; keep the Location header within what proxies accept */
const MAX_OUTPUT_LENGTH = 4096;

/** backslash, C0 controls, DEL, any whitespace: parsers drop tabs/newlines and browsers read `\` as `/` */
const RAW_FORBIDDEN = /[\\\s\u0000-\u001f\u007f]/;

/** the same in a path, percent-encoded, plus `%2F`: a later decode could make `/%5Cevil.com` or `/%2F/evil.com` a `//host` */
const ENCODED_IN_PATH = /%(?:5c|2f|[01][0-9a-f]|7f)/i;

/** a path on the gateway: one `/` then anything but another slash (`//host` is scheme-relative) */
const GATEWAY_PATH = /^\/(?!\/)/;

/** http(s) written out in full with a non-empty authority free of `%` and `@` (no `https:host`, `https:/host`, `https://@host`) */
const ABSOLUTE = /^https?:\/\/[^/?#%@]+(?:[/?#]|$)/i;

export function resolveReturnTo(input: unknown, policy: ReturnToPolicy): string {
  const url = candidate(input, policy.publicUrl);
  return url && isAllowed(url, policy) ? url.href : policy.fallback;
}

function candidate(input: unknown, publicUrl: string): URL | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_LENGTH) return undefined;
  if (RAW_FORBIDDEN.test(input) || ENCODED_IN_PATH.test(beforeQuery(input))) return undefined;
  let url: URL;
  try {
    if (GATEWAY_PATH.test(input)) url = new URL(input, publicUrl);
    else if (ABSOLUTE.test(input)) url = new URL(input);
    else return undefined;
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  // `/.//evil.com` normalises to the path `//evil.com`; a target that redirects to its own path would make that scheme-relative
  if (url.pathname.startsWith('//')) return undefined;
  return url.href.length <= MAX_OUTPUT_LENGTH ? url : undefined;
}

function beforeQuery(s: string): string {
  const end = s.search(/[?#]/);
  return end === -1 ? s : s.slice(0, end);
}

function isAllowed(url: URL, policy: ReturnToPolicy): boolean {
  if (url.origin === originOf(policy.publicUrl)) return true;
  if (policy.appUrl && url.origin === originOf(policy.appUrl)) return true;
  return policy.allowed.some((entry) => underEntry(url, entry));
}

function originOf(s: string): string | undefined {
  try {
    return new URL(s).origin;
  } catch {
    return undefined;
  }
}

function underEntry(url: URL, entry: string): boolean {
  let e: URL;
  try {
    e = new URL(entry);
  } catch {
    return false;
  }
  if (e.origin !== url.origin) return false;
  const prefix = e.pathname.replace(/\/+$/, '');
  return prefix === '' || url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
}

/** Policy from the loaded settings (contract: BRIDGE_PUBLIC_URL, BRIDGE_APP_URL, BRIDGE_ALLOWED_RETURN_URLS). */
export function returnToPolicyFromSettings(s: { publicUrl: string; app: { url: string; allowedReturnUrls: string[] } }): ReturnToPolicy {
  const appUrl = s.app.url || undefined;
  return {
    publicUrl: s.publicUrl,
    appUrl,
    allowed: s.app.allowedReturnUrls,
    // without an app, the gateway's own page that says who is signed in
    fallback: appUrl ?? `${s.publicUrl.replace(/\/+$/, '')}/signed-in`,
  };
}

// The one canonical form of a request's path, for every access decision (forward-auth in all its
// header forms, proxy mode, upgrades). Proxies and apps disagree on case, slashes, dot segments,
// encodings and `;` parameters; what they would read differently is refused rather than guessed.
//
// Canonical: percent-decoded exactly once (UTF-8), dot segments resolved (RFC 3986 5.2.4, `..`
// stops at the root), repeated slashes folded; the query is not part of it. Refused: not
// origin-form, a backslash, `;`, `#`, a control or non-ASCII byte as sent, a malformed `%`,
// an encoded `/` `\` `.` `;` NUL or control, a second layer of encoding (`%2561`), invalid UTF-8.
// Case is kept; rules fold it (foldCase) unless access.caseSensitivePaths.

export type CanonicalPath = { ok: true; path: string } | { ok: false; reason: string };

/** longer targets than any proxy forwards are not worth reading */
const MAX_TARGET = 8192;

/** as sent: printable ASCII except the backslash, `;` and `#` (and space, which the request line cannot carry) */
const RAW_OK = /^[\x21-\x22\x24-\x3a\x3c-\x5b\x5d-\x7e]*$/;

const refuse = (reason: string): CanonicalPath => ({ ok: false, reason });

const ENCODED_REFUSED: Record<number, string> = {
  0x2f: 'an encoded "/" in the path',
  0x5c: 'an encoded "\\" in the path',
  0x2e: 'an encoded "." in the path',
  0x3b: 'an encoded ";" in the path',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** the canonical path of an origin-form request target (path, optionally `?query`), or why it is refused */
export function canonicalPath(target: string): CanonicalPath {
  if (target.length > MAX_TARGET) return refuse('the path is too long');
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  if (!raw.startsWith('/')) return refuse('the path does not start with "/"');
  if (!RAW_OK.test(raw)) {
    if (raw.includes('\\')) return refuse('a backslash in the path');
    if (raw.includes(';')) return refuse('";" path parameters');
    return refuse('a character in the path that must be percent-encoded');
  }

  let decoded = raw;
  if (raw.includes('%')) {
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c !== 0x25) {
        bytes.push(c);
        continue;
      }
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return refuse('a "%" that is not followed by two hex digits');
      const b = parseInt(hex, 16);
      if (ENCODED_REFUSED[b]) return refuse(ENCODED_REFUSED[b]);
      if (b < 0x20 || b === 0x7f) return refuse('an encoded NUL or control character in the path');
      bytes.push(b);
      i += 2;
    }
    try {
      decoded = utf8.decode(Uint8Array.from(bytes));
    } catch {
      return refuse('the path is not valid UTF-8');
    }
    if (/%[0-9a-fA-F]{2}/.test(decoded)) return refuse('the path is percent-encoded twice');
  }

  const out: string[] = [];
  const segments = decoded.split('/');
  // a path ending in "/", "/." or "/.." names a directory: keep the trailing slash
  const last = segments[segments.length - 1];
  const trailing = last === '' || last === '.' || last === '..';
  for (const s of segments) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return { ok: true, path: `/${out.join('/')}${trailing && out.length ? '/' : ''}` };
}

/**
 * Case folding for case-insensitive matching: upper then lower, so that characters an app might
 * compare upper-cased (`ſ` -> `S`) or lower-cased (Kelvin sign -> `k`) fold like their ASCII kin.
 */
export function foldCase(path: string): string {
  return /^[\x00-\x7f]*$/.test(path) ? path.toLowerCase() : path.toUpperCase().toLowerCase();
}

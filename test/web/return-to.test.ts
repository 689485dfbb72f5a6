import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveReturnTo, returnToPolicyFromSettings, type ReturnToPolicy } from '../../src/web/return-to.ts';

const FALLBACK = 'https://app.example.com/home';
const policy: ReturnToPolicy = {
  publicUrl: 'https://gw.example.com/bridge',
  appUrl: 'https://app.example.com/home',
  allowed: ['https://partner.example.org', 'https://docs.example.net/app', 'http://legacy.example.com:8080'],
  fallback: FALLBACK,
};

const GW = 'https://gw.example.com';

// [input, expected output, why]
const rows: Array<[unknown, string, string]> = [
  // allowed: paths on the gateway
  ['/', `${GW}/`, 'root of the gateway origin'],
  ['/dashboard', `${GW}/dashboard`, 'plain path'],
  ['/bridge/account?tab=1#top', `${GW}/bridge/account?tab=1#top`, 'path, query and fragment kept'],
  ['/.evil.com', `${GW}/.evil.com`, 'a path on our origin, not a host'],
  ['/evil.com', `${GW}/evil.com`, 'a path on our origin, not a host'],
  ['/x?next=%2F%2Fevil.com', `${GW}/x?next=%2F%2Fevil.com`, 'encoded slashes in the query are data'],
  ['/redirect?url=https://evil.com', `${GW}/redirect?url=https://evil.com`, 'a URL in the query stays on our origin'],
  ['/a/../b', `${GW}/b`, 'dot segments are normalised'],
  ['/文档', `${GW}/%E6%96%87%E6%A1%A3`, 'non-ASCII path is percent-encoded'],
  ['https://gw.example.com/outside-bridge', `${GW}/outside-bridge`, 'same origin as publicUrl is enough, whatever its path'],
  ['HTTPS://GW.EXAMPLE.COM/x', `${GW}/x`, 'scheme and host case'],
  // allowed: the app
  ['https://app.example.com/x', 'https://app.example.com/x', 'app origin'],
  ['https://app.example.com', 'https://app.example.com/', 'app origin without a path'],
  ['HTTPS://APP.EXAMPLE.COM/x', 'https://app.example.com/x', 'case-insensitive scheme and host'],
  ['https://app.example.com:443/x', 'https://app.example.com/x', 'default port'],
  ['https://ａｐｐ.example.com/x', 'https://app.example.com/x', 'full-width letters map to ASCII under IDNA: the same host, emitted in ASCII'],
  ['https://app.example.com\u200b/x', 'https://app.example.com/x', 'IDNA ignores a zero-width space: the same host, emitted in ASCII'],
  // allowed: allow-list entries
  ['https://partner.example.org/any/path?q=1', 'https://partner.example.org/any/path?q=1', 'bare-origin entry allows the whole origin'],
  ['https://docs.example.net/app', 'https://docs.example.net/app', 'path entry: the path itself'],
  ['https://docs.example.net/app/', 'https://docs.example.net/app/', 'path entry: with a slash'],
  ['https://docs.example.net/app/x/y?z#f', 'https://docs.example.net/app/x/y?z#f', 'path entry: below it'],
  ['http://legacy.example.com:8080/z', 'http://legacy.example.com:8080/z', 'http entry with a port'],
  [`/${'a'.repeat(2047)}`, `${GW}/${'a'.repeat(2047)}`, 'exactly 2048 characters'],

  // refused: scheme-relative
  ['//evil.com', FALLBACK, 'scheme-relative'],
  ['///evil.com', FALLBACK, 'triple slash'],
  ['////evil.com', FALLBACK, 'quadruple slash'],
  ['//app.example.com', FALLBACK, 'scheme-relative even to an allowed host'],
  ['//app.example.com/x', FALLBACK, 'scheme-relative even to an allowed host'],
  // refused: backslashes
  ['/\\evil.com', FALLBACK, 'browsers read \\ as /'],
  ['\\\\evil.com', FALLBACK, 'double backslash'],
  ['\\/\\/evil.com', FALLBACK, 'mixed slashes'],
  ['/\\/evil.com', FALLBACK, 'slash backslash slash'],
  ['\\evil.com', FALLBACK, 'leading backslash'],
  ['https://evil.com\\@app.example.com', FALLBACK, 'backslash before @'],
  ['https://app.example.com\\.evil.com', FALLBACK, 'backslash in host'],
  ['https:\\\\evil.com', FALLBACK, 'backslashes after the scheme'],
  // refused: percent-encoded separators and controls in the path
  ['/%5Cevil.com', FALLBACK, 'encoded backslash'],
  ['/%5cevil.com', FALLBACK, 'encoded backslash, lower case'],
  ['/%2F/evil.com', FALLBACK, 'encoded slash making //'],
  ['/%2f%2fevil.com', FALLBACK, 'two encoded slashes'],
  ['/%09/evil.com', FALLBACK, 'encoded tab'],
  ['/%0d%0aSet-Cookie:x=1', FALLBACK, 'encoded CRLF (header injection)'],
  ['/%00', FALLBACK, 'encoded NUL'],
  ['/%7F', FALLBACK, 'encoded DEL'],
  ['https://docs.example.net/app%2F..%2Fadmin', FALLBACK, 'encoded slash out of an allowed prefix'],
  // refused: raw controls and whitespace
  ['/\t/evil.com', FALLBACK, 'tab (the URL parser drops it, leaving //evil.com)'],
  ['/\n/evil.com', FALLBACK, 'newline'],
  ['\r\n/x', FALLBACK, 'leading CRLF'],
  [' /x', FALLBACK, 'leading space'],
  ['/x ', FALLBACK, 'trailing space'],
  ['/x y', FALLBACK, 'inner space'],
  ['\u00a0/x', FALLBACK, 'no-break space'],
  ['/\u2028/evil.com', FALLBACK, 'line separator'],
  ['\ufeff/x', FALLBACK, 'byte-order mark'],
  ['/x\u0000', FALLBACK, 'NUL'],
  // refused: other schemes
  ['javascript:alert(1)', FALLBACK, 'javascript:'],
  ['JaVaScRiPt:alert(1)', FALLBACK, 'javascript: in mixed case'],
  ['java\tscript:alert(1)', FALLBACK, 'tab-split scheme'],
  ['java\nscript:alert(1)', FALLBACK, 'newline-split scheme'],
  ['\u0001javascript:alert(1)', FALLBACK, 'control character before the scheme'],
  ['javascript://app.example.com/%0aalert(1)', FALLBACK, 'javascript: dressed as a URL'],
  ['data:text/html,<script>alert(1)</script>', FALLBACK, 'data:'],
  ['vbscript:msgbox(1)', FALLBACK, 'vbscript:'],
  ['file:///etc/passwd', FALLBACK, 'file:'],
  ['ftp://app.example.com/', FALLBACK, 'ftp: to an allowed host'],
  ['ws://app.example.com/', FALLBACK, 'ws: to an allowed host'],
  ['blob:https://app.example.com/0f0e', FALLBACK, 'blob:'],
  // refused: half-written http(s)
  ['https:evil.com', FALLBACK, 'no slashes'],
  ['https:app.example.com', FALLBACK, 'no slashes, even to an allowed host'],
  ['https:/evil.com', FALLBACK, 'one slash'],
  ['https:/app.example.com/x', FALLBACK, 'one slash, even to an allowed host'],
  ['https:///evil.com', FALLBACK, 'empty authority'],
  ['https://', FALLBACK, 'no host'],
  // refused: host confusion
  ['https://evil.com', FALLBACK, 'foreign origin'],
  ['https://app.example.com.evil.com', FALLBACK, 'allowed host as a prefix'],
  ['https://evilapp.example.com', FALLBACK, 'allowed host as a suffix'],
  ['https://sub.app.example.com/', FALLBACK, 'sub-domain of an allowed host'],
  ['https://app.example.com@evil.com', FALLBACK, 'allowed host as user info'],
  ['https://app.example.com:x@evil.com', FALLBACK, 'allowed host as user:password'],
  ['https://user:pass@app.example.com/', FALLBACK, 'credentials on an allowed host'],
  ['https://@app.example.com/', FALLBACK, 'empty user info'],
  ['https://evil.com/https://app.example.com', FALLBACK, 'allowed URL in the path'],
  ['https://evil.com?https://app.example.com', FALLBACK, 'allowed URL in the query'],
  ['https://evil.com#https://app.example.com', FALLBACK, 'allowed URL in the fragment'],
  ['https://evil.com#@app.example.com', FALLBACK, 'fragment before @'],
  ['https://evil.com?@app.example.com', FALLBACK, 'query before @'],
  ['https://app.example.com%2F@evil.com', FALLBACK, 'encoded slash in the authority'],
  ['https://app%2Eexample%2Ecom/', FALLBACK, 'percent-encoded dots in the host'],
  ['https://app.example.com./x', FALLBACK, 'trailing-dot host is a different origin'],
  ['https://app.example.com。evil.com', FALLBACK, 'ideographic full stop becomes a dot'],
  ['https://аpp.example.com/', FALLBACK, 'Cyrillic а lookalike (punycode host)'],
  ['https://app.exampIe.com/', FALLBACK, 'capital I for l'],
  // refused: scheme and port
  ['http://app.example.com/x', FALLBACK, 'http when only https is allowed'],
  ['http://gw.example.com/x', FALLBACK, 'http to the gateway host'],
  ['https://app.example.com:8443/x', FALLBACK, 'other port'],
  ['https://legacy.example.com:8080/z', FALLBACK, 'https when the entry is http'],
  ['http://legacy.example.com/z', FALLBACK, 'port 80 when the entry says 8080'],
  // refused: IP literals and local names
  ['http://[::1]/', FALLBACK, 'IPv6 loopback'],
  ['https://[::ffff:127.0.0.1]/', FALLBACK, 'IPv4-mapped IPv6'],
  ['http://127.0.0.1/', FALLBACK, 'IPv4 loopback'],
  ['http://2130706433/', FALLBACK, 'IPv4 as one number'],
  ['http://0x7f.1/', FALLBACK, 'IPv4 in hex'],
  ['http://localhost/', FALLBACK, 'localhost'],
  // refused: outside an allowed path prefix
  ['https://docs.example.net/application', FALLBACK, 'prefix without a segment boundary'],
  ['https://docs.example.net/', FALLBACK, 'origin of a path entry'],
  ['https://docs.example.net/App', FALLBACK, 'paths are case-sensitive'],
  ['https://docs.example.net/app/../admin', FALLBACK, 'dot segments climb out'],
  ['https://docs.example.net/app/%2e%2e/admin', FALLBACK, 'encoded dot segments climb out'],
  ['https://docs.example.net//app', FALLBACK, 'double slash before the prefix'],
  // refused: paths that normalise to //host
  ['/.//evil.com', FALLBACK, 'normalises to the path //evil.com'],
  ['/..//evil.com', FALLBACK, 'normalises to the path //evil.com'],
  ['/%2e%2e//evil.com', FALLBACK, 'encoded dots normalise to //evil.com'],
  ['https://app.example.com//evil.com', FALLBACK, 'path //evil.com on an allowed host'],
  // refused: not a single-slash path or a full URL
  ['evil.com', FALLBACK, 'bare host'],
  ['dashboard', FALLBACK, 'relative path'],
  ['./x', FALLBACK, 'dot-relative'],
  ['../x', FALLBACK, 'parent-relative'],
  ['?next=x', FALLBACK, 'query only'],
  ['#x', FALLBACK, 'fragment only'],
  ['.', FALLBACK, 'dot'],
  // refused: not usable at all
  ['', FALLBACK, 'empty'],
  ['   ', FALLBACK, 'blank'],
  [`/${'a'.repeat(2048)}`, FALLBACK, '2049 characters'],
  [`https://app.example.com/${'a'.repeat(5000)}`, FALLBACK, 'very long'],
  [`/${'文'.repeat(400)}`, `${GW}/${'%E6%96%87'.repeat(400)}`, 'non-ASCII input whose encoded form is long but under 4096'],
  [`/${'文'.repeat(1000)}`, FALLBACK, 'short input whose encoded form is over 4096'],
  [undefined, FALLBACK, 'missing'],
  [null, FALLBACK, 'null'],
  [42, FALLBACK, 'number'],
  [true, FALLBACK, 'boolean'],
  [['/x'], FALLBACK, 'array (repeated query parameter)'],
  [['/x', '//evil.com'], FALLBACK, 'array of two'],
  [{ href: '/x' }, FALLBACK, 'object'],
  [new URL('https://app.example.com/'), FALLBACK, 'URL object'],
];

describe('resolveReturnTo', () => {
  it(`decides ${rows.length} inputs as expected`, () => {
    const wrong = rows
      .map(([input, expected, why]) => ({ input, expected, why, got: resolveReturnTo(input, policy) }))
      .filter((r) => r.got !== r.expected);
    assert.deepEqual(wrong, []);
  });

  it('returns the fallback for everything when no return_to is given', () => {
    assert.equal(resolveReturnTo(undefined, { publicUrl: 'https://gw.example.com', allowed: [], fallback: 'https://gw.example.com/' }), 'https://gw.example.com/');
  });

  it('treats an entry with a trailing slash like the same entry without it', () => {
    const p = { ...policy, allowed: ['https://docs.example.net/app/'] };
    assert.equal(resolveReturnTo('https://docs.example.net/app', p), 'https://docs.example.net/app');
    assert.equal(resolveReturnTo('https://docs.example.net/app/x', p), 'https://docs.example.net/app/x');
    assert.equal(resolveReturnTo('https://docs.example.net/apps', p), FALLBACK);
  });
});

describe('returnToPolicyFromSettings', () => {
  it('falls back to the app when it is configured', () => {
    assert.deepEqual(returnToPolicyFromSettings({ publicUrl: 'https://gw.example.com', app: { url: 'https://app.example.com', allowedReturnUrls: ['https://a.example.com'] } }), {
      publicUrl: 'https://gw.example.com',
      appUrl: 'https://app.example.com',
      allowed: ['https://a.example.com'],
      fallback: 'https://app.example.com',
    });
  });

  it('falls back to the gateway\'s signed-in page otherwise, keeping its path', () => {
    const p = returnToPolicyFromSettings({ publicUrl: 'https://gw.example.com/bridge', app: { url: '', allowedReturnUrls: [] } });
    assert.equal(p.fallback, 'https://gw.example.com/bridge/signed-in');
    assert.equal(p.appUrl, undefined);
    assert.equal(resolveReturnTo('//evil.com', p), 'https://gw.example.com/bridge/signed-in');
    assert.equal(resolveReturnTo('/bridge/me', p), 'https://gw.example.com/bridge/me');
    assert.equal(returnToPolicyFromSettings({ publicUrl: 'http://localhost:8080/', app: { url: '', allowedReturnUrls: [] } }).fallback, 'http://localhost:8080/signed-in');
  });
});

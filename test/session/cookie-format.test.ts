// The session cookie is byte for byte what express-session set before the middleware was
// retired (same name, value encoding, signature, attributes and their order), so cookies in
// browsers keep working and a rollback reads new ones; compared with express-session itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import http, { type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { cookieValue, rawCookieHeader, SessionCookie } from '../../src/web/cookies.ts';

const SECRET = 'cookie-format-secret';
const MAX_AGE = 8 * 3600 * 1000;

/** what express-session sends for a new session with the gateway's former options */
async function expressSessionCookie(secure: boolean): Promise<{ setCookie: string; sid: string }> {
  const app = express();
  app.set('trust proxy', true);
  app.use(
    session({
      name: secure ? '__Host-bridge' : 'bridge.sid',
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: MAX_AGE },
    }),
  );
  app.get('/', (req, res) => {
    (req.session as unknown as { x: number }).x = 1;
    res.send(req.sessionID);
  });
  const res = await request(app).get('/').set('x-forwarded-proto', 'https');
  return { setCookie: (res.headers['set-cookie'] as unknown as string[])[0]!, sid: res.text };
}

/** Expires is the one part that depends on the moment */
const withoutExpiry = (c: string) => c.replace(/; Expires=[^;]+/, '; Expires=<date>');

describe('the session cookie', () => {
  for (const secure of [false, true]) {
    it(`is the one express-session set (${secure ? 'https: __Host-, Secure' : 'http'})`, async () => {
      const theirs = await expressSessionCookie(secure);
      const ours = new SessionCookie({ secure, secret: SECRET, maxAgeMs: MAX_AGE });
      const mine = ours.setCookie(theirs.sid);
      assert.equal(withoutExpiry(mine), withoutExpiry(theirs.setCookie));
      const expires = (c: string) => Date.parse(/Expires=([^;]+)/.exec(c)![1]!);
      assert.ok(Math.abs(expires(mine) - expires(theirs.setCookie)) <= 2000, 'Expires: the absolute timeout from now');
      // and each reads the other's
      assert.equal(ours.sessionId(theirs.setCookie.split(';')[0]), theirs.sid);
    });
  }

  it('is read the same however its value is encoded, and never with a wrong signature (the memo is per value as sent)', () => {
    const ours = new SessionCookie({ secure: false, secret: SECRET, maxAgeMs: MAX_AGE });
    const value = ours.setCookie('abc-123').split(';')[0]!.slice('bridge.sid='.length);
    assert.match(value, /^s%3A/);
    for (let i = 0; i < 2; i++) {
      assert.equal(ours.sessionId(`bridge.sid=${value}`), 'abc-123');
      assert.equal(ours.sessionId(`other=1; bridge.sid=${decodeURIComponent(value)}`), 'abc-123');
      assert.equal(ours.sessionId(`bridge.sid=${value.slice(0, -2)}xx`), null, 'a changed signature');
      assert.equal(ours.sessionId(`bridge.sid=${value.replace('abc', 'abd')}`), null, 'a changed id');
      assert.equal(ours.sessionId('bridge.sid=%E0%A4%A'), null, 'a mangled encoding');
    }
  });
});

describe('rawCookieHeader', () => {
  it("reads the Cookie header from the raw headers, in any case, repeated ones joined as Node joins them", async () => {
    const seen: Array<{ raw: string | undefined; node: string | undefined }> = [];
    const server = http.createServer((req: IncomingMessage, res) => {
      seen.push({ raw: rawCookieHeader(req), node: req.headers.cookie });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const heads = ['Cookie: a=1\r\n', 'cOOkie: a=1\r\nX-Other: 2\r\ncookie: bridge.sid=s%3Ax.y\r\n', 'X-Cookie: no\r\n'];
      for (const h of heads) {
        await new Promise<void>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${h}Connection: close\r\n\r\n`));
          socket.on('data', () => undefined).on('end', resolve).on('error', reject);
        });
      }
    } finally {
      server.close();
    }
    assert.deepEqual(seen, [
      { raw: 'a=1', node: 'a=1' },
      { raw: 'a=1; bridge.sid=s%3Ax.y', node: 'a=1; bridge.sid=s%3Ax.y' },
      { raw: undefined, node: undefined },
    ]);
  });
});

describe('cookieValue', () => {
  /** what the session cookie reader did before (split on ';', trim, first part starting with name=) */
  const bySplitting = (header: string, name: string): string | undefined => {
    for (const part of header.split(';')) {
      const p = part.trim();
      if (p.startsWith(`${name}=`)) return p.slice(name.length + 1);
    }
    return undefined;
  };

  it('finds what splitting the header on ; finds, for any header', () => {
    const piece = fc.constantFrom('bridge.sid', 'bridge.sid=', 'xbridge.sid=', '=', ';', ' ', '\t', '\u00a0', 's%3Aab.c', 'a=1', 'bridge', '.sid=', 'x');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((xs) => xs.join('')), (header) => {
        assert.equal(cookieValue(header, 'bridge.sid'), bySplitting(header, 'bridge.sid'));
      }),
      { numRuns: 5000 },
    );
  });

  it('examples', () => {
    assert.equal(cookieValue('a=1;  bridge.sid=v ; b=2', 'bridge.sid'), 'v');
    assert.equal(cookieValue('a=b bridge.sid=v', 'bridge.sid'), undefined, 'inside another value, after a space');
    assert.equal(cookieValue('xbridge.sid=v; bridge.sid=w', 'bridge.sid'), 'w');
    assert.equal(cookieValue('bridge.sid=', 'bridge.sid'), '');
  });
});

// The session cookie is byte for byte what express-session set before the middleware was
// retired (same name, value encoding, signature, attributes and their order), so cookies in
// browsers keep working and a rollback reads new ones; compared with express-session itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { SessionCookie } from '../../src/web/cookies.ts';

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
});

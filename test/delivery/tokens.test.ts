import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { deriveKey, SecretBox } from '../../src/directory/secret-box.ts';
import { KeyManager, type SigningAlg } from '../../src/delivery/keys.ts';
import { sidFor, TokenIssuer } from '../../src/delivery/tokens.ts';
import type { IdentityClaims } from '../../src/identity/identity.ts';
import { MemoryStore } from '../../src/store/memory.ts';

const T0 = Date.parse('2025-03-01T00:00:00Z');
const ISS = 'https://gw.example.com/bridge';
const AUD = 'https://app.example.com';
const SESSION = 'kX3v9Yq2Lw8Rt5Zb1Nc7Md4Pf6Gh0Js';
const CONTRACT_CLAIMS = ['iss', 'aud', 'sub', 'iat', 'exp', 'sid', 'tenant', 'tenant_code', 'tenant_name', 'user_name', 'name', 'email', 'mobile', 'role', 'org_code', 'idp'];

const full: IdentityClaims = {
  sub: 'acct-7f3a',
  tenant: 't-1001',
  tenant_code: 'acme',
  tenant_name: 'Acme 有限公司',
  user_name: 'zhang.san',
  name: '张三',
  email: 'zhang.san@acme.example',
  mobile: '+86 138 0000 0000',
  role: 'admin',
  org_code: 'org-42',
  idp: 'oneaccess-oauth',
};

async function setup(opts: { alg?: SigningAlg; ttlSec?: number; maxCached?: number } = {}) {
  let t = T0;
  const clock = { now: () => t, set: (ms: number) => (t = ms), advance: (ms: number) => (t += ms) };
  const keys = await KeyManager.open(new MemoryStore(), new SecretBox(deriveKey('a session secret of at least thirty-two characters', 'at-rest')), {
    alg: opts.alg ?? 'ES256',
    tokenTtlSec: opts.ttlSec ?? 300,
    rotateAfterDays: 30,
    publishLeadMs: 10 * 60_000,
    now: clock.now,
  });
  const issuer = new TokenIssuer(keys, { issuer: ISS, audience: AUD, ttlSec: opts.ttlSec ?? 300, now: clock.now, ...(opts.maxCached ? { maxCached: opts.maxCached } : {}) });
  return { keys, issuer, clock };
}

describe('TokenIssuer', () => {
  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    it(`${alg}: a JWT with exactly the contract's claims, verifiable with the JWKS`, async () => {
      const { keys, issuer, clock } = await setup({ alg });
      try {
        const token = await issuer.tokenFor(SESSION, full);
        const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), { issuer: ISS, audience: AUD, typ: 'JWT', algorithms: [alg], currentDate: new Date(clock.now()) });
        assert.deepEqual(protectedHeader, { typ: 'JWT', alg, kid: keys.signingKey().kid });
        assert.deepEqual(Object.keys(payload).sort(), [...CONTRACT_CLAIMS].sort());
        const { iss, aud, iat, exp, sid, ...identity } = payload;
        assert.equal(iss, ISS);
        assert.equal(aud, AUD);
        assert.equal(iat, T0 / 1000);
        assert.equal(exp, T0 / 1000 + 300);
        assert.deepEqual(identity, full);
        assert.equal(typeof sid, 'string');
        assert.notEqual(sid, SESSION);
        assert.ok(!String(sid).includes(SESSION));
        assert.match(String(sid), /^[A-Za-z0-9_-]{22,}$/);
      } finally {
        await keys.close();
      }
    });
  }

  it('omits absent and empty values, and anything that is not a contract claim', async () => {
    const { keys, issuer } = await setup();
    try {
      const sparse = { sub: 'acct-1', tenant: 't-1', user_name: 'li.si', role: 'user', idp: 'oneaccess-cas', email: '', name: undefined, password: 'x' } as unknown as IdentityClaims;
      const payload = decodeJwt(await issuer.tokenFor(SESSION, sparse));
      assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'idp', 'iss', 'role', 'sid', 'sub', 'tenant', 'user_name']);
      for (const [k, v] of Object.entries(payload)) assert.notEqual(v, '', `${k} is not empty`);
    } finally {
      await keys.close();
    }
  });

  it('sid is stable per session and differs between sessions', async () => {
    const { keys, issuer } = await setup();
    try {
      const a = decodeJwt(await issuer.tokenFor('session-a', full)).sid;
      // another instance (no shared cache) gives the session the same sid
      const other = new TokenIssuer(keys, { issuer: ISS, audience: AUD, ttlSec: 300 });
      assert.equal(decodeJwt(await other.tokenFor('session-a', full)).sid, a);
      assert.equal(a, sidFor('session-a'));
      assert.notEqual(decodeJwt(await issuer.tokenFor('session-b', full)).sid, a);
    } finally {
      await keys.close();
    }
  });

  it('lifetime is at most 5 minutes', async () => {
    const { keys } = await setup();
    try {
      assert.throws(() => new TokenIssuer(keys, { issuer: ISS, audience: AUD, ttlSec: 301 }), /ttlSec/);
      const short = new TokenIssuer(keys, { issuer: ISS, audience: AUD, ttlSec: 60, now: () => T0 });
      const { iat, exp } = decodeJwt(await short.tokenFor(SESSION, full));
      assert.equal((exp ?? 0) - (iat ?? 0), 60);
    } finally {
      await keys.close();
    }
  });

  it('reuses the token while a fifth of its lifetime remains, then signs a new one', async () => {
    const { keys, issuer, clock } = await setup({ ttlSec: 300 });
    try {
      const first = await issuer.tokenFor(SESSION, full);
      clock.advance(239_999);
      assert.equal(await issuer.tokenFor(SESSION, full), first, 'reused with 60 s left');
      clock.advance(1);
      const second = await issuer.tokenFor(SESSION, full);
      assert.notEqual(second, first);
      assert.equal(decodeJwt(second).iat, (T0 + 240_000) / 1000);
    } finally {
      await keys.close();
    }
  });

  it('signs afresh when the identity changed, and when the signing key changed', async () => {
    const { keys, issuer, clock } = await setup();
    try {
      const first = await issuer.tokenFor(SESSION, full);
      clock.advance(1000);
      assert.equal(await issuer.tokenFor(SESSION, full), first);

      clock.advance(1000);
      const demoted = await issuer.tokenFor(SESSION, { ...full, role: 'user' });
      assert.equal(decodeJwt(demoted).role, 'user');

      const oldKid = keys.signingKey().kid;
      const newKid = await keys.rotate();
      assert.equal(await issuer.tokenFor(SESSION, { ...full, role: 'user' }), demoted, 'the old key still signs during the lead');
      clock.advance(10 * 60_000);
      const rotated = await issuer.tokenFor(SESSION, { ...full, role: 'user' });
      assert.equal(decodeProtectedHeader(rotated).kid, newKid);
      assert.notEqual(newKid, oldKid);
    } finally {
      await keys.close();
    }
  });

  it('keeps at most maxCached tokens, dropping the least recently used', async () => {
    const { keys, issuer, clock } = await setup({ maxCached: 2 });
    try {
      const a = await issuer.tokenFor('a', full);
      const b = await issuer.tokenFor('b', full);
      clock.advance(1000);
      await issuer.tokenFor('c', full);
      assert.equal(await issuer.tokenFor('b', full), b, 'b was used more recently than a');
      assert.notEqual(await issuer.tokenFor('a', full), a, 'a was dropped');
    } finally {
      await keys.close();
    }
  });
});

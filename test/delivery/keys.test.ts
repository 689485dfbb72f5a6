import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import request from 'supertest';
import { loadSecrets } from '../../src/bootstrap.ts';
import { deriveKey, SecretBox } from '../../src/directory/secret-box.ts';
import { jwksRouter } from '../../src/delivery/jwks-route.ts';
import { rotateKeysCommand } from '../../src/keys-cli.ts';
import { KEYS_COLLECTION, KeyManager, type KeyManagerOptions } from '../../src/delivery/keys.ts';
import { TokenIssuer } from '../../src/delivery/tokens.ts';
import type { IdentityClaims } from '../../src/identity/identity.ts';
import { openStore } from '../../src/store/index.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import type { Store } from '../../src/store/store.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../store/conformance.ts';

const T0 = Date.parse('2025-03-01T00:00:00Z');
const LEAD = 10 * 60_000;
const TTL = 300;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];
const atRest = () => new SecretBox(deriveKey('a session secret of at least thirty-two characters', 'at-rest'));
const identity: IdentityClaims = { sub: 'acct-1', tenant: 't-1', user_name: 'zhang.san', role: 'user', idp: 'oneaccess-oauth' };

function clock(start = T0) {
  let t = start;
  return { now: () => t, set: (ms: number) => (t = ms), advance: (ms: number) => (t += ms) };
}

function options(now: () => number, over: Partial<KeyManagerOptions> = {}): KeyManagerOptions {
  return { alg: 'ES256', tokenTtlSec: TTL, rotateAfterDays: 30, publishLeadMs: LEAD, now, ...over };
}

const kids = (jwks: { keys: JWK[] }) => jwks.keys.map((k) => k.kid).sort();

describe('KeyManager', () => {
  it('generates a usable key on first start: kid = RFC 7638 thumbprint, public parts in the JWKS', async () => {
    const store = new MemoryStore();
    const keys = await KeyManager.open(store, atRest(), options(clock().now));
    try {
      const jwks = keys.jwks();
      assert.equal(jwks.keys.length, 1);
      const [pub] = jwks.keys;
      assert.ok(pub);
      assert.equal(pub.kid, await calculateJwkThumbprint(pub));
      assert.equal(pub.alg, 'ES256');
      assert.equal(pub.use, 'sig');
      for (const m of PRIVATE_MEMBERS) assert.equal(pub[m as keyof JWK], undefined, `no ${m} in the JWKS`);
      assert.equal(keys.signingKey().kid, pub.kid, 'signs at once');
      const [priv] = keys.privateJwks().keys;
      assert.equal(priv?.kid, pub.kid);
      assert.equal(typeof priv?.d, 'string');
    } finally {
      await keys.close();
    }
  });

  it('persists keys sealed at rest; a second manager loads the same ones; a wrong at-rest key fails clearly', async () => {
    const store = new MemoryStore();
    const c = clock();
    const first = await KeyManager.open(store, atRest(), options(c.now));
    const second = await KeyManager.open(store, atRest(), options(c.now));
    try {
      assert.deepEqual(second.jwks(), first.jwks());
      assert.deepEqual(second.privateJwks(), first.privateJwks());
      const kid = first.signingKey().kid;
      const doc = await store.getDoc(KEYS_COLLECTION, kid);
      assert.ok(doc?.value);
      const stored = JSON.parse(doc.value) as { publicJwk: JWK; privateSealed: string };
      const d = first.privateJwks().keys[0]?.d;
      assert.ok(d);
      assert.ok(!doc.value.includes(d), 'the private key is not stored in clear');
      assert.equal(stored.publicJwk.d, undefined);
      assert.match(stored.privateSealed, /^v1\./);
      await assert.rejects(
        KeyManager.open(store, new SecretBox(deriveKey('another secret, also thirty-two characters long', 'at-rest')), options(c.now)),
        new RegExp(`signing key ${kid} in the store does not open with this at-rest key`),
      );
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('sealed private parts are bound to their kid', async () => {
    const store = new MemoryStore();
    const c = clock();
    const keys = await KeyManager.open(store, atRest(), options(c.now));
    const other = await keys.rotate();
    await keys.close();
    const kid = keys.signingKey().kid;
    const a = await store.getDoc(KEYS_COLLECTION, kid);
    const b = await store.getDoc(KEYS_COLLECTION, other);
    assert.ok(a?.value && b?.value);
    const swapped = { ...(JSON.parse(a.value) as object), privateSealed: (JSON.parse(b.value) as { privateSealed: string }).privateSealed };
    await store.write([{ col: KEYS_COLLECTION, id: kid, version: a.version, value: JSON.stringify(swapped), when: 'always' }]);
    await assert.rejects(KeyManager.open(store, atRest(), options(c.now)), /does not open with this at-rest key/);
  });

  it('rotates without a rejected token: published first, signs after the lead, dropped after its tokens expired', async () => {
    const store = new MemoryStore();
    const c = clock();
    const keys = await KeyManager.open(store, atRest(), options(c.now));
    const issuer = new TokenIssuer(keys, { issuer: 'https://gw.example.com', audience: 'https://app.example.com', ttlSec: TTL, now: c.now });
    const verify = (token: string, jwks: { keys: JWK[] }, at = c.now()) =>
      jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'https://gw.example.com', audience: 'https://app.example.com', currentDate: new Date(at) });
    try {
      const oldKid = keys.signingKey().kid;
      c.advance(60_000);
      // a relying party that fetched the JWKS before the rotation
      const cachedByRp = structuredClone(keys.jwks());
      const newKid = await keys.rotate();
      assert.notEqual(newKid, oldKid);
      assert.deepEqual(kids(keys.jwks()), [newKid, oldKid].sort(), 'the new key is published at once');
      const switchAt = c.now() + LEAD;

      c.set(switchAt - 1000);
      assert.equal(keys.signingKey().kid, oldKid, 'the old key signs until the lead has passed');
      const lastOld = await issuer.tokenFor('session-1', identity);
      assert.equal(decodeProtectedHeader(lastOld).kid, oldKid);
      await verify(lastOld, cachedByRp);

      c.set(switchAt);
      assert.equal(keys.signingKey().kid, newKid);
      const firstNew = await issuer.tokenFor('session-1', identity);
      assert.equal(decodeProtectedHeader(firstNew).kid, newKid, 're-signed with the new key, though the cached token had time left');
      await verify(firstNew, keys.jwks());

      // the last token of the old key verifies until it expires, against the JWKS of that moment
      const lastOldExp = switchAt - 1000 + TTL * 1000;
      c.set(lastOldExp - 1000);
      assert.ok(kids(keys.jwks()).includes(oldKid), 'the old key is published while its tokens live');
      await verify(lastOld, keys.jwks());
      c.set(lastOldExp);
      assert.ok(kids(keys.jwks()).includes(oldKid), 'and a margin after');

      const states = keys.states();
      const old = states.find((s) => s.kid === oldKid);
      assert.equal(old?.signsUntil, switchAt);
      assert.ok(old?.publishedUntil && old.publishedUntil > switchAt + TTL * 1000);
      c.set(old.publishedUntil);
      assert.deepEqual(kids(keys.jwks()), [newKid], 'dropped once every token it signed has expired');
      assert.deepEqual(kids(keys.privateJwks()), [newKid]);

      // maintenance (here: at the next start) tombstones it
      const later = await KeyManager.open(store, atRest(), options(c.now));
      await later.close();
      assert.equal((await store.getDoc(KEYS_COLLECTION, oldKid))?.value, null);
      assert.ok((await store.getDoc(KEYS_COLLECTION, newKid))?.value);
    } finally {
      await keys.close();
    }
  });

  it('rotates by itself once the newest key is older than rotateAfterDays', async () => {
    const store = new MemoryStore();
    const c = clock();
    const first = await KeyManager.open(store, atRest(), options(c.now, { rotateAfterDays: 30 }));
    await first.close();
    c.advance(29 * 86_400_000);
    const notYet = await KeyManager.open(store, atRest(), options(c.now, { rotateAfterDays: 30 }));
    await notYet.close();
    assert.equal(notYet.states().length, 1);
    c.advance(86_400_000);
    const due = await KeyManager.open(store, atRest(), options(c.now, { rotateAfterDays: 30 }));
    try {
      const states = due.states();
      assert.equal(states.length, 2);
      assert.equal(states[0]?.signing, true, 'the old key still signs');
      assert.equal(states[1]?.signsFrom, c.now() + LEAD);
    } finally {
      await due.close();
    }
  });

  it('a changed alg setting rotates to a key of that alg, once', async () => {
    const store = new MemoryStore();
    const c = clock();
    await (await KeyManager.open(store, atRest(), options(c.now, { alg: 'ES256' }))).close();
    const ed = await KeyManager.open(store, atRest(), options(c.now, { alg: 'EdDSA' }));
    try {
      assert.deepEqual(
        ed.jwks().keys.map((k) => k.alg),
        ['ES256', 'EdDSA'],
      );
      assert.equal(ed.signingKey().alg, 'ES256', 'the old key signs during the lead');
      c.advance(LEAD);
      assert.equal(ed.signingKey().alg, 'EdDSA');
      const again = await KeyManager.open(store, atRest(), options(c.now, { alg: 'EdDSA' }));
      await again.close();
      assert.equal(again.states().length, 2, 'no further rotation');
    } finally {
      await ed.close();
    }
  });

  it('with RS256 alongside: a signer per algorithm, rotated together, each retiring on its own timeline', async () => {
    const store = new MemoryStore();
    const c = clock();
    const keys = await KeyManager.open(store, atRest(), options(c.now, { alsoSign: ['RS256'] }));
    try {
      assert.deepEqual(keys.jwks().keys.map((k) => k.alg), ['ES256', 'RS256']);
      assert.equal(keys.signingKey().alg, 'ES256', 'identity tokens keep the configured alg');
      assert.deepEqual(keys.states().map((s) => s.signing), [true, true]);
      const [es, rs] = keys.jwks().keys.map((k) => k.kid);
      await keys.rotate();
      assert.equal(keys.jwks().keys.length, 4);
      assert.deepEqual(keys.privateJwks().keys.slice(0, 2).map((k) => k.kid), [es, rs], 'the current signers first, for the provider');
      c.advance(LEAD);
      const [es2, rs2] = keys.privateJwks().keys.slice(0, 2).map((k) => k.kid);
      assert.ok(es2 !== es && rs2 !== rs, 'both new keys sign after the lead');
      assert.deepEqual(keys.privateJwks().keys.slice(0, 2).map((k) => k.alg), ['ES256', 'RS256']);
      c.advance(TTL * 1000 + 3 * 60_000);
      assert.deepEqual(kids(keys.jwks()), [es2!, rs2!].sort(), 'the old pair is gone once its tokens expired');
    } finally {
      await keys.close();
    }
  });

  it('adding RS256 to a store with an ES256 key: an RS256 signer at once, the ES256 key untouched', async () => {
    const store = new MemoryStore();
    const c = clock();
    const before = await KeyManager.open(store, atRest(), options(c.now));
    await before.close();
    const after = await KeyManager.open(store, atRest(), options(c.now, { alsoSign: ['RS256'] }));
    try {
      assert.deepEqual(after.states().map((s) => `${s.alg} ${s.signing}`).sort(), ['ES256 true', 'RS256 true']);
      assert.equal(after.signingKey().kid, before.signingKey().kid);
    } finally {
      await after.close();
    }
  });

  it('two instances starting at once on an empty store agree on the signer and publish every key', async () => {
    const store = new MemoryStore();
    const c = clock();
    const [a, b] = await Promise.all([KeyManager.open(store, atRest(), options(c.now)), KeyManager.open(store, atRest(), options(c.now))]);
    try {
      const stored = (await store.listDocs(KEYS_COLLECTION)).map((d) => d.id).sort();
      await waitFor('both to see every key', () => kids(a.jwks()).join() === stored.join() && kids(b.jwks()).join() === stored.join());
      assert.equal(a.signingKey().kid, b.signingKey().kid);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('serves GET /.well-known/jwks.json, cacheable for 5 minutes', async () => {
    const keys = await KeyManager.open(new MemoryStore(), atRest(), options(clock().now));
    try {
      const app = express().use(jwksRouter(keys));
      const res = await request(app).get('/.well-known/jwks.json').expect(200);
      assert.equal(res.headers['cache-control'], 'public, max-age=300');
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(res.body, keys.jwks());
    } finally {
      await keys.close();
    }
  });

  it('rotateKeysCommand rotates the key set of a store and says when the new key signs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-keys-'));
    try {
      const lines: string[] = [];
      const base = { storeSpec: `embedded:${dir}`, sessionSecret: '', alg: 'ES256' as const, tokenTtlSec: TTL, rotateAfterDays: 30 };
      const kid = await rotateKeysCommand({ ...base, print: (l) => lines.push(l) });
      assert.match(lines[0] ?? '', new RegExp(`^new signing key ${kid} \\(ES256\\): in the JWKS now, signs from \\d{4}-`));
      assert.match(lines[1] ?? '', /signs until then and stays in the JWKS until \d{4}-/);
      const store = await openStore(`embedded:${dir}`);
      try {
        const secrets = await loadSecrets(store, '');
        const keys = await KeyManager.open(store, new SecretBox(deriveKey(secrets.sessionSecret, 'at-rest')), options(Date.now, { alsoSign: ['RS256'] }));
        await keys.close();
        assert.deepEqual(keys.states().map((s) => s.alg).sort(), ['ES256', 'ES256', 'RS256', 'RS256'], 'a new key for each algorithm of the set');
        assert.match(lines[2] ?? '', /^new signing key \S+ \(RS256\)/);
        assert.ok(kids(keys.jwks()).includes(kid));
        assert.notEqual(keys.signingKey().kid, kid, 'signs only after the lead');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('KeyManager on a shared Redis', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  it("instances see each other's rotation within a second", async () => {
    assert.ok(redis);
    const prefix = `keys:${randomUUID()}:`;
    const stores: Store[] = [await openRedisStore(redis.url, { keyPrefix: prefix }), await openRedisStore(redis.url, { keyPrefix: prefix })];
    const c = clock();
    const [a, b] = await Promise.all(stores.map((s) => KeyManager.open(s, atRest(), options(c.now))));
    assert.ok(a && b);
    try {
      await waitFor('the same key set', () => kids(a.jwks()).join() === kids(b.jwks()).join(), 1000);
      const kid = await b.rotate();
      await waitFor('the rotation to reach the other instance', () => kids(a.jwks()).includes(kid), 1000);
      c.advance(LEAD);
      assert.equal(a.signingKey().kid, kid);
      assert.equal(b.signingKey().kid, kid);
    } finally {
      await a.close();
      await b.close();
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

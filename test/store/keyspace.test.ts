// The keyspace registry (src/store/keyspace.ts): its key strings are the ones stored before it
// existed, values are validated on the way out, and no file outside it spells a key prefix.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import ts from 'typescript';
import { families, keysOf, keyspace, KeyspaceValueError } from '../../src/store/keyspace.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { openRedisStore } from '../../src/store/redis.ts';
import type { Store } from '../../src/store/store.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { tempEmbeddedStore } from '../helpers/stores.ts';
import { waitFor } from './conformance.ts';

const root = join(import.meta.dirname, '..', '..');

describe('keyspace: key strings stay what is already stored', () => {
  // written out by hand on purpose: a change here strands every key a running gateway holds
  const cases: Array<[string, string]> = [
    [keyspace.syncNonce.key('n-1').key, 'nonce:n-1'],
    [keyspace.loginByState.key('st').key, 'tx:st'],
    [keyspace.loginByCookie.key('bind').key, 'txc:bind'],
    [keyspace.accountSwitch.key('h').key, 'switch:h'],
    [keyspace.casTicket.key('t-1', 'ST-1').key, 'cas:ticket:t-1:ST-1'],
    [keyspace.refreshLock.key('sid').key, 'lock:refresh:sid'],
    [keyspace.session.key('sid').key, 'sess:sid'],
    [keyspace.sessionSeen.key('sid').key, 'seen:sid'],
    [keyspace.consoleSession.key('hash').key, 'admin-session:hash'],
    [keyspace.keyRotationLock.key().key, 'signing-keys:rotating'],
    [keyspace.oidcModel.key('AccessToken', 'x').key, 'oidc:AccessToken:x'],
    [keyspace.oidcConsumed.key('AuthorizationCode', 'c').key, 'oidc:AuthorizationCode:c:consumed'],
    [keyspace.oidcByUid.key('Session', 'u').key, 'oidc:Session:uid:u'],
    [keyspace.oidcByUserCode.key('DeviceCode', 'UC').key, 'oidc:DeviceCode:userCode:UC'],
    [keyspace.oidcReauthenticate.key('u').key, 'oidc:reauthenticate:u'],
    [keyspace.oidcGrantSession.key('g').key, 'oidc:grant-session:g'],
    [keyspace.logoutEntry.key('s.c.x').key, 'oidc:bcl:entry:s.c.x'],
    [keyspace.logoutSending.key('s.c.x').key, 'oidc:bcl:sending:s.c.x'],
    [keyspace.userSessions.key('prod', 't-1', 'alice').key, 'idx:user:prod:t-1:alice'],
    [keyspace.tenantSessions.key('sandbox', 't-1').key, 'idx:tenant:sandbox:t-1'],
    [keyspace.oidcGrant.key('g').key, 'oidc:grant:g'],
    [keyspace.logoutRelyingParties.key('sid').key, 'oidc:bcl:rps:sid'],
    [keyspace.logoutTracked.key().key, 'oidc:bcl:tracked'],
    [keyspace.logoutOutbox.key().key, 'oidc:bcl:outbox'],
    [keyspace.sessionEnded.name, 'session-ended'],
    [keyspace.sessionChanged.name, 'session-changed'],
    [keyspace.keysChanged.name, 'keys-changed'],
    [keyspace.rateLimit.key('login'), 'rl:login'],
    [keyspace.bootSecrets.col, 'system'],
    [keyspace.signingKeys.col, 'system:signing-keys'],
  ];
  for (const [got, want] of cases) it(want, () => assert.equal(got, want));

  it('every family is covered above', () => {
    assert.equal(cases.length, families.length);
  });

  it('set members keep their stored text', () => {
    assert.equal(keyspace.logoutRelyingParties.codec.encode({ clientId: 'rp', sub: 's', sid: 'x' }), 'rp s x');
    assert.equal(keyspace.logoutRelyingParties.codec.encode({ clientId: 'rp', sub: 's' }), 'rp s ');
    assert.deepEqual(keyspace.logoutRelyingParties.codec.decode('rp s '), { clientId: 'rp', sub: 's' });
    assert.equal(keyspace.oidcGrant.codec.encode({ model: 'RefreshToken', id: 'a:b' }), 'RefreshToken:a:b');
    assert.deepEqual(keyspace.oidcGrant.codec.decode('RefreshToken:a:b'), { model: 'RefreshToken', id: 'a:b' });
  });
});

function typedViewSuite(name: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`keyspace on ${name}`, () => {
    it('writes the same text as before and reads it back typed', async () => {
      const { store, cleanup } = await open();
      try {
        const ks = keysOf(store);
        const tx = { protocol: 'oauth' as const, tenantId: 't-1', returnTo: '/x', codeVerifier: 'v', binding: 'b', startedAt: 1 };
        await ks.put(keyspace.loginByState.key('s1'), tx, 60_000);
        assert.equal(await store.getTemp('tx:s1'), JSON.stringify(tx));
        assert.deepEqual(await ks.take(keyspace.loginByState.key('s1')), tx);
        assert.equal(await ks.take(keyspace.loginByState.key('s1')), null, 'taken once');

        await ks.put(keyspace.sessionSeen.key('sid'), 1234, 60_000);
        assert.equal(await store.getTemp('seen:sid'), '1234');
        assert.equal(await ks.get(keyspace.sessionSeen.key('sid')), 1234);

        // a value written before the registry (same text) reads back
        await store.putTemp('oidc:bcl:entry:e', '{"clientId":"rp","sub":"s","createdAt":1,"attempts":0,"nextAt":0,"extra":true}', 60_000);
        assert.deepEqual(await ks.get(keyspace.logoutEntry.key('e')), { clientId: 'rp', sub: 's', createdAt: 1, attempts: 0, nextAt: 0, extra: true });

        await ks.add(keyspace.logoutRelyingParties.key('sid'), { clientId: 'rp', sub: 's' }, 60_000);
        assert.deepEqual(await store.members('oidc:bcl:rps:sid'), ['rp s ']);
        assert.deepEqual(await ks.members(keyspace.logoutRelyingParties.key('sid')), [{ clientId: 'rp', sub: 's' }]);
        await ks.remove(keyspace.logoutRelyingParties.key('sid'), { clientId: 'rp', sub: 's' });
        assert.deepEqual(await store.members('oidc:bcl:rps:sid'), []);
      } finally {
        await cleanup();
      }
    });

    it('documents: the same text as before, decoded on the way out, tombstones as null', async () => {
      const { store, cleanup } = await open();
      try {
        const ks = keysOf(store);
        assert.deepEqual(await store.write([keyspace.bootSecrets.write('account-id-key', '0', { secret: 's1' }, 'absent')]), [true]);
        assert.deepEqual(await store.getDoc('system', 'account-id-key'), { id: 'account-id-key', version: '0', value: '{"secret":"s1"}' });
        assert.deepEqual(await ks.getDoc(keyspace.bootSecrets, 'account-id-key'), { id: 'account-id-key', version: '0', value: { secret: 's1' } });
        assert.equal(await ks.getDoc(keyspace.bootSecrets, 'missing'), null);
        await store.write([keyspace.bootSecrets.write('account-id-key', '1', null)]);
        assert.deepEqual(await ks.listDocs(keyspace.bootSecrets), [{ id: 'account-id-key', version: '1', value: null }]);
        await store.write([{ col: 'system:signing-keys', id: 'k', version: '1', value: '{"kid":"k","alg":"HS256"}' }]);
        await assert.rejects(ks.listDocs(keyspace.signingKeys), KeyspaceValueError);
      } finally {
        await cleanup();
      }
    });

    it('a stored value that does not match its schema throws instead of passing a wrong shape on', async () => {
      const { store, cleanup } = await open();
      try {
        const ks = keysOf(store);
        await store.putTemp('tx:bad', '{"protocol":"saml","returnTo":"/"}', 60_000);
        await assert.rejects(ks.take(keyspace.loginByState.key('bad')), (e: unknown) => e instanceof KeyspaceValueError && e.key === 'tx:bad');
        await store.putTemp('seen:bad', 'yesterday', 60_000);
        await assert.rejects(ks.get(keyspace.sessionSeen.key('bad')), KeyspaceValueError);
        await store.putTemp('sess:bad', 'not json', 60_000);
        await assert.rejects(ks.get(keyspace.session.key('bad')), KeyspaceValueError);
      } finally {
        await cleanup();
      }
    });

    it('channels carry typed messages; a malformed one goes to onInvalid, not to the handler', async () => {
      const { store, cleanup } = await open();
      try {
        const ks = keysOf(store);
        const got: string[][] = [];
        const bad: string[] = [];
        const off = await ks.subscribe(keyspace.sessionEnded, (sids) => got.push(sids), (raw) => bad.push(raw));
        await store.publish('session-ended', 'garbage');
        await ks.publish(keyspace.sessionEnded, ['a', 'b']);
        await waitFor('the message', () => got.length === 1 && bad.length === 1);
        assert.deepEqual(got, [['a', 'b']]);
        assert.deepEqual(bad, ['garbage']);
        await off();
      } finally {
        await cleanup();
      }
    });
  });
}

typedViewSuite('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});
typedViewSuite('embedded', async () => tempEmbeddedStore('keyspace'));

describe('keyspace on redis', requireBinary('redis-server', 'apt-get install -y redis-server'), () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  it('the keys on the server are byte for byte the ones before the registry', async () => {
    assert.ok(redis);
    const prefix = `ks:${randomUUID()}:`;
    const store = await openRedisStore(redis.url, { keyPrefix: prefix });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const ks = keysOf(store);
      await ks.put(keyspace.session.key('sid-1'), { createdAt: 5 }, 60_000);
      await ks.add(keyspace.userSessions.key('prod', 't-1', 'alice'), 'sid-1', 60_000);
      assert.equal(await raw.get(`${prefix}temp:sess:sid-1`), '{"createdAt":5}');
      // a store-port set is a Redis hash of its members (src/store/redis.ts)
      assert.deepEqual(await raw.hKeys(`${prefix}set:idx:user:prod:t-1:alice`), ['sid-1']);
    } finally {
      await raw.quit();
      await store.close();
    }
  });
});

// ---- nothing outside the registry spells a key prefix ---------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** string literals and the literal start of template strings */
function literals(file: string): Array<{ text: string; line: number }> {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Array<{ text: string; line: number }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node)) {
      out.push({ text: node.text, line: src.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}

describe('keyspace: no key prefix outside the registry', () => {
  const prefixes = [...new Set(families.map((f) => f.prefix))];

  it('the scan finds a prefix where one is spelt (positive control)', () => {
    const found = literals(join(root, 'src', 'store', 'keyspace.ts')).filter((l) => prefixes.some((p) => l.text.startsWith(p)));
    assert.ok(found.length >= prefixes.length, `found only ${found.length} prefixed literals in the registry itself`);
  });

  it('src/ (the sandbox, which has its own world, aside)', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(join(root, 'src'))) {
      const rel = relative(root, file);
      if (rel === join('src', 'store', 'keyspace.ts') || rel.startsWith(join('src', 'sandbox') + '/')) continue;
      for (const l of literals(file)) {
        const p = prefixes.find((x) => l.text.startsWith(x));
        if (p) offenders.push(`${rel}:${l.line} spells "${l.text}" (family "${p}")`);
      }
    }
    assert.deepEqual(offenders, [], 'use the family in src/store/keyspace.ts instead');
  });
});

// The session API (src/session/) on a store: part of the store conformance suite, so every
// adapter — memory, embedded, Redis on one server, Sentinel and Cluster — runs it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/store/store.ts';
import { keyspace, keysOf } from '../../src/store/keyspace.ts';
import { Sessions } from '../../src/session/sessions.ts';
import type { SessionIdentity } from '../../src/identity/identity.ts';
import type { UpstreamSession } from '../../src/session/record.ts';

const identity = (user: string, tenant = 't-1', role: 'admin' | 'user' = 'user'): SessionIdentity => ({
  ns: 'prod',
  claims: { sub: `sub-${user}`, tenant, user_name: user, role, idp: 'oneaccess-oauth' },
});
const upstream = (tenant = 't-1'): UpstreamSession => ({ protocol: 'oauth', tenantId: tenant, tokens: { accessToken: 'at', refreshToken: 'rt', expiresAt: Date.now() + 3_600_000 } });

/** what a sessions' caller sees announced on the ended and changed channels */
async function listen(store: Store) {
  const ended: string[] = [];
  const changed: string[] = [];
  const keys = keysOf(store);
  const stops = [await keys.subscribe(keyspace.sessionEnded, (ids) => ended.push(...ids)), await keys.subscribe(keyspace.sessionChanged, (ids) => changed.push(...ids))];
  // one after the other: the last unsubscribe may close a subscriber connection the other still needs (Cluster)
  return {
    ended,
    changed,
    stop: async () => {
      for (const s of stops) await s();
    },
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

export function sessionConformance(store: () => Store): void {
  describe('sessions (src/session/ over this store)', () => {
    const open = (over: Partial<ConstructorParameters<typeof Sessions>[1]> = {}) =>
      new Sessions(store(), { idleTimeoutSec: 60, absoluteTimeoutSec: 3600, secure: false, cookieSecret: 'conformance-secret', ...over });

    it('establish stores a record that load reads back; its cookie names it', async () => {
      const sessions = open();
      const e = await sessions.establish(identity('lisi'), upstream());
      assert.match(e.sid, /^[A-Za-z0-9_-]{32}$/);
      const loaded = await sessions.load(e.sid);
      assert.deepEqual(loaded?.identity, identity('lisi'));
      assert.equal(loaded?.upstream?.tokens?.refreshToken, 'rt');
      assert.equal(loaded?.createdAt, e.record.createdAt);
      assert.match(e.setCookie, /^bridge\.sid=s%3A[^;]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
      assert.equal(sessions.cookie.sessionId(e.setCookie.split(';')[0]), e.sid);
      assert.deepEqual(await sessions.sessionIds('prod', 't-1', 'lisi'), [e.sid]);
      assert.deepEqual(await sessions.sessionIds('prod', 't-1'), [e.sid]);
      assert.equal(await sessions.load('no-such-session'), null);
    });

    it('establish replacing a session ends the old one and announces it', async () => {
      const sessions = open();
      const heard = await listen(store());
      try {
        const first = await sessions.establish(identity('lisi'), upstream());
        const second = await sessions.establish(identity('lisi'), upstream(), first.sid);
        assert.notEqual(second.sid, first.sid);
        assert.equal(await sessions.load(first.sid), null);
        assert.ok(await sessions.load(second.sid));
        await until('the replaced session to be announced', () => heard.ended.includes(first.sid));
      } finally {
        await heard.stop();
      }
    });

    it('past its absolute timeout a record is no session', async () => {
      const sessions = open({ absoluteTimeoutSec: 1 });
      const e = await sessions.establish(identity('lisi'), upstream());
      assert.ok(await sessions.load(e.sid));
      e.record.createdAt = Date.now() - 1001;
      await sessions.write(e.sid, e.record);
      assert.equal(await sessions.load(e.sid), null);
    });

    it('end removes the record and the user index entry, announces it, and answers what it held', async () => {
      const sessions = open();
      const heard = await listen(store());
      try {
        const e = await sessions.establish(identity('lisi'), upstream());
        const held = await sessions.end(e.sid);
        assert.deepEqual(held?.identity, identity('lisi'));
        assert.equal(await sessions.load(e.sid), null);
        assert.deepEqual(await sessions.sessionIds('prod', 't-1', 'lisi'), []);
        await until('the end to be announced', () => heard.ended.includes(e.sid));
        assert.equal(await sessions.end(e.sid), null, 'ending it again holds nothing');
      } finally {
        await heard.stop();
      }
    });

    it('endFor ends every session of a revoked user, and of a removed tenant', async () => {
      const sessions = open();
      const a = await sessions.establish(identity('lisi'), upstream());
      const b = await sessions.establish(identity('lisi'), upstream());
      const other = await sessions.establish(identity('wang'), upstream());
      const elsewhere = await sessions.establish(identity('zhao', 't-2'), upstream('t-2'));
      assert.equal(await sessions.endFor([{ kind: 'user-revoked', ns: 'prod', tenantId: 't-1', userName: 'lisi' }]), 2);
      assert.equal(await sessions.load(a.sid), null);
      assert.equal(await sessions.load(b.sid), null);
      assert.ok(await sessions.load(other.sid));
      assert.equal(await sessions.endFor([{ kind: 'tenant-changed', ns: 'prod', tenantId: 't-1', removed: true }]), 1 + 2, 'the tenant index still lists the ended ones');
      assert.equal(await sessions.load(other.sid), null);
      assert.ok(await sessions.load(elsewhere.sid), 'another tenant is untouched');
      assert.equal(await sessions.endFor([{ kind: 'tenant-changed', ns: 'prod', tenantId: 't-2', removed: false }]), 0, 'a tenant that changed but stays ends nothing');
    });

    it('revise rewrites identities in place (same id, same timeouts) and ends the ones answered null', async () => {
      const sessions = open();
      const heard = await listen(store());
      try {
        const keep = await sessions.establish(identity('lisi'), upstream());
        const demote = await sessions.establish(identity('boss', 't-1', 'admin'), upstream());
        const drop = await sessions.establish(identity('temp'), upstream());
        const r = await sessions.revise([keep.sid, demote.sid, drop.sid, 'gone'], async (s) =>
          s.identity.claims.user_name === 'boss' ? identity('boss', 't-1', 'user') : s.identity.claims.user_name === 'temp' ? null : undefined,
        );
        assert.deepEqual(r, { changed: 1, ended: 1 });
        assert.equal((await sessions.load(demote.sid))?.identity.claims.role, 'user');
        assert.equal((await sessions.load(demote.sid))?.createdAt, demote.record.createdAt);
        assert.equal(await sessions.load(drop.sid), null);
        assert.deepEqual(await sessions.sessionIds('prod', 't-1', 'temp'), []);
        assert.ok(await sessions.load(keep.sid));
        await until('the change and the end to be announced', () => heard.changed.includes(demote.sid) && heard.ended.includes(drop.sid));
        assert.ok(!heard.changed.includes(keep.sid));
      } finally {
        await heard.stop();
      }
    });

    it('replaceTokens writes only to a live record; an ended session stays ended', async () => {
      const sessions = open();
      const e = await sessions.establish(identity('lisi'), upstream());
      const tokens = { accessToken: 'at-2', refreshToken: 'rt-2', expiresAt: Date.now() + 7_200_000 };
      const kept = { refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt }; // a record keeps no access token
      const next = await sessions.replaceTokens(e.sid, e.record, tokens);
      assert.deepEqual(next?.upstream?.tokens, kept);
      assert.deepEqual((await sessions.load(e.sid))?.upstream?.tokens, kept);
      await sessions.end(e.sid);
      assert.equal(await sessions.replaceTokens(e.sid, e.record, tokens), null);
      assert.equal(await sessions.load(e.sid), null);
    });

    it('touch keeps an idle session alive; the last-seen time is kept', async () => {
      const sessions = open({ idleTimeoutSec: 1 });
      const e = await sessions.establish(identity('lisi'), upstream());
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 400));
        await sessions.touch(e.sid, e.record);
      }
      assert.ok(await sessions.load(e.sid), 'alive 1.2 s after sign-in with an idle timeout of 1 s');
      const seen = await sessions.lastSeenAt(e.sid);
      assert.ok(seen !== null && Math.abs(seen - Date.now()) < 5_000);
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal(await sessions.load(e.sid), null, 'without touches it ends after the idle timeout');
    });
  });
}

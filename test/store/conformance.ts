// The one suite every Store adapter must pass: the executable form of src/store/store.ts.
// `open` gives each test a fresh, empty store.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AuditEvent, DocWrite, Store } from '../../src/store/store.ts';
import { sessionConformance } from './session-conformance.ts';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

/** Polls `check` until it returns true; fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const V1 = '20240101000000001';
const V2 = '20240101000000002';
const V3 = '20240101000000003';

function event(n: number, detail?: AuditEvent['detail']): AuditEvent {
  return { at: `2024-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`, actor: 'marketplace', action: 'tenant.upsert', target: `prod/tenant/t-${n}`, ...(detail ? { detail } : {}) };
}

export function storeConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store conformance: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    const put = (id: string, version: string, value: string | null, when?: DocWrite['when']): DocWrite => ({ col: 'tenants', id, version, value, ...(when ? { when } : {}) });

    describe('documents', () => {
      it('reads back what was written; missing is null', async () => {
        assert.equal(await store.getDoc('tenants', 't-1'), null);
        assert.deepEqual(await store.write([put('t-1', V1, '{"name":"one"}')]), [true]);
        assert.deepEqual(await store.getDoc('tenants', 't-1'), { id: 't-1', version: V1, value: '{"name":"one"}' });
        assert.equal(await store.getDoc('apps', 't-1'), null, 'collections are separate');
      });

      it('getDocs keeps the order of ids with null where missing', async () => {
        await store.write([put('a', V1, '"A"'), put('c', V1, '"C"')]);
        const docs = await store.getDocs('tenants', ['c', 'missing', 'a', 'c']);
        assert.deepEqual(docs.map((d) => d?.value ?? null), ['"C"', null, '"A"', '"C"']);
        assert.deepEqual(await store.getDocs('tenants', []), []);
      });

      it('listDocs returns the whole collection, tombstones included', async () => {
        await store.write([put('a', V1, '"A"'), put('b', V1, null), { col: 'apps', id: 'x', version: V1, value: '"X"' }]);
        const docs = (await store.listDocs('tenants')).sort((x, y) => x.id.localeCompare(y.id));
        assert.deepEqual(docs, [
          { id: 'a', version: V1, value: '"A"' },
          { id: 'b', version: V1, value: null },
        ]);
        assert.deepEqual(await store.listDocs('nothing'), []);
      });

      it('not-older (the default): older rejected, equal and newer applied', async () => {
        await store.write([put('t', V2, '"v2"')]);
        assert.deepEqual(await store.write([put('t', V1, '"v1"')]), [false]);
        assert.equal((await store.getDoc('tenants', 't'))?.value, '"v2"');
        assert.deepEqual(await store.write([put('t', V2, '"v2 again"', 'not-older')]), [true]);
        assert.equal((await store.getDoc('tenants', 't'))?.value, '"v2 again"');
        assert.deepEqual(await store.write([put('t', V3, '"v3"')]), [true]);
        assert.deepEqual(await store.getDoc('tenants', 't'), { id: 't', version: V3, value: '"v3"' });
      });

      it('absent: applied only when nothing, not even a tombstone, is stored', async () => {
        assert.deepEqual(await store.write([put('t', V2, '"first"', 'absent')]), [true]);
        assert.deepEqual(await store.write([put('t', V3, '"second"', 'absent')]), [false]);
        assert.equal((await store.getDoc('tenants', 't'))?.value, '"first"');
        await store.write([put('gone', V1, null)]);
        assert.deepEqual(await store.write([put('gone', V2, '"back"', 'absent')]), [false]);
      });

      it('always: applied even over a newer version', async () => {
        await store.write([put('t', V3, '"v3"')]);
        assert.deepEqual(await store.write([put('t', V1, '"forced"', 'always')]), [true]);
        assert.deepEqual(await store.getDoc('tenants', 't'), { id: 't', version: V1, value: '"forced"' });
      });

      it('a tombstone keeps its version and blocks an older re-add', async () => {
        await store.write([put('t', V1, '"alive"')]);
        assert.deepEqual(await store.write([put('t', V2, null)]), [true]);
        assert.deepEqual(await store.getDoc('tenants', 't'), { id: 't', version: V2, value: null });
        assert.deepEqual(await store.write([put('t', V1, '"late add"')]), [false]);
        assert.equal((await store.getDoc('tenants', 't'))?.value, null);
        assert.deepEqual(await store.write([put('t', V3, '"newer add"')]), [true]);
        assert.equal((await store.getDoc('tenants', 't'))?.value, '"newer add"');
      });

      it('a batch returns one flag per write; later writes see earlier ones', async () => {
        await store.write([put('old', V2, '"old"'), put('taken', V1, '"taken"')]);
        const flags = await store.write([
          put('new', V1, '"new"'),
          put('old', V1, '"stale"'),
          put('taken', V2, '"x"', 'absent'),
          put('fresh', V1, '"fresh"', 'absent'),
          put('new', V3, '"new v3"'),
          put('new', V2, '"new v2"'),
          put('old', V1, '"forced"', 'always'),
          { col: 'apps', id: 'a', version: V1, value: '"app"' },
        ]);
        assert.deepEqual(flags, [true, false, false, true, true, false, true, true]);
        assert.deepEqual(
          (await store.getDocs('tenants', ['new', 'old', 'taken', 'fresh'])).map((d) => d && [d.version, d.value]),
          [[V3, '"new v3"'], [V1, '"forced"'], [V1, '"taken"'], [V1, '"fresh"']],
        );
        assert.equal((await store.getDoc('apps', 'a'))?.value, '"app"');
      });

      it('applies a 500-document batch', async () => {
        const writes = Array.from({ length: 500 }, (_, i) => put(`t-${i}`, V1, JSON.stringify({ i })));
        const flags = await store.write(writes);
        assert.equal(flags.length, 500);
        assert.ok(flags.every(Boolean));
        assert.equal((await store.listDocs('tenants')).length, 500);
        const docs = await store.getDocs('tenants', writes.map((w) => w.id));
        assert.deepEqual(docs.map((d) => d?.value), writes.map((w) => w.value));
        assert.ok((await store.write(writes.map((w) => ({ ...w, version: '0' })))).every((f) => !f));
      });

      it('keeps unicode and 1 MiB values intact', async () => {
        const unicode = JSON.stringify({ name: '租户 ✓ émoji 🎉 \u0000 "quoted" \\ back' });
        const big = JSON.stringify({ blob: 'x'.repeat(1024 * 1024) });
        await store.write([put('ü-名', V1, unicode), put('big', V1, big)]);
        assert.equal((await store.getDoc('tenants', 'ü-名'))?.value, unicode);
        assert.equal((await store.getDoc('tenants', 'big'))?.value, big);
      });
    });

    describe('audit', () => {
      it('appends events with the writes and lists them newest first', async () => {
        await store.write([put('a', V1, '"a"')], [event(1, { tenant: 't-1', count: 2, ok: true, none: null })]);
        await store.write([], [event(2), event(3)]);
        await store.write([put('a', V1, '"unchanged"', 'absent')], [event(4)]);
        await store.write([put('b', V1, '"b"')]);
        assert.deepEqual(await store.listAudit(10), [event(4), event(3), event(2), event(1, { tenant: 't-1', count: 2, ok: true, none: null })]);
        assert.deepEqual(await store.listAudit(2), [event(4), event(3)]);
      });

      it('keeps unicode in events', async () => {
        const e: AuditEvent = { at: '2024-01-01T00:00:00.000Z', actor: 'user:名前', action: 'login.refused', target: 'prod/user/ü', detail: { reason: '密码 🎉' } };
        await store.write([], [e]);
        assert.deepEqual(await store.listAudit(1), [e]);
      });
    });

    describe('temps', () => {
      it('put, get, overwrite', async () => {
        assert.equal(await store.getTemp('k'), null);
        assert.equal(await store.putTemp('k', 'v1', 10_000), true);
        assert.equal(await store.getTemp('k'), 'v1');
        assert.equal(await store.putTemp('k', 'v2', 10_000), true);
        assert.equal(await store.getTemp('k'), 'v2');
      });

      it('takeTemp is single use, even for 20 concurrent callers', async () => {
        await store.putTemp('nonce', 'secret', 10_000);
        const got = await Promise.all(Array.from({ length: 20 }, () => store.takeTemp('nonce')));
        assert.deepEqual(got.filter((v) => v !== null), ['secret']);
        assert.equal(await store.getTemp('nonce'), null);
        assert.equal(await store.takeTemp('never'), null);
      });

      it('ifAbsent stores only when no live key exists', async () => {
        assert.equal(await store.putTemp('lock', 'a', 10_000, { ifAbsent: true }), true);
        assert.equal(await store.putTemp('lock', 'b', 10_000, { ifAbsent: true }), false);
        assert.equal(await store.getTemp('lock'), 'a');
        await store.putTemp('short', 'a', 50);
        await waitFor('short to expire', async () => (await store.getTemp('short')) === null);
        assert.equal(await store.putTemp('short', 'b', 10_000, { ifAbsent: true }), true);
        assert.equal(await store.getTemp('short'), 'b');
      });

      it('expires: invisible to get, take and touch', async () => {
        // b and c are put first, so they have expired once a has
        await store.putTemp('b', 'x', 100);
        await store.putTemp('c', 'x', 100);
        await store.putTemp('a', 'x', 100);
        assert.equal(await store.getTemp('a'), 'x');
        await waitFor('a to expire', async () => (await store.getTemp('a')) === null);
        assert.equal(await store.takeTemp('b'), null);
        assert.equal(await store.touchTemp('c', 10_000), false);
        assert.equal(await store.getTemp('c'), null);
      });

      it('tempTtl tells the remaining time to live of a live key, restarted by a touch', async () => {
        await store.putTemp('t', 'x', 10_000);
        const first = await store.tempTtl('t');
        assert.ok(first !== null && first > 9_000 && first <= 10_000, `ttl ${first}`);
        await store.touchTemp('t', 60_000);
        const touched = await store.tempTtl('t');
        assert.ok(touched !== null && touched > 59_000 && touched <= 60_000, `ttl ${touched}`);
        assert.equal(await store.tempTtl('missing'), null);
        await store.putTemp('gone', 'x', 50);
        await waitFor('gone to expire', async () => (await store.getTemp('gone')) === null);
        assert.equal(await store.tempTtl('gone'), null);
      });

      it('touchTemp extends the time to live of a live key only', async () => {
        await store.putTemp('s', 'x', 150);
        assert.equal(await store.touchTemp('s', 10_000), true);
        await sleep(300);
        assert.equal(await store.getTemp('s'), 'x');
        assert.equal(await store.touchTemp('missing', 10_000), false);
      });

      it('replaceTemps changes the values of live keys only, keeping their time to live', async () => {
        await store.putTemp('r1', 'old', 300);
        await store.putTemp('r2', 'old', 60_000);
        assert.deepEqual(await store.replaceTemps([['r1', 'new1'], ['missing', 'x'], ['r2', 'new2']]), [true, false, true]);
        assert.equal(await store.getTemp('r1'), 'new1');
        assert.equal(await store.getTemp('r2'), 'new2');
        assert.equal(await store.getTemp('missing'), null);
        await waitFor('r1 to expire as first set', async () => (await store.getTemp('r1')) === null);
        assert.deepEqual(await store.replaceTemps([['r1', 'again']]), [false]);
        assert.equal(await store.getTemp('r1'), null, 'an expired key is not brought back');
        assert.deepEqual(await store.replaceTemps([]), []);
      });

      it('deleteTemp removes every key given and ignores missing ones', async () => {
        await store.putTemp('a', '1', 10_000);
        await store.putTemp('b', '2', 10_000);
        await store.putTemp('c', '3', 10_000);
        await store.deleteTemp(['a', 'c', 'missing']);
        await store.deleteTemp([]);
        assert.deepEqual(await Promise.all(['a', 'b', 'c'].map((k) => store.getTemp(k))), [null, '2', null]);
      });

      it('keeps unicode and 1 MiB values intact', async () => {
        const big = '🎉'.repeat(256 * 1024); // 1 MiB of UTF-8
        await store.putTemp('名前', '値 ✓', 10_000);
        await store.putTemp('big', big, 10_000);
        assert.equal(await store.getTemp('名前'), '値 ✓');
        assert.equal(await store.takeTemp('big'), big);
      });
    });

    describe('sets', () => {
      it('add, members, remove', async () => {
        assert.deepEqual(await store.members('user:1'), []);
        await store.addMember('user:1', 's-1', 10_000);
        await store.addMember('user:1', 's-2', 10_000);
        await store.addMember('user:1', 's-2', 10_000);
        await store.addMember('user:1', 'сессия ✓', 10_000);
        assert.deepEqual((await store.members('user:1')).sort(), ['s-1', 's-2', 'сессия ✓'].sort());
        await store.removeMember('user:1', 's-1');
        await store.removeMember('user:1', 'missing');
        await store.removeMember('nobody', 'x');
        assert.deepEqual((await store.members('user:1')).sort(), ['s-2', 'сессия ✓'].sort());
        await store.removeMember('user:1', 's-2');
        await store.removeMember('user:1', 'сессия ✓');
        assert.deepEqual(await store.members('user:1'), []);
      });

      it('the whole set expires ttl after its latest addition', async () => {
        await store.addMember('idx', 'a', 100);
        await store.addMember('idx', 'b', 10_000);
        await sleep(200);
        assert.deepEqual((await store.members('idx')).sort(), ['a', 'b'], 'the later addition extended the whole set');
        await store.addMember('idx', 'c', 100);
        await waitFor('the set to expire', async () => (await store.members('idx')).length === 0);
        await store.addMember('idx', 'd', 10_000);
        assert.deepEqual(await store.members('idx'), ['d'], 'an expired set starts over empty');
      });

      it('temps, sets and documents with the same name do not collide', async () => {
        await store.putTemp('same', 'temp', 10_000);
        await store.addMember('same', 'member', 10_000);
        await store.write([{ col: 'same', id: 'same', version: V1, value: '"doc"' }]);
        assert.equal(await store.getTemp('same'), 'temp');
        assert.deepEqual(await store.members('same'), ['member']);
        assert.equal((await store.getDoc('same', 'same'))?.value, '"doc"');
      });
    });

    describe('putAll', () => {
      it('stores temps and set members together, each with its own time to live, as putTemp and addMember do', async () => {
        await store.putTemp('rec', 'old', 10_000);
        await store.addMember('idx:a', 'old-member', 10_000);
        await store.putAll([
          { kind: 'member', setKey: 'idx:a', member: 's-1', ttlMs: 60_000 },
          { kind: 'member', setKey: 'idx:b', member: 's-1', ttlMs: 60_000 },
          { kind: 'temp', key: 'rec', value: 'new ✓', ttlMs: 30_000 },
          { kind: 'temp', key: 'short', value: 'x', ttlMs: 100 },
        ]);
        assert.deepEqual((await store.members('idx:a')).sort(), ['old-member', 's-1']);
        assert.deepEqual(await store.members('idx:b'), ['s-1']);
        assert.equal(await store.getTemp('rec'), 'new ✓', 'an existing temp is replaced');
        const ttl = await store.tempTtl('rec');
        assert.ok(ttl !== null && ttl > 25_000 && ttl <= 30_000, `ttl ${ttl}`);
        await waitFor('short to expire', async () => (await store.getTemp('short')) === null);
        assert.equal(await store.getTemp('rec'), 'new ✓');
        await store.putAll([]);
      });

      it('an expired set starts over empty, as with addMember', async () => {
        await store.addMember('idx:gone', 'a', 100);
        await waitFor('the set to expire', async () => (await store.members('idx:gone')).length === 0);
        await store.putAll([{ kind: 'member', setKey: 'idx:gone', member: 'b', ttlMs: 10_000 }]);
        assert.deepEqual(await store.members('idx:gone'), ['b']);
      });
    });

    describe('publish/subscribe', () => {
      it('delivers to every subscriber of the channel; unsubscribe stops delivery', async () => {
        const first: string[] = [];
        const second: string[] = [];
        const other: string[] = [];
        const stopFirst = await store.subscribe('events', (m) => first.push(m));
        const stopSecond = await store.subscribe('events', (m) => second.push(m));
        const stopOther = await store.subscribe('other', (m) => other.push(m));
        await store.publish('events', 'hello ✓');
        await waitFor('both subscribers to receive', () => first.length === 1 && second.length === 1);
        assert.deepEqual([first, second], [['hello ✓'], ['hello ✓']]);

        await stopFirst();
        await store.publish('events', 'after');
        // the second subscriber receiving it proves delivery happened, so the first had its chance
        await waitFor('the second subscriber to receive', () => second.length === 2);
        assert.deepEqual(first, ['hello ✓']);
        assert.deepEqual(other, []);
        await stopSecond();
        await stopOther();
      });
    });

    it('ping resolves', async () => {
      await store.ping();
    });

    sessionConformance(() => store);
  });
}

// The sign-in's success audit rows, written after the answer (src/login/audit-queue.ts): batched,
// in order, retried when the store refuses, never dropped without the log keeping them, bounded.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { AUDIT_ATTEMPTS, AUDIT_MAX_WAITING, AuditQueue } from '../../src/login/audit-queue.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { StoreUnavailableError, type AuditEvent, type DocWrite } from '../../src/store/store.ts';

const event = (i: number): AuditEvent => ({ at: new Date(1_700_000_000_000 + i).toISOString(), actor: `user:u${i}`, action: 'login.success', target: `prod/user/t-1/u${i}`, detail: { i } });

/** a memory store that counts audit writes and refuses them on request */
class CountingStore extends MemoryStore {
  writes = 0;
  refuse = false;
  /** while set, writes wait for it */
  hold: Promise<void> | null = null;
  override async write(writes: readonly DocWrite[], audit?: readonly AuditEvent[]): Promise<boolean[]> {
    this.writes += 1;
    if (this.hold) await this.hold;
    if (this.refuse) throw new StoreUnavailableError('refused');
    return super.write(writes, audit);
  }
}

function logCapture() {
  const lines: Array<{ level: number; msg: string; lost?: number; audit?: AuditEvent[] }> = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger('info', dest), lines };
}

const actions = async (store: MemoryStore) => (await store.listAudit(10_000)).reverse().map((e) => e.detail?.i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AuditQueue', () => {
  it('answers before the row is stored, then stores the rows of the moment in one write, in order', async () => {
    const store = new CountingStore();
    const q = new AuditQueue(store, logCapture().log, 20);
    await Promise.all([0, 1, 2, 3, 4].map((i) => q.add(event(i))));
    assert.equal(store.writes, 0, 'not written on the answer path');
    assert.deepEqual(await actions(store), []);
    await sleep(60);
    assert.equal(store.writes, 1);
    assert.deepEqual(await actions(store), [0, 1, 2, 3, 4]);
    await q.close();
  });

  it('a refused write is retried with the rows added since, order kept', async () => {
    const store = new CountingStore();
    const { log, lines } = logCapture();
    const q = new AuditQueue(store, log, 5);
    store.refuse = true;
    await q.add(event(0));
    await q.flush();
    await q.add(event(1));
    assert.equal(q.size, 2);
    store.refuse = false;
    await q.flush();
    assert.deepEqual(await actions(store), [0, 1]);
    assert.equal(q.size, 0);
    assert.ok(lines.some((l) => l.level === 40 && /retrying/.test(l.msg)));
    await q.close();
  });

  it('rows the store keeps refusing end in the error log with their content, not silently', async () => {
    const store = new CountingStore();
    const { log, lines } = logCapture();
    const q = new AuditQueue(store, log, 1);
    store.refuse = true;
    await q.add(event(7));
    for (let i = 0; i < AUDIT_ATTEMPTS; i++) await q.flush();
    assert.equal(q.size, 0);
    const lost = lines.find((l) => l.level === 50);
    assert.ok(lost, 'an error line');
    assert.equal(lost.lost, 1);
    assert.deepEqual(lost.audit?.map((e) => e.detail?.i), [7]);
    await q.close();
  });

  it('close writes the rows still waiting', async () => {
    const store = new CountingStore();
    const q = new AuditQueue(store, logCapture().log, 60_000);
    await q.add(event(1));
    await q.add(event(2));
    await q.close();
    assert.deepEqual(await actions(store), [1, 2]);
  });

  it('bounded: once AUDIT_MAX_WAITING rows wait, add answers only when they are written', async () => {
    const store = new CountingStore();
    const q = new AuditQueue(store, logCapture().log, 60_000);
    let release!: () => void;
    store.hold = new Promise<void>((r) => (release = r));
    for (let i = 0; i < AUDIT_MAX_WAITING - 1; i++) await q.add(event(i));
    let answered = false;
    const last = q.add(event(AUDIT_MAX_WAITING - 1)).then(() => (answered = true));
    await sleep(20);
    assert.equal(answered, false, 'the add that fills the queue waits for the write');
    release();
    await last;
    assert.equal((await actions(store)).length, AUDIT_MAX_WAITING);
    await q.close();
  });
});

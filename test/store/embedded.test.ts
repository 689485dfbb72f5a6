import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { EMBEDDED_FILE, openEmbeddedStore } from '../../src/store/embedded.ts';
import { openStore } from '../../src/store/index.ts';
import { sleep, storeConformance } from './conformance.ts';

const root = mkdtempSync(join(tmpdir(), 'bridge-embedded-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `store-${++dirs}`);

storeConformance('embedded', async () => {
  const dir = freshDir();
  const store = openEmbeddedStore(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// every write on the writer thread (the path of big pushes), under the same contract
storeConformance('embedded, every write on the writer thread', async () => {
  const dir = freshDir();
  const store = openEmbeddedStore(dir, { bigWriteRows: 1 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});


/**
 * Runs `write` (code using `store`, an embedded store on `dir`) in a child process, waits for it to
 * be acknowledged, then kill -9s the child: what the test then reads must have survived.
 */
async function killAfterAck(dir: string, write: string): Promise<void> {
  const module = fileURLToPath(new URL('../../src/store/embedded.ts', import.meta.url));
  const script = `
    import { openEmbeddedStore } from ${JSON.stringify(module)};
    const store = openEmbeddedStore(${JSON.stringify(dir)});
    ${write}
    console.log('acked');
    setInterval(() => {}, 1000); // stay alive until killed
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('acked')) resolve();
      });
      child.once('exit', () => reject(new Error(`child exited before acking:\n${stderr}`)));
    });
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('embedded store', () => {
  it('openStore("embedded:<dir>") resolves a relative dir against the working directory', async () => {
    const dir = freshDir();
    const store = await openStore(`embedded:${relative(process.cwd(), dir)}`);
    try {
      assert.equal(store.kind, 'embedded');
      assert.ok(statSync(join(dir, EMBEDDED_FILE)).isFile());
    } finally {
      await store.close();
    }
  });

  it('warm() starts the writer thread before the first big write, which then uses it; close() stops it', async () => {
    const store = openEmbeddedStore(freshDir());
    const writer = () => (store as unknown as { writer: unknown }).writer;
    try {
      assert.equal(writer(), null);
      store.warm();
      const started = writer();
      assert.ok(started, 'the writer thread runs');
      const writes = Array.from({ length: 600 }, (_, i) => ({ col: 'big', id: `d${i}`, version: '1', value: String(i) }));
      assert.equal((await store.write(writes)).filter(Boolean).length, 600);
      assert.equal(writer(), started, 'the big write ran on the warmed thread');
    } finally {
      await store.close();
    }
    store.warm(); // closed: starts nothing
    assert.equal(writer(), null);
  });

  it('keeps data across close and reopen', async () => {
    const dir = freshDir();
    const first = openEmbeddedStore(dir);
    await first.write([{ col: 'tenants', id: 't-1', version: '1', value: '"kept"' }], [{ at: '2024-01-01T00:00:00.000Z', actor: 'operator', action: 'tenant.upsert', target: 't-1' }]);
    await first.putTemp('session', 's', 60_000);
    await first.addMember('user', 'session', 60_000);
    await first.close();

    const second = openEmbeddedStore(dir);
    try {
      assert.equal((await second.getDoc('tenants', 't-1'))?.value, '"kept"');
      assert.equal((await second.listAudit(5)).length, 1);
      assert.equal(await second.getTemp('session'), 's');
      assert.deepEqual(await second.members('user'), ['session']);
    } finally {
      await second.close();
    }
  });

  it('sweep deletes expired temps and sets, and only those', async () => {
    const dir = freshDir();
    const store = openEmbeddedStore(dir);
    try {
      await store.putTemp('short', 'x', 50);
      await store.putTemp('long', 'x', 60_000);
      await store.addMember('short-set', 'm', 50);
      await store.addMember('long-set', 'm', 60_000);
      await sleep(100);
      store.sweep();
      const db = new Database(join(dir, EMBEDDED_FILE), { readonly: true });
      try {
        const keys = (table: string, column: string) => db.prepare<[], { k: string }>(`SELECT ${column} AS k FROM ${table} ORDER BY 1`).all().map((r) => r.k);
        assert.deepEqual(keys('temps', 'key'), ['long']);
        assert.deepEqual(keys('sets', 'set_key'), ['long-set']);
        assert.deepEqual(keys('set_members', 'set_key'), ['long-set']);
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
  });

  it('two stores on one directory share the data (SQLite locking serialises them)', async () => {
    const dir = freshDir();
    const a = openEmbeddedStore(dir);
    const b = openEmbeddedStore(dir);
    try {
      const flags = await Promise.all([
        a.write([{ col: 'c', id: 'x', version: '2', value: '"a"' }]),
        b.write([{ col: 'c', id: 'x', version: '1', value: '"b"' }]),
      ]);
      assert.deepEqual(flags, [[true], [false]]);
      assert.equal((await b.getDoc('c', 'x'))?.value, '"a"');
      assert.equal(await a.putTemp('lock', 'a', 10_000, { ifAbsent: true }), true);
      assert.equal(await b.putTemp('lock', 'b', 10_000, { ifAbsent: true }), false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('creates the directory 0700 and the database files 0600', async () => {
    const dir = freshDir();
    const store = openEmbeddedStore(dir);
    try {
      await store.write([{ col: 'c', id: 'i', version: '1', value: '1' }]);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const file of [EMBEDDED_FILE, `${EMBEDDED_FILE}-wal`]) {
        assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
      }
    } finally {
      await store.close();
    }
  });

  it('a write acknowledged before SIGKILL survives', async () => {
    const dir = freshDir();
    await killAfterAck(dir, `await store.write([{ col: 'tenants', id: 'acked', version: '1', value: '"durable"' }]);`);

    const store = openEmbeddedStore(dir);
    try {
      assert.equal((await store.getDoc('tenants', 'acked'))?.value, '"durable"');
    } finally {
      await store.close();
    }
  });

  describe('touches (batched: one transaction per TOUCH_BATCH_MS)', () => {
    const walBytes = (dir: string) => {
      try {
        return statSync(join(dir, `${EMBEDDED_FILE}-wal`)).size;
      } catch {
        return 0;
      }
    };

    it('putAll is one commit: 60 changes append what one transaction does to the WAL', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      try {
        await store.putTemp('warm', 'v', 1_000);
        const before = walBytes(dir);
        await store.putAll(Array.from({ length: 30 }, (_, i) => [
          { kind: 'member' as const, setKey: `idx:${i}`, member: `s${i}`, ttlMs: 60_000 },
          { kind: 'temp' as const, key: `rec${i}`, value: 'v', ttlMs: 60_000 },
        ]).flat());
        assert.equal(await store.getTemp('rec29'), 'v');
        assert.deepEqual(await store.members('idx:29'), ['s29']);
        // one commit per change would append at least one 4 KiB page frame each to the WAL
        const grown = walBytes(dir) - before;
        assert.ok(grown < 10 * 4096, `the WAL grew ${grown} bytes for 60 changes`);
      } finally {
        await store.close();
      }
    });

    it('touches asked for together are committed together, each answered with its own result', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      try {
        for (let i = 0; i < 100; i++) await store.putTemp(`s${i}`, 'v', 1_000);
        const before = walBytes(dir);
        const touched = await Promise.all([...Array.from({ length: 100 }, (_, i) => store.touchTemp(`s${i}`, 600_000)), store.touchTemp('absent', 600_000)]);
        assert.deepEqual(touched, [...Array<boolean>(100).fill(true), false]);
        for (const key of ['s0', 's99']) assert.ok((await store.tempTtl(key))! > 500_000, `${key}'s time to live was restarted`);
        // one commit per touch would append at least one 4 KiB page frame each to the WAL
        const grown = walBytes(dir) - before;
        assert.ok(grown < 10 * 4096, `the WAL grew ${grown} bytes for 100 touches`);
      } finally {
        await store.close();
      }
    });

    it('a change after a touch is committed after it (the order of changes is kept)', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      try {
        await store.putTemp('k', 'v', 1_000);
        const touch = store.touchTemp('k', 600_000);
        await store.deleteTemp(['k']);
        assert.equal(await touch, true, 'the touch came first and found the key');
        assert.equal(await store.getTemp('k'), null, 'the delete came after it');
        await store.putTemp('k', 'v2', 1_000);
        const late = store.touchTemp('k', 600_000);
        await store.putTemp('k', 'v3', 2_000);
        assert.equal(await late, true);
        const ttl = (await store.tempTtl('k'))!;
        assert.ok(ttl <= 2_000, `the later put's time to live stands (${ttl} ms)`);
      } finally {
        await store.close();
      }
    });

    it('close() commits the touches still waiting', async () => {
      const dir = freshDir();
      const first = openEmbeddedStore(dir);
      await first.putTemp('k', 'v', 1_000);
      const touch = first.touchTemp('k', 600_000);
      await first.close();
      assert.equal(await touch, true);
      const second = openEmbeddedStore(dir);
      try {
        assert.ok((await second.tempTtl('k'))! > 500_000);
      } finally {
        await second.close();
      }
    });

    it('a touch acknowledged before SIGKILL survives', async () => {
      const dir = freshDir();
      await killAfterAck(dir, `await store.putTemp('k', 'v', 60_000); if (!(await store.touchTemp('k', 600_000))) throw new Error('not touched');`);
      const store = openEmbeddedStore(dir);
      try {
        assert.ok((await store.tempTtl('k'))! > 500_000);
      } finally {
        await store.close();
      }
    });
  });

  describe('group commit (the changes asked for in one turn share a transaction)', () => {
    it('changes asked for together are one commit, each answered with its own result, in order', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      try {
        await store.putTemp('warm', 'v', 60_000);
        const before = store.groupStats();
        const [put, taken, again, written, added] = await Promise.all([
          store.putTemp('a', '1', 60_000),
          store.takeTemp('a'),
          store.takeTemp('a'),
          store.write([{ col: 'c', id: 'd', version: '1', value: 'x' }], [{ at: 'now', actor: 't', action: 'group', target: 't', detail: {} }]),
          store.addMember('set', 'm', 60_000),
        ]);
        assert.deepEqual([put, taken, again, written, added], [true, '1', null, [true], undefined], 'the take saw the put asked for before it, the second take nothing');
        const after = store.groupStats();
        assert.deepEqual({ commits: after.commits - before.commits, changes: after.changes - before.changes }, { commits: 1, changes: 5 });
        assert.equal((await store.getDoc('c', 'd'))?.value, 'x');
        assert.deepEqual(await store.members('set'), ['m']);
      } finally {
        await store.close();
      }
    });

    it('a change that fails takes only itself back; the others in its commit are kept', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      try {
        const results = await Promise.allSettled([
          store.putTemp('before', 'v', 60_000),
          // a value SQLite cannot bind: this change's statement throws inside the group's transaction
          store.write([{ col: 'c', id: 'ok', version: '1', value: 'kept?' }, { col: 'c', id: 'bad', version: '1', value: { not: 'text' } as unknown as string }]),
          store.putTemp('after', 'v', 60_000),
        ]);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
        assert.equal(await store.getTemp('before'), 'v');
        assert.equal(await store.getTemp('after'), 'v');
        assert.equal(await store.getDoc('c', 'ok'), null, 'the failed write is all or nothing: its first document went with it');
      } finally {
        await store.close();
      }
    });

    it('when SQLite rolls the whole group back (disk full, I/O error), every change in it fails and none is kept', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      // what SQLite does on SQLITE_FULL or SQLITE_IOERR inside a transaction, done by hand: roll
      // back, then fail. The changes after it must not run on their own outside the transaction.
      const internals = store as unknown as { db: Database.Database; change(what: string, fn: () => unknown): Promise<unknown> };
      try {
        const results = await Promise.allSettled([
          store.putTemp('a', '1', 60_000),
          internals.change('fail', () => {
            internals.db.exec('ROLLBACK');
            throw new Error('simulated I/O error');
          }),
          store.putTemp('b', '2', 60_000),
        ]);
        assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
        assert.deepEqual([await store.getTemp('a'), await store.getTemp('b')], [null, null]);
        assert.equal(await store.putTemp('c', '3', 60_000), true, 'the next change commits as usual');
        assert.equal(await store.getTemp('c'), '3');
      } finally {
        await store.close();
      }
    });

    it('close() commits the changes still waiting for their turn; a reopened store has them', async () => {
      const dir = freshDir();
      const first = openEmbeddedStore(dir);
      const puts = [first.putTemp('x', '1', 60_000), first.putTemp('y', '2', 60_000)];
      await first.close();
      assert.deepEqual(await Promise.all(puts), [true, true]);
      const second = openEmbeddedStore(dir);
      try {
        assert.deepEqual([await second.getTemp('x'), await second.getTemp('y')], ['1', '2']);
      } finally {
        await second.close();
      }
    });

    it('changes acknowledged together before SIGKILL survive', async () => {
      const dir = freshDir();
      await killAfterAck(dir, `await Promise.all([store.putTemp('p', 'v', 60_000), store.write([{ col: 'c', id: 'd', version: '1', value: 'x' }]), store.addMember('s', 'm', 60_000)]); if (store.groupStats().commits !== 1) throw new Error('not one group commit');`);
      const store = openEmbeddedStore(dir);
      try {
        assert.equal(await store.getTemp('p'), 'v');
        assert.equal((await store.getDoc('c', 'd'))?.value, 'x');
        assert.deepEqual(await store.members('s'), ['m']);
      } finally {
        await store.close();
      }
    });
  });

  describe('big writes (the writer thread)', () => {
    const docs = (n: number, version: string, tag: string) => Array.from({ length: n }, (_, i) => ({ col: 'orgs', id: `d${i}`, version, value: JSON.stringify({ name: `${tag}${i}` }) }));

    // Not a speed assertion (the host may be loaded): written on the event loop, one gap would last
    // the whole write; on the writer thread the loop keeps turning, so no gap comes near it.
    it('keep the event loop turning while 50,000 documents are written (no gap near the length of the write)', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      try {
        const writes = docs(50_000, '1', 'a');
        let longest = 0;
        let turns = 0;
        const started = performance.now();
        let last = started;
        const probe = setInterval(() => {
          const t = performance.now();
          longest = Math.max(longest, t - last);
          last = t;
          turns += 1;
        }, 2);
        const flags = await store.write(writes, [{ at: new Date().toISOString(), actor: 'test', action: 'big', target: 'orgs' }]);
        clearInterval(probe);
        const elapsed = performance.now() - started;
        longest = Math.max(longest, performance.now() - last);
        assert.equal(flags.length, 50_000);
        assert.ok(flags.every(Boolean));
        assert.equal((await store.listDocs('orgs')).length, 50_000);
        assert.equal((await store.listAudit(1))[0]?.action, 'big');
        assert.ok(turns >= 10, `the event loop turned ${turns} times during a ${elapsed.toFixed(0)} ms write`);
        assert.ok(longest < elapsed / 3, `the event loop stood still for ${longest.toFixed(0)} ms of a ${elapsed.toFixed(0)} ms write`);
      } finally {
        await store.close();
      }
    });

    it('changes made during a big write wait for it and keep their order; reads see the old state until it commits', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      try {
        await store.write([{ col: 'orgs', id: 'd0', version: '0', value: '"old"' }]);
        const big = store.write(docs(5000, '1', 'new'));
        const during = await store.getDoc('orgs', 'd0');
        const small = store.write([{ col: 'orgs', id: 'd0', version: '2', value: '"after"' }]);
        const temp = store.putTemp('k', 'v', 60_000);
        assert.equal(during?.value, '"old"');
        assert.deepEqual(await small, [true]);
        assert.equal((await big).filter(Boolean).length, 5000);
        assert.equal(await temp, true);
        // the small write came after the big one: it wins
        assert.equal((await store.getDoc('orgs', 'd0'))?.value, '"after"');
        assert.equal((await store.getDoc('orgs', 'd4999'))?.value, JSON.stringify({ name: 'new4999' }));
        assert.equal(await store.getTemp('k'), 'v');
      } finally {
        await store.close();
      }
    });

    it('closed half way: the write rejects as unavailable and nothing of it is kept', async () => {
      const dir = freshDir();
      const store = openEmbeddedStore(dir);
      await store.write(docs(2000, '1', 'old'));
      const big = store.write(docs(10_000, '2', 'new'));
      setImmediate(() => void store.close());
      await assert.rejects(big, (e: Error) => e.name === 'StoreUnavailableError');
      const again = openEmbeddedStore(dir);
      try {
        const all = await again.listDocs('orgs');
        assert.equal(all.length, 2000);
        assert.ok(all.every((d) => d.version === '1' && d.value!.includes('old')));
        // and the file takes the next big write
        assert.ok((await again.write(docs(10_000, '2', 'new'))).every(Boolean));
        assert.equal((await again.listDocs('orgs')).length, 10_000);
      } finally {
        await again.close();
      }
    });

    it('a big write acknowledged before SIGKILL survives', async () => {
      const dir = freshDir();
      await killAfterAck(dir, `await store.write(Array.from({ length: 3000 }, (_, i) => ({ col: 'orgs', id: 'd' + i, version: '1', value: '"durable"' })));`);
      const store = openEmbeddedStore(dir);
      try {
        const all = await store.listDocs('orgs');
        assert.equal(all.length, 3000);
        assert.ok(all.every((d) => d.value === '"durable"'));
      } finally {
        await store.close();
      }
    });
  });
});

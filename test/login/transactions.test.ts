// Login transactions (src/login/transactions.ts) over real HTTP and a real store: remembered
// until the callback, taken once, and only in the browser whose pre-login cookie started them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { MemoryStore } from '../../src/store/memory.ts';
import { Transactions } from '../../src/login/transactions.ts';
import { keyspace } from '../../src/store/keyspace.ts';
import { Browser } from '../helpers/browser.ts';

describe('Transactions', () => {
  const store = new MemoryStore();
  const tx = new Transactions(store, 60, false);
  let server: Server;
  let origin = '';

  before(async () => {
    const app = express();
    // start?state=…&tenant=…: remembers a sign-in (by state when given, else by the cookie alone)
    app.get('/start', async (req, res) => {
      const state = typeof req.query.state === 'string' ? req.query.state : undefined;
      await tx.start(req, res, { protocol: state ? 'oauth' : 'cas', tenantId: typeof req.query.tenant === 'string' ? req.query.tenant : null, returnTo: '/back', ...(state ? { codeVerifier: `verifier-${state}` } : {}) }, state);
      res.json({ ok: true });
    });
    app.get('/by-state', async (req, res) => res.json(await tx.takeByState(req, String(req.query.state))));
    app.get('/by-cookie', async (req, res) => res.json(await tx.takeByCookie(req)));
    app.get('/clear', (_req, res) => {
      tx.clear(res);
      res.json({ ok: true });
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: err.name });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const json = async (b: Browser, path: string) => JSON.parse((await b.request(`${origin}${path}`)).body) as Record<string, unknown> | null;

  it('by state: taken once, with what the sign-in remembered', async () => {
    const b = new Browser();
    await json(b, '/start?state=s1&tenant=t-1');
    assert.match(b.cookie(origin, tx.cookieName) ?? '', /^[A-Za-z0-9_-]{43}$/, 'the pre-login cookie');
    const got = await json(b, '/by-state?state=s1');
    assert.equal(got?.tenantId, 't-1');
    assert.equal(got?.codeVerifier, 'verifier-s1');
    assert.equal(got?.returnTo, '/back');
    assert.equal(got?.protocol, 'oauth');
    assert.equal(typeof got?.startedAt, 'number');
    assert.equal(await json(b, '/by-state?state=s1'), null, 'a second callback finds nothing');
  });

  it('by state in another browser: refused, and spent (the state cannot be replayed where it started)', async () => {
    const mine = new Browser();
    const other = new Browser();
    await json(mine, '/start?state=s2&tenant=t-1');
    await json(other, '/start?state=other&tenant=t-1');
    assert.equal(await json(other, '/by-state?state=s2'), null);
    assert.equal(await json(mine, '/by-state?state=s2'), null);
    assert.equal(await json(new Browser(), '/by-state?state=other'), null, 'no cookie at all');
  });

  it('by cookie: the browser that started it finds it once; an over-long state is not looked up', async () => {
    const b = new Browser();
    await json(b, '/start?tenant=t-2');
    assert.equal(await json(new Browser(), '/by-cookie'), null);
    const got = await json(b, '/by-cookie');
    assert.equal(got?.tenantId, 't-2');
    assert.equal(got?.protocol, 'cas');
    assert.equal(await json(b, '/by-cookie'), null);
    assert.equal(await json(b, `/by-state?state=${'x'.repeat(129)}`), null);
  });

  it('one pre-login cookie per browser, kept across sign-ins; clear() removes it', async () => {
    const b = new Browser();
    await json(b, '/start?state=s3&tenant=t-1');
    const first = b.cookie(origin, tx.cookieName);
    await json(b, '/start?tenant=t-3');
    assert.equal(b.cookie(origin, tx.cookieName), first);
    assert.equal((await json(b, '/by-state?state=s3'))?.tenantId, 't-1');
    assert.equal((await json(b, '/by-cookie'))?.tenantId, 't-3');
    await json(b, '/clear');
    assert.equal(b.cookie(origin, tx.cookieName), undefined);
  });

  it('a value stored under a transaction key that is not a transaction is an error, not a sign-in', async () => {
    const b = new Browser();
    await json(b, '/start?state=s4&tenant=t-1');
    await store.putTemp(keyspace.loginByState.key('s4').key, JSON.stringify({ protocol: 'oauth' }), 60_000);
    const res = await b.request(`${origin}/by-state?state=s4`);
    assert.equal(res.status, 500);
    assert.equal(JSON.parse(res.body).error, 'KeyspaceValueError');
  });

  it('secure: the __Host- cookie name', () => {
    assert.equal(new Transactions(store, 60, true).cookieName, '__Host-bridge-tx');
    assert.equal(tx.cookieName, 'bridge.tx');
  });
});

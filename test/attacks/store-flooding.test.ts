// Attack: anonymous requests that write to the store. GET /login stores a sign-in transaction,
// /oidc/session/end a provider session, every refusal an audit row. Flooded from one address (or
// one tenant) they must stop at the limits, and what they leave behind must be bounded and swept.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildGateway, type TestGateway } from '../helpers/gateway.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore, tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';
import { auditCount, from, LIMITS_ON, seedTenant, tempKeys } from '../helpers/limits.ts';
import { AUDIT_MAX_ROWS, type AuditEvent } from '../../src/store/store.ts';
import type { EmbeddedStore } from '../../src/store/embedded.ts';
import type Database from 'better-sqlite3';

const PUBLIC = 'http://127.0.0.1:18080';
const OIDC = { clients: [{ client_id: 'app', client_secret: 'app-secret-0123456789abcdef', redirect_uris: ['http://127.0.0.1:18081/cb'] }] };

function gatewayWith(store: OpenedStore['store'], limits: Record<string, unknown>): Promise<TestGateway> {
  return buildGateway(store, { publicUrl: PUBLIC, limits: { ...LIMITS_ON, ...limits }, oidc: OIDC });
}

async function statuses(gw: TestGateway, path: string, ip: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(gw.app).get(path).set(from(ip))).status);
  return out;
}

const count = (xs: number[], status: number) => xs.filter((s) => s === status).length;

function floodSuite(kind: 'embedded' | 'redis', open: () => Promise<OpenedStore>, redis?: () => RedisServer | null): void {
  let opened: OpenedStore;
  const gateways: TestGateway[] = [];
  const gateway = async (limits: Record<string, unknown>) => {
    const gw = await gatewayWith(opened.store, limits);
    gateways.push(gw);
    return gw;
  };

  before(async () => {
    opened = await open();
    const seeder = await gateway({});
    await seedTenant(seeder, 't-acme', 'acme');
    // its own tenant for the per-tenant test: on Redis the counters outlive each gateway
    await seedTenant(seeder, 't-beta', 'beta');
    await seedTenant(seeder, 't-gamma', 'gamma');
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await opened.cleanup();
  });

  it('GET /login from one address stops at its limit with 429 + Retry-After; its transactions stop growing', async () => {
    const gw = await gateway({ login: { perClient: { points: 10, durationSec: 60 } } });
    const ip = '198.51.100.7';
    const before = (await tempKeys(opened.store, 'tx:')).length;
    const got = await statuses(gw, '/login?tenant=acme', ip, 25);
    assert.equal(count(got, 303), 10, got.join(' '));
    assert.equal(count(got, 429), 15, got.join(' '));
    assert.equal((await tempKeys(opened.store, 'tx:')).length - before, 10, 'only the admitted starts stored a transaction');

    const refused = await request(gw.app).get('/login?tenant=acme').set(from(ip)).set('accept', 'application/json');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60, refused.headers['retry-after']);
    assert.equal(refused.body.error, 'rate_limited');
    const page = await request(gw.app).get('/login?tenant=acme').set(from(ip));
    assert.match(page.headers['content-type'] ?? '', /text\/html/);
    assert.match(await gw.metrics.render(), /bridge_rate_limited_total\{limit="login"\} \d+/);

    // positive control: someone else is not affected
    const other = await request(gw.app).get('/login?tenant=acme').set(from('198.51.100.8'));
    assert.equal(other.status, 303);
    assert.match(other.headers.location ?? '', /\/api\/v1\/oauth2\/authorize\?/);
  });

  it('the transactions one address holds are capped for their lifetime, however slowly they come', async () => {
    const gw = await gateway({ transactionsPerClient: 8 });
    const got = await statuses(gw, '/login?tenant=acme', '198.51.100.20', 12);
    assert.equal(count(got, 303), 8, got.join(' '));
    const refused = await request(gw.app).get('/login?tenant=acme').set(from('198.51.100.20'));
    assert.equal(refused.status, 429);
    // the window is the transaction lifetime (login.transactionTtlSec, 600 s by default)
    assert.ok(Number(refused.headers['retry-after']) > 60, refused.headers['retry-after']);
    assert.equal((await request(gw.app).get('/login?tenant=acme').set(from('198.51.100.21'))).status, 303);
  });

  it('many addresses against one tenant stop at the per-tenant limit; other tenants are unaffected', async () => {
    const gw = await gateway({ login: { perTenant: { points: 5, durationSec: 60 } } });
    const got: number[] = [];
    for (let i = 0; i < 9; i++) got.push((await request(gw.app).get('/login?tenant=beta').set(from(`203.0.113.${i + 1}`))).status);
    assert.equal(count(got, 303), 5, got.join(' '));
    assert.equal(count(got, 429), 4, got.join(' '));
    assert.equal((await request(gw.app).get('/login?tenant=gamma').set(from('203.0.113.49'))).status, 303);
    // a company chooser visit names no tenant and is not held back by acme's limit
    assert.equal((await request(gw.app).get('/login').set(from('203.0.113.50'))).status, 200);
  });

  it('anonymous OIDC state: /oidc/session/end is rate limited, and the provider session it leaves lives minutes, not 24 h', async () => {
    const gw = await gateway({ oidc: { perClient: { points: 3, durationSec: 60 } } });
    const got = await statuses(gw, '/oidc/session/end', '198.51.100.30', 5);
    assert.equal(count(got, 200), 3, got.join(' '));
    assert.equal(count(got, 429), 2, got.join(' '));
    const sessions = await tempKeys(opened.store, 'oidc:Session:');
    assert.ok(sessions.length >= 1, 'the end-session page stored a provider session');
    for (const s of sessions) assert.ok(s.ttlMs <= 600_000, `an anonymous provider session lives ${s.ttlMs} ms`);
    const auth = await statuses(gw, '/oidc/auth?client_id=app&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A18081%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256', '198.51.100.30', 1);
    assert.deepEqual(auth, [429], 'the same budget covers /oidc/auth');
    for (const i of await tempKeys(opened.store, 'oidc:Interaction:')) assert.ok(i.ttlMs <= 600_000, `an interaction lives ${i.ttlMs} ms`);
    // positive control: discovery and another address are fine
    assert.equal((await request(gw.app).get('/oidc/.well-known/openid-configuration').set(from('198.51.100.30'))).status, 200);
    assert.equal((await request(gw.app).get('/oidc/session/end').set(from('198.51.100.31'))).status, 200);
  });

  it('refusals are rate limited too, so their audit rows cannot be written at any rate', async () => {
    const gw = await gateway({ login: { perClient: { points: 4, durationSec: 60 } } });
    const before = await auditCount(opened.store);
    const got = await statuses(gw, '/login?tenant=no-such-company', '198.51.100.40', 10);
    assert.equal(count(got, 404) + count(got, 400) + count(got, 403), 4, got.join(' '));
    assert.equal(count(got, 429), 6, got.join(' '));
    assert.equal((await auditCount(opened.store)) - before, 4);
    // the switch page's answer, posted without a session, is a refusal too, under the same limit
    const posted = await request(gw.app).post('/login').set(from('198.51.100.40')).type('form').send({ switch: 'x', choice: 'continue' });
    assert.equal(posted.status, 429);
    assert.equal((await auditCount(opened.store)) - before, 4);
    assert.equal((await request(gw.app).post('/login').set(from('198.51.100.41')).type('form').send({ switch: 'x' })).status, 400, 'positive control: another address gets the refusal itself');
  });

  if (kind === 'redis') {
    it('on Redis the counters are shared: two gateway instances together admit the limit once', async () => {
      const limits = { login: { perClient: { points: 6, durationSec: 60 } } };
      const [a, b] = [await gateway(limits), await gateway(limits)];
      const got = [...(await statuses(a, '/login?tenant=acme', '198.51.100.60', 5)), ...(await statuses(b, '/login?tenant=acme', '198.51.100.60', 5))];
      assert.equal(count(got, 303), 6, got.join(' '));
      assert.equal(count(got, 429), 4, got.join(' '));
    });
  }

  if (kind === 'redis') {
    it('with Redis down the limits count in the process: answers come at once, and still stop at the limit', async () => {
      const gw = await gateway({ login: { perClient: { points: 3, durationSec: 60 } } });
      redis!()!.kill();
      try {
        const got = await statuses(gw, '/login?tenant=acme', '198.51.100.70', 5);
        // the store is down too, so the admitted ones get the retry page
        assert.deepEqual(got, [503, 503, 503, 429, 429]);
      } finally {
        await redis!()!.restart();
      }
      // the store reconnects by itself
      let ready = 0;
      for (let i = 0; i < 50 && ready !== 200; i++) {
        ready = (await request(gw.app).get('/readyz')).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready, 200);
    });
  }

  if (kind === 'embedded') {
    it('the sweeper removes any backlog of expired rows (it stopped at 10,000 a minute), in slices', async () => {
      const store = opened.store as EmbeddedStore;
      const db = (store as unknown as { db: Database.Database }).db;
      const insert = db.prepare('INSERT INTO temps (key, value, expires_at) VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let i = 0; i < 30_000; i++) insert.run(`tx:expired-${i}`, 'x', Date.now() - 1000);
      })();
      const expired = () => db.prepare<[], { n: number }>("SELECT count(*) AS n FROM temps WHERE key LIKE 'tx:expired-%'").get()!.n;
      assert.equal(store.sweep(0), false, 'a zero budget does one batch and reports more to do');
      assert.ok(expired() < 30_000 && expired() > 0);
      assert.equal(store.sweep(), true);
      assert.equal(expired(), 0);
      assert.ok((await tempKeys(store, 'tx:')).length > 0, 'live transactions stay');
    });

    it('the audit log keeps the newest rows up to its bound', async () => {
      const store = opened.store as EmbeddedStore;
      const event = (i: number): AuditEvent => ({ at: new Date().toISOString(), actor: 'browser', action: 'login.refused', target: `t/${i}`, detail: { i } });
      const extra = 1500;
      const total = AUDIT_MAX_ROWS + extra - (await auditCount(store));
      for (let done = 0; done < total; done += 20_000) await store.write([], Array.from({ length: Math.min(20_000, total - done) }, (_, k) => event(done + k)));
      assert.ok((await auditCount(store)) > AUDIT_MAX_ROWS);
      store.sweep();
      assert.equal(await auditCount(store), AUDIT_MAX_ROWS);
      const [newest] = await store.listAudit(1);
      assert.equal(newest?.target, `t/${total - 1}`, 'the newest row is kept');
    });
  }
}

describe('store flooding (embedded store)', () => floodSuite('embedded', async () => tempEmbeddedStore('flood')));

describe('store flooding (redis store)', requireBinary('redis-server', 'apt-get install -y redis-server'), () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  floodSuite('redis', () => prefixedRedisStore(redis, 'flood'), () => redis);
  // after the suite's own clean-up, which still talks to Redis
  after(() => redis?.stop());
});

// The sync receiver over real HTTP (supertest), run against every store adapter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Store } from '../../src/store/store.ts';
import { appAad, col } from '../../src/directory/model.ts';
import { deriveKey, SecretBox } from '../../src/directory/secret-box.ts';
import { buildGateway, rsaVectors, signedHeaders, timeStampAt, type TestGateway } from '../helpers/gateway.ts';

type Body = Record<string, unknown>;

const V3072 = rsaVectors.keys.find((k) => k.modulus_bits === 3072)!;
const goodVector = V3072.vectors.find((v) => v.name === 'typical_hex_secret')! as { ciphertext_b64: string; plaintext: string };
const badVector = V3072.vectors.find((v) => v.name === 'negative_mgf1_sha256')! as { ciphertext_b64: string };

let seq = 0;
/** a fresh, strictly increasing timeStamp */
function ts(offsetMs = 0): string {
  seq += 1;
  return timeStampAt(Date.UTC(2026, 0, 1) + seq * 1000 + offsetMs);
}

/**
 * A store of its own that the test can take away half way through a big push (embedded: closed;
 * Redis: its server killed), then open again on the same data.
 */
export interface Outage {
  store: Store;
  /** the store goes away now */
  breakNow(): void;
  /** the same data, reachable again */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

export function syncSuite(name: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>, outage?: () => Promise<Outage>): void {
  describe(`sync receiver over HTTP (${name} store)`, () => {
    let gw: TestGateway;
    let store: Store;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ store, cleanup } = await open());
      gw = await buildGateway(store);
    });
    after(async () => {
      await gw.close();
      await cleanup();
    });

    async function send(kind: string, body: Body | string, opts: { headers?: Record<string, string>; app?: TestGateway } = {}) {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const res = await request((opts.app ?? gw).app)
        .post(`/produceAPI/v2/${kind}`)
        .set({ ...signedHeaders(raw), ...opts.headers })
        .send(raw);
      return res;
    }

    async function ok(kind: string, body: Body | string) {
      const res = await send(kind, body);
      assert.equal(res.status, 200);
      assert.equal(res.body.resultCode, '000000', `${kind}: ${res.body.resultMsg}`);
      return res;
    }

    const tenant = (over: Body = {}): Body => ({
      instanceId: 'inst-1',
      orderId: 'CS0001',
      tenantId: 't-acme',
      tenantCode: 'acme',
      name: 'ACME',
      domainName: 'https://acme.example-oneaccess.com',
      flag: 1,
      testFlag: 0,
      timeStamp: ts(),
      ...over,
    });

    it('tenantSync add stores the tenant, findable by id and by code', async () => {
      await ok('tenantSync', tenant());
      const t = await gw.directory.findTenant('prod', 'acme');
      assert.equal(t?.tenantId, 't-acme');
      assert.equal(t?.domainName, 'https://acme.example-oneaccess.com');
      assert.equal((await gw.directory.findTenant('prod', 't-acme'))?.name, 'ACME');
    });

    it('a repeated add creates nothing new; an older modify never overwrites a newer one', async () => {
      const newer = ts();
      await ok('tenantSync', tenant({ name: 'ACME Newer', flag: 2, timeStamp: newer }));
      await ok('tenantSync', tenant({ name: 'ACME Newer', flag: 2, timeStamp: newer }));
      const res = await ok('tenantSync', tenant({ name: 'ACME Older', flag: 2, timeStamp: timeStampAt(Date.UTC(2025, 0, 1)) }));
      assert.match(res.body.resultMsg, /older/);
      assert.equal((await gw.directory.getTenant('prod', 't-acme'))?.name, 'ACME Newer');
      assert.equal((await store.listDocs(col.tenant('prod'))).filter((d) => d.id === 't-acme').length, 1);
    });

    it('delete is idempotent and a late older add does not resurrect the tenant', async () => {
      const delTs = ts();
      await ok('tenantSync', { tenantId: 't-gone', flag: 1, testFlag: 0, tenantCode: 'gone', name: 'Gone', domainName: 'gone.example.com', timeStamp: ts(-5000) });
      await ok('tenantSync', { instanceId: 'i', tenantId: 't-gone', flag: 0, testFlag: 0, timeStamp: delTs });
      await ok('tenantSync', { instanceId: 'i', tenantId: 't-gone', flag: 0, testFlag: 0, timeStamp: delTs });
      await ok('tenantSync', { instanceId: 'i', tenantId: 'never-existed', flag: 0, testFlag: 0, timeStamp: ts() });
      await ok('tenantSync', { tenantId: 't-gone', flag: 1, testFlag: 0, tenantCode: 'gone', name: 'Gone', domainName: 'gone.example.com', timeStamp: timeStampAt(Date.UTC(2025, 5, 1)) });
      assert.equal(await gw.directory.getTenant('prod', 't-gone'), null);
      assert.equal(await gw.directory.findTenant('prod', 'gone'), null);
    });

    it('debug pushes (testFlag 1) are answered like the others and kept apart from production', async () => {
      await ok('tenantSync', tenant({ tenantId: 't-debug', tenantCode: 'dbg', testFlag: 1, instanceId: '', orderId: '' }));
      assert.equal(await gw.directory.getTenant('prod', 't-debug'), null);
      assert.equal((await gw.directory.getTenant('debug', 't-debug'))?.tenantCode, 'dbg');
    });

    it('applicationSync decrypts the client secret and stores it sealed, never in clear', async () => {
      await ok('applicationSync', { instanceId: 'inst-1', tenantId: 't-acme', appId: 'app-1', clientId: 'client-1', clientSecret: goodVector.ciphertext_b64, flag: 1, testFlag: 0, timeStamp: ts() });
      const app = await gw.directory.getApp('prod', 't-acme', 'app-1');
      assert.ok(app);
      assert.equal(app.clientId, 'client-1');
      const doc = await store.getDoc(col.app('prod', 't-acme'), 'app-1');
      assert.ok(!doc!.value!.includes(goodVector.plaintext), 'plaintext secret must not be stored');
      const box = new SecretBox(deriveKey(gw.settings.sessionSecret, 'at-rest'));
      assert.equal(box.open(app.clientSecretSealed, appAad('prod', 't-acme', 'app-1')), goodVector.plaintext);
      const audit = JSON.stringify(await store.listAudit(50));
      assert.ok(!audit.includes(goodVector.ciphertext_b64) && !audit.includes(goodVector.plaintext));
    });

    it('applicationSync: a bad ciphertext answers 000101; a bad signature is judged first (000001)', async () => {
      const body = { instanceId: 'inst-1', tenantId: 't-acme', appId: 'app-2', clientId: 'c', clientSecret: badVector.ciphertext_b64, flag: 1, testFlag: 0, timeStamp: ts() };
      const res = await send('applicationSync', body);
      assert.equal(res.body.resultCode, '000101');
      const forged = await send('applicationSync', body, { headers: { 'x-sign': 'ab'.repeat(32) } });
      assert.equal(forged.body.resultCode, '000001');
      const missing = await send('applicationSync', { ...body, clientSecret: undefined, timeStamp: ts() });
      assert.equal(missing.body.resultCode, '000101');
      assert.equal(await gw.directory.getApp('prod', 't-acme', 'app-2'), null);
    });

    it('applicationSync delete removes the app and repeats as success', async () => {
      await ok('applicationSync', { instanceId: 'inst-1', tenantId: 't-acme', appId: 'app-3', clientId: 'c3', clientSecret: goodVector.ciphertext_b64, flag: 1, testFlag: 0, timeStamp: ts() });
      const del = { instanceId: 'inst-1', tenantId: 't-acme', appId: 'app-3', flag: 0, testFlag: 0, timeStamp: ts() };
      await ok('applicationSync', del);
      await ok('applicationSync', del);
      assert.equal(await gw.directory.getApp('prod', 't-acme', 'app-3'), null);
    });

    const user = (userName: string, over: Body = {}): Body => ({ userName, name: `Name ${userName}`, orgCode: '10', role: 'user', enable: 'true', email: `${userName}@example.com`, ...over });
    const auth = (flag: number, users: unknown, over: Body = {}): Body => ({ instanceId: 'inst-1', tenantId: 't-acme', appId: 'app-1', userList: users, currentSyncTime: ts(), flag, testFlag: 0, timeStamp: ts(), ...over });

    it('authSync add, rename, delete, re-add: the account id (sub) never changes', async () => {
      await ok('authSync', auth(1, [user('zhangsan'), user('lisi', { role: 'admin' })]));
      const first = await gw.directory.getUser('prod', 't-acme', 'zhangsan');
      assert.ok(first?.enabled);
      assert.equal((await gw.directory.getUser('prod', 't-acme', 'lisi'))?.role, 'admin');
      await ok('authSync', auth(2, [user('zhangsan', { name: '张三' })]));
      const renamed = await gw.directory.getUser('prod', 't-acme', 'zhangsan');
      assert.equal(renamed?.name, '张三');
      assert.equal(renamed?.sub, first!.sub);
      await ok('authSync', auth(0, [{ userName: 'zhangsan' }]));
      assert.equal(await gw.directory.getUser('prod', 't-acme', 'zhangsan'), null);
      await ok('authSync', auth(0, [{ userName: 'zhangsan' }]));
      await ok('authSync', auth(1, [user('zhangsan')]));
      assert.equal((await gw.directory.getUser('prod', 't-acme', 'zhangsan'))?.sub, first!.sub);
      assert.notEqual((await gw.directory.getUser('prod', 't-acme', 'lisi'))?.sub, first!.sub);
    });

    it('authSync cancel (flag 3) and enable "false" keep the record but mark it', async () => {
      await ok('authSync', auth(1, [user('wangwu'), user('zhaoliu')]));
      await ok('authSync', auth(3, [{ userName: 'wangwu' }]));
      await ok('authSync', auth(2, [user('zhaoliu', { enable: 'false' })]));
      const w = await gw.directory.getUser('prod', 't-acme', 'wangwu');
      assert.equal(w?.cancelled, true);
      assert.equal(w?.name, 'Name wangwu');
      assert.equal((await gw.directory.getUser('prod', 't-acme', 'zhaoliu'))?.enabled, false);
    });

    it('authSync accepts userList as a JSON string, numeric-string flags and extension fields', async () => {
      const list = JSON.stringify([user('qianqi', { extension: { employeeType: 2, workPlace: 'Shenzhen', entryDate: '2024-3-1' } })]);
      await ok('authSync', auth(1, list, { flag: '1', testFlag: '0' }));
      const u = await gw.directory.getUser('prod', 't-acme', 'qianqi');
      assert.equal(u?.employeeType, 2);
      assert.equal(u?.workPlace, 'Shenzhen');
      assert.equal(u?.entryDate, '2024-3-1');
    });

    it('authSync with 500 users fits the default body limit and applies atomically', async () => {
      const users = Array.from({ length: 500 }, (_, i) => user(`bulk${String(i).padStart(3, '0')}`, { name: `批量用户${i}`, position: 'Engineer', workPlace: '深圳市南山区科技园'.repeat(4) }));
      await ok('authSync', auth(1, users));
      assert.equal((await gw.directory.listUsers('prod', 't-acme')).filter((u) => u.userName.startsWith('bulk')).length, 500);
    });

    it('invalid messages answer 000002 naming the field', async () => {
      const cases: Array<[string, Body, RegExp]> = [
        ['authSync', auth(1, [user('x', { enable: 'maybe' })]), /userList\[0\]\.enable/],
        ['authSync', auth(7, [user('x')]), /flag must be one of/],
        ['authSync', auth(1, [user('x'), user('x')]), /userList\[1\]\.userName appears twice/],
        ['authSync', auth(1, [user('x', { role: 'root' })]), /userList\[0\]\.role/],
        ['authSync', auth(1, 42), /userList must be an array/],
        ['tenantSync', tenant({ domainName: 'https://user:pw@evil.example.com' }), /domainName/],
        ['tenantSync', tenant({ tenantId: undefined }), /tenantId is required/],
        ['tenantSync', tenant({ timeStamp: '2026-01-01' }), /timeStamp must be 17 digits/],
        ['tenantSync', tenant({ timeStamp: '20261399000000000' }), /timeStamp is not a real date/],
        ['tenantSync', tenant({ tenantCode: 'x'.repeat(65) }), /tenantCode must be at most 64/],
        ['singleOrgSync', { tenantId: 't-acme', orgCode: 'o1', flag: 1, testFlag: 0, timeStamp: ts() }, /orgName is required/],
        ['allOrgSync', { tenantId: 't-acme', orgInfoList: [{ orgName: 'x' }], testFlag: 0, timeStamp: ts() }, /orgInfoList\[0\]\.orgCode is required/],
      ];
      for (const [kind, body, re] of cases) {
        const res = await send(kind, body);
        assert.equal(res.status, 200);
        assert.equal(res.body.resultCode, '000002', `${kind} ${JSON.stringify(body).slice(0, 80)}`);
        assert.match(res.body.resultMsg, re);
      }
    });

    it('singleOrgSync add, move, rename, delete; null and empty parentCode; name alias', async () => {
      await ok('singleOrgSync', { instanceId: 'i', tenantId: 't-acme', orgCode: 'd1', orgName: '研发部', parentCode: null, flag: 1, testFlag: 0, timeStamp: ts() });
      await ok('singleOrgSync', { instanceId: 'i', tenantId: 't-acme', orgCode: 'd2', name: 'QA', parentCode: '', flag: 1, testFlag: 0, timeStamp: ts() });
      await ok('singleOrgSync', { instanceId: 'i', tenantId: 't-acme', orgCode: 'd2', orgName: 'Quality', parentCode: 'd1', flag: 2, testFlag: 0, timeStamp: ts() });
      let orgs = await gw.directory.listOrgs('prod', 't-acme');
      assert.deepEqual(orgs.find((o) => o.orgCode === 'd2'), { tenantId: 't-acme', orgCode: 'd2', orgName: 'Quality', parentCode: 'd1', version: orgs.find((o) => o.orgCode === 'd2')!.version });
      await ok('singleOrgSync', { instanceId: 'i', tenantId: 't-acme', orgCode: 'd2', flag: 0, testFlag: 0, timeStamp: ts() });
      orgs = await gw.directory.listOrgs('prod', 't-acme');
      assert.deepEqual(orgs.map((o) => o.orgCode), ['d1']);
    });

    it('allOrgSync is a full snapshot (array and string form)', async () => {
      await ok('allOrgSync', { instanceId: 'i', tenantId: 't-snap', orgInfoList: [{ orgCode: 'a', orgName: 'A' }, { orgCode: 'b', orgName: 'B', parentCode: 'a' }], testFlag: 0, timeStamp: ts() });
      await ok('allOrgSync', { instanceId: 'i', tenantId: 't-snap', flag: 1, orgInfoList: "[{orgCode:'b',orgName:'B2'},{orgCode:'c',name:'C',parentCode:'b'}]", testFlag: 0, timeStamp: ts() });
      const orgs = (await gw.directory.listOrgs('prod', 't-snap')).sort((x, y) => (x.orgCode < y.orgCode ? -1 : 1));
      assert.deepEqual(orgs.map((o) => [o.orgCode, o.orgName, o.parentCode]), [['b', 'B2', ''], ['c', 'C', 'b']]);
    });

    it('every accepted change leaves an audit record without secrets', async () => {
      const events = await store.listAudit(500);
      const actions = new Set(events.map((e) => e.action));
      for (const a of ['tenant.upsert', 'tenant.delete', 'app.upsert', 'users.apply', 'org.upsert', 'orgs.replace']) assert.ok(actions.has(a), `missing audit action ${a}`);
      assert.ok(events.every((e) => e.actor === 'marketplace' && !Number.isNaN(Date.parse(e.at))));
    });

    describe('big pushes (within the body limit, verified in a worker)', () => {
      const bigUsers = (n: number, tag: string) =>
        Array.from({ length: n }, (_, u) => ({ userName: `emp${String(u).padStart(5, '0')}`, name: `员工${u}${tag}`, orgCode: `d${u % 500}`, role: u % 50 === 0 ? 'admin' : 'user', enable: 'true', email: `emp${u}@bigcorp.example.com` }));
      const bigOrgs = (n: number, tag: string) => Array.from({ length: n }, (_, d) => ({ orgCode: `d${d}`, orgName: `部门${d}${tag}`, parentCode: d === 0 ? '' : `d${Math.floor((d - 1) / 10)}` }));
      const orgPush = (tenantId: string, list: unknown[], timeStamp = ts()) => ({ instanceId: 'i-big', tenantId, orgInfoList: list, testFlag: 0, timeStamp });

      it('authSync of 5,000 users applies every user exactly', async () => {
        const body = auth(1, bigUsers(5000, ''), { tenantId: 't-big' });
        assert.ok(JSON.stringify(body).length > gw.settings.limits.largePush.bytes, 'the body must take the worker path');
        await ok('authSync', body);
        const users = await gw.directory.listUsers('prod', 't-big');
        assert.equal(users.length, 5000);
        const u = users.find((x) => x.userName === 'emp04350')!;
        assert.deepEqual(
          { name: u.name, orgCode: u.orgCode, role: u.role, enabled: u.enabled, email: u.email, cancelled: u.cancelled, sub: u.sub },
          { name: '员工4350', orgCode: 'd350', role: 'admin', enabled: true, email: 'emp4350@bigcorp.example.com', cancelled: false, sub: gw.directory.accountId('prod', 't-big', 'emp04350') },
        );
        assert.equal(users.filter((x) => x.role === 'admin').length, 100);
      });

      it('allOrgSync of 10,000 departments is an exact snapshot, twice', async () => {
        await ok('allOrgSync', orgPush('t-bigorg', bigOrgs(10_000, '')));
        let orgs = await gw.directory.listOrgs('prod', 't-bigorg');
        assert.equal(orgs.length, 10_000);
        assert.equal(orgs.find((o) => o.orgCode === 'd9999')?.parentCode, 'd999');
        // the next snapshot lists 9,000 of them, renamed: the other 1,000 go
        await ok('allOrgSync', orgPush('t-bigorg', bigOrgs(9000, '-2')));
        orgs = await gw.directory.listOrgs('prod', 't-bigorg');
        assert.equal(orgs.length, 9000);
        assert.ok(orgs.every((o) => o.orgName.endsWith('-2') && Number(o.orgCode.slice(1)) < 9000));
      });

      it('an invalid big push answers 000002 naming the field, and changes nothing', async () => {
        const list = bigOrgs(10_000, '-bad');
        list[9999] = { ...list[9999]!, orgCode: 'd5' };
        const res = await send('allOrgSync', orgPush('t-bigorg', list));
        assert.equal(res.body.resultCode, '000002');
        assert.match(res.body.resultMsg, /orgInfoList\[9999\]\.orgCode appears twice/);
        const orgs = await gw.directory.listOrgs('prod', 't-bigorg');
        assert.equal(orgs.length, 9000);
        assert.ok(!orgs.some((o) => o.orgName.endsWith('-bad')));
      });

      // only where the store can be taken away (not the memory store, not the Cluster set): not
      // registered elsewhere, so a skip in the report always means a missing binary
      if (outage) it('a big push the store loses half way is not answered 000000, and leaves all or nothing', { timeout: 120_000 }, async () => {
        const o = await outage();
        let after: Store | null = null;
        try {
          const first = await buildGateway(o.store);
          const raw = JSON.stringify(orgPush('t-lost', bigOrgs(10_000, '-v1')));
          assert.equal((await request(first.app).post('/produceAPI/v2/allOrgSync').set(signedHeaders(raw)).send(raw)).body.resultCode, '000000');
          // the store goes away as soon as the push's big write has begun
          const write = o.store.write.bind(o.store);
          o.store.write = (writes, audit) => {
            const p = write(writes, audit);
            if (writes.length >= 1000) setImmediate(() => o.breakNow());
            return p;
          };
          const v2 = JSON.stringify(orgPush('t-lost', bigOrgs(10_000, '-v2')));
          const res = await request(first.app).post('/produceAPI/v2/allOrgSync').set(signedHeaders(v2)).send(v2);
          assert.equal(res.status, 200);
          assert.equal(res.body.resultCode, '000005', res.body.resultMsg);
          await first.close().catch(() => undefined);

          after = await o.reopen();
          const stored = (await after.listDocs(col.org('prod', 't-lost'))).map((d) => JSON.parse(d.value!) as { orgName: string });
          assert.equal(stored.length, 10_000);
          assert.equal(stored.filter((x) => x.orgName.endsWith('-v1')).length, 10_000, 'a part of the lost push was kept');
          // the marketplace's retry applies it whole
          const second = await buildGateway(after);
          const retry = await request(second.app).post('/produceAPI/v2/allOrgSync').set(signedHeaders(v2)).send(v2);
          assert.equal(retry.body.resultCode, '000000', retry.body.resultMsg);
          const again = (await after.listDocs(col.org('prod', 't-lost'))).map((d) => JSON.parse(d.value!) as { orgName: string });
          assert.equal(again.filter((x) => x.orgName.endsWith('-v2')).length, 10_000);
          await second.close();
        } finally {
          await after?.close();
          await o.cleanup();
        }
      });
    });

    describe('bad input never crashes and always gets a result code', () => {
      const body = () => JSON.stringify(tenant({ tenantId: 't-bad' }));

      it('malformed JSON, a JSON array, an empty body, trailing comma', async () => {
        for (const raw of ['{"tenantId": ', '[1,2]', '', '{"a":1,}', 'null', '"str"']) {
          // such bodies cannot be signed; the gateway must refuse them before looking at x-sign
          const h = { ...signedHeaders('{}'), 'x-sign': 'ab'.repeat(32) };
          const res = await request(gw.app).post('/produceAPI/v2/tenantSync').set(h).send(raw);
          assert.equal(res.status, 200, raw);
          assert.equal(res.body.resultCode, '000002', raw);
        }
      });

      it('wrong or missing content type', async () => {
        const raw = body();
        const res = await request(gw.app).post('/produceAPI/v2/tenantSync').set({ ...signedHeaders(raw), 'content-type': 'text/plain' }).send(raw);
        assert.equal(res.body.resultCode, '000002');
        assert.match(res.body.resultMsg, /Content-Type/);
      });

      it('header problems map to the sample codes', async () => {
        const raw = body();
        const h = signedHeaders(raw);
        const now = Date.now();
        const variants: Array<[Record<string, string | undefined>, string, RegExp]> = [
          [{ 'x-timestamp': undefined }, '000002', /x-timestamp header is missing/],
          [{ 'x-timestamp': 'yesterday' }, '000002', /epoch milliseconds/],
          [{ 'x-timestamp': String(now - 61_000) }, '000002', /old/],
          [{ 'x-timestamp': String(now + 120_000) }, '000002', /future/],
          [{ 'x-nonce': undefined }, '000002', /x-nonce/],
          [{ 'x-sign': undefined }, '000001', /x-sign header is missing/],
          [{ 'x-sign': 'ab'.repeat(32) }, '000001', /does not match/],
          [{ 'x-sign': 'zz' }, '000001', /64 hex digits/],
        ];
        for (const [change, code, re] of variants) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries({ ...h, ...change })) if (v !== undefined) headers[k] = v;
          const res = await request(gw.app).post('/produceAPI/v2/tenantSync').set(headers).send(raw);
          assert.equal(res.status, 200);
          assert.equal(res.body.resultCode, code, JSON.stringify(change));
          assert.match(res.body.resultMsg, re);
        }
      });

      it('upper-case x-sign is accepted; a replayed nonce is refused', async () => {
        const raw = body();
        const h = signedHeaders(raw);
        const first = await request(gw.app).post('/produceAPI/v2/tenantSync').set({ ...h, 'x-sign': h['x-sign']!.toUpperCase() }).send(raw);
        assert.equal(first.body.resultCode, '000000');
        const replay = await request(gw.app).post('/produceAPI/v2/tenantSync').set(h).send(raw);
        assert.equal(replay.body.resultCode, '000001');
        assert.match(replay.body.resultMsg, /already used/);
      });

      it('a body over the limit answers 000002 with HTTP 200', async () => {
        const small = await buildGateway(store, { marketplace: { maxBodyBytes: 4096 } });
        const raw = JSON.stringify(tenant({ name: 'x'.repeat(10_000) }));
        const res = await request(small.app).post('/produceAPI/v2/tenantSync').set(signedHeaders(raw)).send(raw);
        assert.equal(res.status, 200);
        assert.equal(res.body.resultCode, '000002');
        assert.match(res.body.resultMsg, /exceeds 4096 bytes/);
      });

      it('unknown endpoint is a 404 with a result code; GET is a 405', async () => {
        const res = await request(gw.app).post('/produceAPI/v2/newInstance').set(signedHeaders('{}')).send('{}');
        assert.equal(res.status, 404);
        assert.equal(res.body.resultCode, '000002');
        const get = await request(gw.app).get('/produceAPI/v2/tenantSync');
        assert.equal(get.status, 405);
      });

      it('without a kit access key every call answers 000001', async () => {
        const nokey = await buildGateway(store, { marketplace: { kitAccessKey: '' } });
        const raw = body();
        const res = await request(nokey.app).post('/produceAPI/v2/tenantSync').set(signedHeaders(raw)).send(raw);
        assert.equal(res.body.resultCode, '000001');
      });

      it('a configured path prefix moves the endpoints', async () => {
        const pre = await buildGateway(store, { marketplace: { syncPathPrefix: '/isv/produce' } });
        const raw = JSON.stringify(tenant({ tenantId: 't-prefix', tenantCode: 'prefix' }));
        const res = await request(pre.app).post('/isv/produce/produceAPI/v2/tenantSync').set(signedHeaders(raw)).send(raw);
        assert.equal(res.body.resultCode, '000000');
        assert.equal((await request(pre.app).post('/produceAPI/v2/tenantSync').set(signedHeaders(raw)).send(raw)).status, 404);
      });
    });
  });
}

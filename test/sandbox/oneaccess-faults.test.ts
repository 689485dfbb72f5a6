// Fault switches and counters of the OneAccess sandbox.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { authorizeUrl, CAS_SERVICE, CLIENT_ID, redeem, startFixture, str, userinfo, type Fixture } from './helpers.ts';

describe('OneAccess sandbox: faults', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  afterEach(() => fx.sandbox.setFault(null));
  after(() => fx.sandbox.close());

  const code = (): string => fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' });
  const accessToken = async (): Promise<string> => str((await redeem(fx.a.origin, code())).body.access_token);

  test("'slow' delays only the chosen endpoint and does not block other requests", async () => {
    const access = await accessToken();
    fx.sandbox.setFault({ endpoint: 'token', kind: 'slow', delayMs: 300 });
    const started = Date.now();
    let tokenDone = 0;
    const slow = redeem(fx.a.origin, code()).then((res) => {
      tokenDone = Date.now();
      return res;
    });
    const fast = await userinfo(fx.a.origin, access);
    assert.equal(fast.status, 200);
    assert.equal(tokenDone, 0, 'userinfo answered while the token request was still held');
    assert.equal((await slow).status, 200);
    assert.ok(tokenDone - started >= 290, `held ${tokenDone - started} ms`);
  });

  test("'500' answers HTTP 500 and the call is still counted", async () => {
    fx.sandbox.resetCounters();
    fx.sandbox.setFault({ endpoint: 'token', kind: '500' });
    const c = code();
    assert.equal((await redeem(fx.a.origin, c)).status, 500);
    assert.equal(fx.sandbox.counters('t-a').calls.token, 1);
    fx.sandbox.setFault(null);
    assert.equal((await redeem(fx.a.origin, c)).status, 200, 'a faulted request never reached the code');
  });

  test("'non-json' answers 200 with an HTML page", async () => {
    const access = await accessToken();
    fx.sandbox.setFault({ endpoint: 'userinfo', kind: 'non-json' });
    const res = await fetch(`${fx.a.origin}/api/v1/oauth2/userinfo`, { headers: { authorization: `Bearer ${access}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    await assert.rejects(res.json());
  });

  test("'oversized' sends a multi-megabyte body", async () => {
    fx.sandbox.setFault({ endpoint: 'cas-validate', kind: 'oversized' });
    const res = await fetch(`${fx.a.origin}/api/v1/cas/p3/serviceValidate?service=${encodeURIComponent(CAS_SERVICE)}&ticket=ST-x`);
    assert.equal(res.status, 200);
    assert.ok((await res.arrayBuffer()).byteLength > 4 * 1024 * 1024);
  });

  test("'close' destroys the socket", async () => {
    fx.sandbox.setFault({ endpoint: 'token', kind: 'close' });
    await assert.rejects(redeem(fx.a.origin, code()), TypeError);
  });

  test("'*' matches every endpoint; tenantId and times narrow a fault", async () => {
    fx.sandbox.setFault({ endpoint: '*', tenantId: 't-b', kind: '500', times: 1 });
    assert.equal((await fetch(authorizeUrl(fx.a.origin), { redirect: 'manual' })).status, 200, 'other tenant unaffected');
    assert.equal((await fetch(authorizeUrl(fx.b.origin), { redirect: 'manual' })).status, 500);
    assert.equal((await fetch(authorizeUrl(fx.b.origin), { redirect: 'manual' })).status, 200, 'used up after one request');
  });

  test('counters are per tenant and summed without a tenantId', async () => {
    fx.sandbox.resetCounters();
    await fetch(authorizeUrl(fx.a.origin), { redirect: 'manual' });
    await fetch(authorizeUrl(fx.b.origin), { redirect: 'manual' });
    await fetch(authorizeUrl(fx.b.origin), { redirect: 'manual' });
    assert.equal(fx.sandbox.counters('t-a').calls.authorize, 1);
    assert.equal(fx.sandbox.counters('t-b').calls.authorize, 2);
    assert.equal(fx.sandbox.counters().calls.authorize, 3);
  });
});

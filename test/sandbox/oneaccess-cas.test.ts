// CAS 3.0 side of the OneAccess sandbox, over real HTTP (spec §5).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseStringPromise } from 'xml2js';
import { Browser, CAS_SERVICE, dig, location, startFixture, str, type Fixture } from './helpers.ts';

const CAS_NS = 'http://www.yale.edu/tp/cas';

describe('OneAccess sandbox: CAS 3.0', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(() => fx.sandbox.close());

  const loginUrl = (service: string): string => `${fx.a.origin}/api/v1/cas/login?service=${encodeURIComponent(service)}`;
  const validate = async (query: Record<string, string>): Promise<{ status: number; type: string; text: string }> => {
    const res = await fetch(`${fx.a.origin}/api/v1/cas/p3/serviceValidate?${new URLSearchParams(query)}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  const failureCode = (json: string): unknown => dig(JSON.parse(json), 'serviceResponse', 'authenticationFailure', 'code');

  /** login form → POST → service?ticket=ST-… */
  async function signInCas(browser: Browser, userName: string): Promise<string> {
    const form = await browser.get(loginUrl(CAS_SERVICE));
    assert.equal(form.status, 200);
    const cont = /name="continue" value="([^"]*)"/.exec(await form.text())?.[1]?.replace(/&amp;/g, '&');
    const to = location(await browser.post(`${fx.a.origin}/sandbox/login`, { userName, continue: str(cont) }));
    assert.ok(to.href.startsWith(`${CAS_SERVICE}&ticket=ST-`), to.href);
    const ticket = str(to.searchParams.get('ticket'));
    assert.match(ticket, /^ST-[A-Za-z0-9-]{32,256}$/);
    return ticket;
  }

  test('login → ticket → XML validation with the joint-operation attributes', async () => {
    const ticket = await signInCas(new Browser(), 'zhangsan01');
    const res = await validate({ service: CAS_SERVICE, ticket });
    assert.equal(res.status, 200);
    assert.match(res.type, /xml/);
    const xml: unknown = await parseStringPromise(res.text, { xmlns: true, explicitArray: false });
    assert.equal(dig(xml, 'cas:serviceResponse', '$ns', 'uri'), CAS_NS);
    const success = dig(xml, 'cas:serviceResponse', 'cas:authenticationSuccess');
    assert.equal(dig(success, 'cas:user', '_'), 'zhangsan01');
    const attrs = dig(success, 'cas:attributes');
    const value = (name: string): string => str(dig(attrs, `cas:${name}`, '_'));
    assert.equal(value('userName'), 'zhangsan01');
    assert.equal(value('name'), '张三');
    assert.equal(value('tenant'), 't-a');
    assert.equal(value('role'), 'admin');
    assert.equal(value('organizationCode'), '10000');
    assert.equal(value('isFromNewLogin'), 'true');
    assert.equal(value('longTermAuthenticationRequestTokenUsed'), 'false');
    assert.ok(!Number.isNaN(Date.parse(value('authenticationDate'))));
    // the spec order: the three standard attributes first
    assert.deepEqual(Object.keys(attrs ?? {}).filter((k) => k.startsWith('cas:')).slice(0, 3), [
      'cas:authenticationDate',
      'cas:longTermAuthenticationRequestTokenUsed',
      'cas:isFromNewLogin',
    ]);
  });

  test('JSON validation; a ticket from an existing SSO session is not from a new login', async () => {
    const browser = new Browser();
    await signInCas(browser, 'lisi02');
    const to = location(await browser.get(loginUrl(CAS_SERVICE)));
    const res = await validate({ service: CAS_SERVICE, ticket: str(to.searchParams.get('ticket')), format: 'JSON' });
    assert.equal(res.status, 200);
    const success = dig(JSON.parse(res.text), 'serviceResponse', 'authenticationSuccess');
    assert.equal(dig(success, 'user'), 'lisi02');
    assert.deepEqual(dig(success, 'attributes'), {
      authenticationDate: dig(success, 'attributes', 'authenticationDate'),
      longTermAuthenticationRequestTokenUsed: false,
      isFromNewLogin: false,
      userName: 'lisi02',
      name: '李四',
      tenant: 't-a',
      role: 'user',
    });
  });

  test('a ticket is single use', async () => {
    const ticket = await signInCas(new Browser(), 'lisi02');
    assert.match((await validate({ service: CAS_SERVICE, ticket })).text, /authenticationSuccess/);
    const replay = await validate({ service: CAS_SERVICE, ticket, format: 'JSON' });
    assert.equal(replay.status, 200);
    assert.equal(failureCode(replay.text), 'INVALID_TICKET');
  });

  test('INVALID_SERVICE invalidates the ticket', async () => {
    const ticket = await signInCas(new Browser(), 'lisi02');
    const wrong = await validate({ service: 'https://isv.example.com/cas/callback?tenant=t-b', ticket });
    assert.equal(wrong.status, 200);
    assert.match(wrong.text, /<cas:authenticationFailure code="INVALID_SERVICE">/);
    assert.match((await validate({ service: CAS_SERVICE, ticket })).text, /code="INVALID_TICKET"/);
  });

  test('INVALID_REQUEST without ticket or service (and the attempt still consumes the ticket)', async () => {
    const ticket = await signInCas(new Browser(), 'lisi02');
    const noService = await validate({ ticket, format: 'JSON' });
    assert.equal(failureCode(noService.text), 'INVALID_REQUEST');
    assert.match((await validate({ service: CAS_SERVICE })).text, /code="INVALID_REQUEST"/);
    assert.match((await validate({ service: CAS_SERVICE, ticket })).text, /code="INVALID_TICKET"/);
  });

  test('a ticket of tenant A means nothing to tenant B', async () => {
    const ticket = await signInCas(new Browser(), 'lisi02');
    const res = await fetch(`${fx.b.origin}/api/v1/cas/p3/serviceValidate?${new URLSearchParams({ service: CAS_SERVICE, ticket })}`);
    assert.match(await res.text(), /code="INVALID_TICKET"/);
  });

  test('an expired ticket is INVALID_TICKET', async () => {
    const ticket = await signInCas(new Browser(), 'lisi02');
    fx.tick(fx.sandbox.settings.ticketTtlSec * 1000 + 1);
    assert.match((await validate({ service: CAS_SERVICE, ticket })).text, /code="INVALID_TICKET"/);
  });

  test('login refuses a service that is not registered byte for byte', async () => {
    const res = await new Browser().get(loginUrl(`${CAS_SERVICE}&x=1`));
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });

  test('the default format follows the setting', async () => {
    fx.sandbox.settings.casDefaultFormat = 'JSON';
    try {
      const res = await validate({ service: CAS_SERVICE, ticket: 'ST-unknown' });
      assert.equal(failureCode(res.text), 'INVALID_TICKET');
    } finally {
      fx.sandbox.settings.casDefaultFormat = 'XML';
    }
  });

  test('CAS logout clears SSO and returns to a registered service only', async () => {
    const browser = new Browser();
    await signInCas(browser, 'lisi02');
    const out = location(await browser.get(`${fx.a.origin}/api/v1/cas/logout?service=${encodeURIComponent(CAS_SERVICE)}`));
    assert.equal(out.href, CAS_SERVICE);
    assert.equal((await browser.get(loginUrl(CAS_SERVICE))).status, 200, 'login form again');
    const foreign = location(await browser.get(`${fx.a.origin}/api/v1/cas/logout?service=${encodeURIComponent('https://evil.example/')}`));
    assert.equal(foreign.pathname, '/sandbox/login');
    assert.equal(fx.sandbox.counters('t-a').calls['cas-logout'], 2);
  });
});

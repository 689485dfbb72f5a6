import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CAS_TICKET_RE,
  CasError,
  MAX_CAS_RESPONSE_BYTES,
  casFailure,
  casIdentityFields,
  checkTicketSyntax,
  parseCasResponse,
  type CasResult,
  type CasSuccess,
} from '../../src/login/cas-response.ts';

// spec §5.2 examples, verbatim
const XML_SUCCESS = `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationSuccess>
    <cas:user>lisi02</cas:user>
    <cas:attributes>
      <cas:authenticationDate>2025-03-04T02:15:00.120Z</cas:authenticationDate>
      <cas:longTermAuthenticationRequestTokenUsed>false</cas:longTermAuthenticationRequestTokenUsed>
      <cas:isFromNewLogin>true</cas:isFromNewLogin>
      <cas:userName>lisi02</cas:userName>
      <cas:name>李四</cas:name>
      <cas:tenant>t-9f8e7d6c</cas:tenant>
      <cas:role>user</cas:role>
      <cas:organizationCode>20001</cas:organizationCode>
    </cas:attributes>
  </cas:authenticationSuccess>
</cas:serviceResponse>`;

const JSON_SUCCESS =
  '{"serviceResponse":{"authenticationSuccess":{"user":"lisi02","attributes":{"authenticationDate":"2025-03-04T02:15:00.120Z","longTermAuthenticationRequestTokenUsed":false,"isFromNewLogin":true,"userName":"lisi02","name":"李四","tenant":"t-9f8e7d6c","role":"user","organizationCode":"20001"}}}}';

const XML_FAILURE = `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationFailure code="INVALID_TICKET">Ticket ST-4kq9Zp0Lw2 not recognized</cas:authenticationFailure>
</cas:serviceResponse>`;

const JSON_FAILURE = '{"serviceResponse":{"authenticationFailure":{"code":"INVALID_SERVICE","description":"service does not match the ticket"}}}';

const EXPECTED_ATTRIBUTES = {
  authenticationDate: ['2025-03-04T02:15:00.120Z'],
  longTermAuthenticationRequestTokenUsed: ['false'],
  isFromNewLogin: ['true'],
  userName: ['lisi02'],
  name: ['李四'],
  tenant: ['t-9f8e7d6c'],
  role: ['user'],
  organizationCode: ['20001'],
};

const xmlSuccess = (inner: string) =>
  `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>${inner}</cas:authenticationSuccess></cas:serviceResponse>`;
const jsonSuccess = (success: unknown) => JSON.stringify({ serviceResponse: { authenticationSuccess: success } });

function success(r: CasResult): CasSuccess {
  assert.equal(r.ok, true, JSON.stringify(r));
  return r as CasSuccess;
}

async function refused(body: string, format: 'XML' | 'JSON', code = 'INVALID_RESPONSE') {
  await assert.rejects(parseCasResponse(body, format), (e) => e instanceof CasError && e.code === code && e.status === 502, `${format}: ${body.slice(0, 80)}`);
}

describe('parseCasResponse', () => {
  it('reads the spec XML and JSON success examples into the same result', async () => {
    const xml = await parseCasResponse(XML_SUCCESS, 'XML');
    const json = await parseCasResponse(JSON_SUCCESS, 'JSON');
    assert.deepEqual(xml, { ok: true, user: 'lisi02', attributes: EXPECTED_ATTRIBUTES });
    assert.deepEqual(json, xml);
  });

  it('reads the spec failure examples', async () => {
    assert.deepEqual(await parseCasResponse(XML_FAILURE, 'XML'), { ok: false, code: 'INVALID_TICKET', description: 'Ticket ST-4kq9Zp0Lw2 not recognized' });
    assert.deepEqual(await parseCasResponse(JSON_FAILURE, 'JSON'), { ok: false, code: 'INVALID_SERVICE', description: 'service does not match the ticket' });
  });

  it('keeps unknown failure codes and allows an empty description', async () => {
    const xml = '<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationFailure code="TENANT_LOCKED"/></cas:serviceResponse>';
    assert.deepEqual(await parseCasResponse(xml, 'XML'), { ok: false, code: 'TENANT_LOCKED', description: '' });
    assert.deepEqual(await parseCasResponse('{"serviceResponse":{"authenticationFailure":{"code":"X_Y"}}}', 'JSON'), { ok: false, code: 'X_Y', description: '' });
  });

  it('turns repeated XML elements and JSON arrays into several values', async () => {
    const xml = xmlSuccess('<cas:user>u1</cas:user><cas:attributes><cas:groups>a</cas:groups><cas:groups>b</cas:groups><cas:groups>c</cas:groups></cas:attributes>');
    const json = jsonSuccess({ user: 'u1', attributes: { groups: ['a', 'b', 'c'] } });
    const expected = { ok: true, user: 'u1', attributes: { groups: ['a', 'b', 'c'] } };
    assert.deepEqual(await parseCasResponse(xml, 'XML'), expected);
    assert.deepEqual(await parseCasResponse(json, 'JSON'), expected);
  });

  it('drops null, literal "null" and empty values; booleans and numbers become their text', async () => {
    const xml = xmlSuccess(
      '<cas:user>u1</cas:user><cas:attributes><cas:mobile>null</cas:mobile><cas:email/><cas:flag>true</cas:flag><cas:n>7</cas:n><cas:m>x</cas:m><cas:m>null</cas:m></cas:attributes>',
    );
    const json = jsonSuccess({ user: 'u1', attributes: { mobile: null, email: '', flag: true, n: 7, m: ['x', null, 'null'] } });
    const expected = { ok: true, user: 'u1', attributes: { flag: ['true'], n: ['7'], m: ['x'] } };
    assert.deepEqual(await parseCasResponse(xml, 'XML'), expected);
    assert.deepEqual(await parseCasResponse(json, 'JSON'), expected);
  });

  it('keeps only sane attribute names and plain values', async () => {
    const json = jsonSuccess({ user: 'u1', attributes: { __proto__x: ['a'], $: 'b', 'bad name': 'c', nested: { a: 1 }, deep: [['x']], ok: 'y' } });
    const raw = '{"serviceResponse":{"authenticationSuccess":{"user":"u1","attributes":{"__proto__":{"polluted":"yes"},"ok":"y"}}}}';
    assert.deepEqual((await parseCasResponse(json, 'JSON')) as CasSuccess, { ok: true, user: 'u1', attributes: { ok: ['y'] } });
    assert.deepEqual(await parseCasResponse(raw, 'JSON'), { ok: true, user: 'u1', attributes: { ok: ['y'] } });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    const xml = xmlSuccess('<cas:user>u1</cas:user><cas:attributes><cas:nested><cas:a>1</cas:a></cas:nested><cas:__proto__>x</cas:__proto__><cas:ok>y</cas:ok></cas:attributes>');
    assert.deepEqual(await parseCasResponse(xml, 'XML'), { ok: true, user: 'u1', attributes: { ok: ['y'] } });
  });

  it('accepts a success without attributes', async () => {
    assert.deepEqual(await parseCasResponse(xmlSuccess('<cas:user>u1</cas:user>'), 'XML'), { ok: true, user: 'u1', attributes: {} });
    assert.deepEqual(await parseCasResponse(jsonSuccess({ user: 'u1' }), 'JSON'), { ok: true, user: 'u1', attributes: {} });
  });

  it('refuses DOCTYPE and ENTITY declarations outright', async () => {
    await refused(`<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${xmlSuccess('<cas:user>&xxe;</cas:user>')}`, 'XML');
    await refused(`<!doctype serviceResponse>${xmlSuccess('<cas:user>u1</cas:user>')}`, 'XML');
    await refused(xmlSuccess('<cas:user>u1</cas:user><!ENTITY a "b">'), 'XML');
  });

  it('refuses anything that is neither a success with a user nor a failure with a code', async () => {
    const cases: Array<[string, 'XML' | 'JSON']> = [
      ['', 'XML'],
      ['', 'JSON'],
      ['   ', 'XML'],
      ['garbage', 'XML'],
      ['garbage', 'JSON'],
      ['<html><body><h1>502 Bad Gateway</h1></body></html>', 'XML'],
      ['<html><body>unclosed', 'XML'],
      ['<!-- only a comment -->', 'XML'],
      [XML_SUCCESS, 'JSON'],
      [JSON_SUCCESS, 'XML'],
      ['yes\nlisi02\n', 'XML'],
      ['null', 'JSON'],
      ['[]', 'JSON'],
      ['"serviceResponse"', 'JSON'],
      ['{}', 'JSON'],
      ['{"serviceResponse":{}}', 'JSON'],
      ['{"serviceResponse":"x"}', 'JSON'],
      ['{"authenticationSuccess":{"user":"u1"}}', 'JSON'],
      ['<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"/>', 'XML'],
      ['<cas:other xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>u1</cas:user></cas:authenticationSuccess></cas:other>', 'XML'],
      // both at once
      [xmlSuccess('<cas:user>u1</cas:user>').replace('</cas:serviceResponse>', '<cas:authenticationFailure code="INVALID_TICKET">x</cas:authenticationFailure></cas:serviceResponse>'), 'XML'],
      ['{"serviceResponse":{"authenticationSuccess":{"user":"u1"},"authenticationFailure":{"code":"INVALID_TICKET"}}}', 'JSON'],
      // two successes
      [xmlSuccess('<cas:user>u1</cas:user>').replace('</cas:serviceResponse>', '<cas:authenticationSuccess><cas:user>u2</cas:user></cas:authenticationSuccess></cas:serviceResponse>'), 'XML'],
      // success without a user, with an empty or repeated user
      [xmlSuccess('<cas:attributes><cas:userName>u1</cas:userName></cas:attributes>'), 'XML'],
      [xmlSuccess('<cas:user></cas:user>'), 'XML'],
      [xmlSuccess('<cas:user>u1</cas:user><cas:user>u2</cas:user>'), 'XML'],
      [jsonSuccess({ user: '' }), 'JSON'],
      [jsonSuccess({ user: '  ' }), 'JSON'],
      [jsonSuccess({ user: ['u1'] }), 'JSON'],
      [jsonSuccess({ attributes: { userName: 'u1' } }), 'JSON'],
      [jsonSuccess({ user: 'u1', attributes: 'x' }), 'JSON'],
      // failure without a usable code
      ['<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationFailure>Ticket not recognized</cas:authenticationFailure></cas:serviceResponse>', 'XML'],
      ['{"serviceResponse":{"authenticationFailure":{"description":"no code"}}}', 'JSON'],
      ['{"serviceResponse":{"authenticationFailure":{"code":""}}}', 'JSON'],
      ['{"serviceResponse":{"authenticationFailure":{"code":"<script>"}}}', 'JSON'],
    ];
    for (const [body, format] of cases) await refused(body, format);
  });

  it('refuses a body longer than MAX_CAS_RESPONSE_BYTES', async () => {
    const fill = (body: string) => ' '.repeat(MAX_CAS_RESPONSE_BYTES - Buffer.byteLength(body));
    await refused(`${JSON_SUCCESS}${fill(JSON_SUCCESS)} `, 'JSON');
    await refused(`${XML_SUCCESS}${fill(XML_SUCCESS)} `, 'XML');
    // counted in UTF-8 bytes, not characters
    await refused(jsonSuccess({ user: 'u1', attributes: { name: '李'.repeat(MAX_CAS_RESPONSE_BYTES / 3) } }), 'JSON');
    assert.equal(success(await parseCasResponse(JSON_SUCCESS + fill(JSON_SUCCESS), 'JSON')).user, 'lisi02');
    assert.equal(success(await parseCasResponse(XML_SUCCESS + fill(XML_SUCCESS), 'XML')).user, 'lisi02');
  });
});

describe('casIdentityFields', () => {
  it('takes the identity attributes of spec §5.1', async () => {
    const r = success(await parseCasResponse(XML_SUCCESS, 'XML'));
    assert.deepEqual(casIdentityFields(r), { userName: 'lisi02', name: '李四', tenant: 't-9f8e7d6c', role: 'user', organizationCode: '20001' });
  });

  it('falls back to <cas:user> when there is no userName attribute, and omits absent fields', async () => {
    const r = success(await parseCasResponse(xmlSuccess('<cas:user>wangwu</cas:user><cas:attributes><cas:tenant>t-1</cas:tenant></cas:attributes>'), 'XML'));
    assert.deepEqual(casIdentityFields(r), { userName: 'wangwu', tenant: 't-1' });
  });

  it('refuses a userName attribute that differs from <cas:user>', () => {
    assert.throws(
      () => casIdentityFields({ ok: true, user: 'lisi02', attributes: { userName: ['admin'] } }),
      (e) => e instanceof CasError && e.code === 'USER_MISMATCH' && e.status === 502,
    );
  });

  it('refuses several different values for an identity attribute', () => {
    assert.throws(
      () => casIdentityFields({ ok: true, user: 'u1', attributes: { tenant: ['t-1', 't-2'] } }),
      (e) => e instanceof CasError && e.code === 'INVALID_RESPONSE',
    );
    assert.deepEqual(casIdentityFields({ ok: true, user: 'u1', attributes: { role: ['admin', 'admin'] } }), { userName: 'u1', role: 'admin' });
  });
});

describe('checkTicketSyntax', () => {
  const valid = ['ST-1-abc', 'ST-4kq9Zp0Lw2', `ST-${'a'.repeat(253)}`];
  const invalid: unknown[] = ['PT-1', 'ST-a_b', 'ST-../x', `ST-${'a'.repeat(254)}`, '', 'ST-', 'st-1', ' ST-1', 'ST-1\n', 'ST-1%0a', 'ST-1&service=x', 'TGT-1', undefined, null, 42, ['ST-1'], { ticket: 'ST-1' }];

  it('accepts CAS service tickets up to 256 characters', () => {
    for (const t of valid) assert.equal(checkTicketSyntax(t), t);
    assert.equal(valid[2]?.length, 256);
  });

  it('refuses everything else with INVALID_TICKET_SYNTAX (400)', () => {
    for (const t of invalid) {
      assert.throws(() => checkTicketSyntax(t), (e) => e instanceof CasError && e.code === 'INVALID_TICKET_SYNTAX' && e.status === 400, String(t));
      assert.equal(typeof t === 'string' && CAS_TICKET_RE.test(t), false);
    }
  });
});

describe('casFailure', () => {
  const table: Array<[string, number]> = [
    ['INVALID_REQUEST', 400],
    ['INVALID_TICKET_SPEC', 400],
    ['INVALID_TICKET', 400],
    ['INVALID_SERVICE', 400],
    ['UNAUTHORIZED_SERVICE_PROXY', 502],
    ['INVALID_PROXY_CALLBACK', 502],
    ['INTERNAL_ERROR', 502],
    ['SOMETHING_NEW', 502],
    ['constructor', 502],
  ];

  it('maps every spec §5.3 code, and unknown ones, to a status and a message for the person', () => {
    for (const [code, status] of table) {
      const e = casFailure(code, 'detail for the log');
      assert.ok(e instanceof CasError);
      assert.equal(e.code, code);
      assert.equal(e.status, status, code);
      assert.match(e.message, /detail for the log/);
      assert.ok(e.userMessage.length > 20 && !e.userMessage.includes('detail'), code);
    }
    assert.equal(casFailure('INVALID_TICKET', '').userMessage, 'This sign-in link has already been used or has expired. Please sign in again.');
  });
});

// CAS single logout (login.casSingleLogout): OneAccess POSTs a samlp:LogoutRequest to the CAS
// service URL; the session signed in with the ticket it names ends. Malformed, oversized and
// unknown requests change nothing; switched off, the route does not exist.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const logoutRequest = (ticket: string) =>
  `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="LR-1" Version="2.0" IssueInstant="2026-06-01T00:00:00Z"><saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>${ticket}</samlp:SessionIndex></samlp:LogoutRequest>`;

async function casSignIn(env: LoginEnv, b: Browser): Promise<string> {
  const form = last(await b.follow(`${env.base}/login?tenant=acme&protocol=cas`));
  const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
  const cb = hops.find((h) => new URL(h.url).pathname === '/cas/callback');
  assert.equal(cb?.status, 303, cb?.body);
  return new URL(cb!.url).searchParams.get('ticket')!;
}

const sessionOf = async (env: LoginEnv, b: Browser) => (await b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } })).status;
const post = (env: LoginEnv, body: string, tenant = 't-acme') =>
  fetch(`${env.base}/cas/callback?tenant=${tenant}`, { method: 'POST', headers: FORM, body: new URLSearchParams({ logoutRequest: body }) });

describe('CAS single logout, switched on', () => {
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(new MemoryStore(), { login: { casSingleLogout: true } });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env.close();
  });

  it('a logoutRequest naming the ticket ends that session, and only that one', async () => {
    const b = new Browser();
    const other = new Browser();
    const ticket = await casSignIn(env, b);
    await casSignIn(env, other);
    const res = await post(env, logoutRequest(ticket));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ended: 1 });
    assert.equal(await sessionOf(env, b), 401);
    assert.equal(await sessionOf(env, other), 200, 'the other sign-in lives on');
    const again = await post(env, logoutRequest(ticket));
    assert.deepEqual(await again.json(), { ended: 0 }, 'a repeat changes nothing');
  });

  it('malformed, oversized and unknown requests change nothing', async () => {
    const b = new Browser();
    const ticket = await casSignIn(env, b);
    const bad = [
      '',
      'not xml at all <',
      `<!DOCTYPE x [<!ENTITY e "${ticket}">]>${logoutRequest('&e;')}`,
      logoutRequest('not-a-ticket'),
      '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>',
      logoutRequest(ticket).replace('</samlp:LogoutRequest>', `${' '.repeat(70 * 1024)}</samlp:LogoutRequest>`),
    ];
    for (const body of bad) {
      const res = await post(env, body);
      assert.equal(res.status, 400, body.slice(0, 80));
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
    }
    const unknown = await post(env, logoutRequest('ST-0000000000000000000000000000000'));
    assert.deepEqual(await unknown.json(), { ended: 0 });
    const otherTenant = await post(env, logoutRequest(ticket), 't-other');
    assert.deepEqual(await otherTenant.json(), { ended: 0 }, 'the ticket counts for its own tenant only');
    const noTenant = await fetch(`${env.base}/cas/callback`, { method: 'POST', headers: FORM, body: new URLSearchParams({ logoutRequest: logoutRequest(ticket) }) });
    assert.equal(noTenant.status, 400);
    assert.equal(await sessionOf(env, b), 200, 'still signed in');
  });
});

/** a memory store whose session reads, or ticket writes, fail while set, as a store that stops answering */
class FlakySessionReads extends MemoryStore {
  failing = false;
  failTickets = false;
  override getTemp(key: string): Promise<string | null> {
    if (this.failing && key.startsWith('sess:')) return Promise.reject(new Error('store down'));
    return super.getTemp(key);
  }
  override putTemp(...args: Parameters<MemoryStore['putTemp']>): Promise<boolean> {
    if (this.failTickets && args[0].startsWith('cas:ticket:')) return Promise.reject(new Error('store down'));
    return super.putTemp(...args);
  }
}

describe('CAS single logout while the store fails', () => {
  let env: LoginEnv;
  let store: FlakySessionReads;
  before(async () => {
    store = new FlakySessionReads();
    env = await startLoginEnv(store, { login: { casSingleLogout: true } });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env.close();
  });

  it('a logout that could not end the session answers 503, and OneAccess\'s retry still ends it', async () => {
    const b = new Browser();
    const ticket = await casSignIn(env, b);
    store.failing = true;
    const failed = await post(env, logoutRequest(ticket));
    store.failing = false;
    assert.equal(failed.status, 503);
    assert.equal(((await failed.json()) as { error: string }).error, 'unavailable');
    const retry = await post(env, logoutRequest(ticket));
    assert.deepEqual(await retry.json(), { ended: 1 }, 'the ticket was kept for the retry');
    assert.equal(await sessionOf(env, b), 401);
  });

  it('a sign-in whose ticket cannot be remembered is not completed: the retry page, no session', async () => {
    const b = new Browser();
    const form = last(await b.follow(`${env.base}/login?tenant=acme&protocol=cas`));
    store.failTickets = true;
    const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
    store.failTickets = false;
    const cb = hops.find((h) => new URL(h.url).pathname === '/cas/callback');
    assert.equal(cb?.status, 503, cb?.body);
    assert.equal(await sessionOf(env, b), 401, 'no session single logout could not reach');
    // positive control: once the store answers, the same sign-in completes
    const again = new Browser();
    await casSignIn(env, again);
    assert.equal(await sessionOf(env, again), 200);
  });
});

describe('CAS single logout, off (the default)', () => {
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(new MemoryStore());
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env.close();
  });

  it('a logoutRequest is not heard and ends nothing', async () => {
    const b = new Browser();
    const ticket = await casSignIn(env, b);
    const res = await post(env, logoutRequest(ticket));
    assert.equal(res.status, 404);
    assert.equal(await sessionOf(env, b), 200);
  });
});

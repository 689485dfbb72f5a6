// Attack: logout CSRF through the OIDC provider. Another site links or redirects a signed-in
// browser to GET /oidc/session/end (or posts the confirmation itself). Before, a browser with a
// gateway session but no provider session got oidc-provider's self-submitting form, which ended
// the gateway session without the person doing anything. Now it gets the "Sign out?" question,
// and a confirmation without the page's anti-forgery secret changes nothing.
// Positive control: the person's click signs them out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { follow, visitSigningIn } from '../oidc/interop/person.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('attack: logout CSRF through /oidc/session/end', () => {
  let env: LoginEnv;
  before(async () => {
    env = await startLoginEnv(new MemoryStore(), { oidc: { clients: [{ client_id: 'app', client_secret: 'app-secret-0123456789abcdefghijklmnop', redirect_uris: ['https://app.example.com/cb'] }] } });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
  });
  after(async () => {
    await env.close();
  });

  const signedIn = async (b: Browser) => (await b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } })).status === 200;

  async function gatewaySession(): Promise<Browser> {
    const b = new Browser();
    await visitSigningIn(b, `${env.base}/login?tenant=acme`, 'lisi');
    assert.ok(await signedIn(b));
    return b;
  }

  it('a visit (GET, with or without parameters) asks and changes nothing; nothing submits by itself', async () => {
    const b = await gatewaySession();
    for (const url of [`${env.base}/oidc/session/end`, `${env.base}/oidc/session/end?client_id=app`, `${env.base}/oidc/session/end?state=x`]) {
      const hops = await follow(b, url);
      const page = hops.at(-1)!;
      assert.equal(page.status, 200, url);
      assert.match(page.body, /name="logout" value="yes"/, 'the question, with a button');
      assert.doesNotMatch(page.body, /<script|onload|\.submit\(/, 'no self-submitting form');
      assert.ok(await signedIn(b), `still signed in after ${url}`);
    }
  });

  it('a forged confirmation (no or a wrong secret) changes nothing', async () => {
    const b = await gatewaySession();
    await b.request(`${env.base}/oidc/session/end`);
    for (const body of [{ logout: 'yes' }, { logout: 'yes', xsrf: 'guessed' }] as Array<Record<string, string>>) {
      const res = await b.request(`${env.base}/oidc/session/end/confirm`, { method: 'POST', headers: { ...FORM, accept: 'text/html' }, body: new URLSearchParams(body) });
      assert.equal(res.status, 400);
      assert.ok(await signedIn(b));
    }
  });

  it('positive control: the click signs the person out', async () => {
    const b = await gatewaySession();
    const ask = await b.request(`${env.base}/oidc/session/end`);
    const done = await b.request(`${env.base}/oidc/session/end/confirm`, { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf: hiddenInput(ask.body, 'xsrf')!, logout: 'yes' }) });
    assert.equal(done.status, 303);
    assert.equal(await signedIn(b), false);
  });
});

// Attack: silent session swap (login CSRF). The attacker signs in to OneAccess as themselves, keeps
// the callback (an unsolicited `code` + `tenant`, or a CAS ticket) and gets it opened in the
// victim's browser, which is signed in as the victim: the gateway used to replace the victim's
// session with the attacker's, silently, so the victim went on working in the attacker's account.
// Now the victim keeps their session and sees a "continue as …?" page; only their click there,
// in the same browser session, switches. On embedded and Redis (the parked sign-in is in the store).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, hiddenInput, last, type Page } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { requireBinary, startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { prefixedRedisStore, tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';

const users = [
  { userName: 'lisi', name: '李四' },
  { userName: 'wangwu', name: '王五' },
];

function swapSuite(name: string, open: () => Promise<OpenedStore>): void {
  describe(`no silent session swap (${name} store)`, () => {
    let env: LoginEnv;
    let opened: OpenedStore;
    before(async () => {
      opened = await open();
      env = await startLoginEnv(opened.store, { app: { url: 'https://app.example.com' }, ui: { defaultLanguage: 'zh-CN' } });
      await env.addTenant('t-acme', 'acme', users);
      await env.addTenant('t-beta', 'beta', [{ userName: 'beta1', name: 'Beta One' }]);
    });
    after(async () => {
      await env.close();
      await opened.cleanup();
    });

    const who = async (b: Browser) => {
      const s = await b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });
      return s.status === 200 ? (JSON.parse(s.body) as { user_name: string }).user_name : null;
    };
    const verifyAs = async (b: Browser) => (await b.request(`${env.base}/auth/verify`)).headers.get('x-auth-request-user');

    async function signIn(b: Browser, user: string, tenant = 'acme'): Promise<void> {
      const toForm = await b.follow(`${env.base}/login?tenant=${tenant}`);
      if (toForm.some((h) => new URL(h.url).pathname === '/oauth/callback')) return;
      const form = last(toForm);
      last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: user, continue: hiddenInput(form.body, 'continue')! }));
      assert.equal(await who(b), user);
    }

    /** the attacker's own unsolicited callback: a code OneAccess issued for the attacker */
    const attackerCallback = (user = 'wangwu') =>
      `${env.base}/oauth/callback?code=${env.sandbox.issueCode({ tenantId: 't-acme', clientId: 'client-t-acme', userName: user, redirectUri: `${env.base}/oauth/callback` })}&tenant=t-acme`;

    const choose = (b: Browser, page: Page, choice: 'keep' | 'continue', headers: Record<string, string> = {}) =>
      b.request(`${env.base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ switch: hiddenInput(page.body, 'switch')!, choice }).toString(),
      });

    it('positive control: in a browser without a session the unsolicited callback signs in, as before', async () => {
      const b = new Browser();
      const res = await b.request(attackerCallback());
      assert.equal(res.status, 303, res.body);
      assert.equal(await who(b), 'wangwu');
    });

    it("the attacker's callback opened in the victim's browser keeps the victim signed in and asks", async () => {
      const victim = new Browser();
      await signIn(victim, 'lisi');
      const page = await victim.request(attackerCallback(), { headers: { 'accept-language': 'en-US,en;q=0.8' } });
      assert.equal(page.status, 200, page.body);
      assert.match(page.headers.get('content-type')!, /text\/html/);
      assert.match(page.body, /<html lang="en">/);
      assert.match(page.body, /Switch account\?/);
      assert.match(page.body, /id="current">李四 \(lisi\)/);
      assert.match(page.body, /id="next">王五 \(wangwu\)/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.match(page.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(await who(victim), 'lisi', '/auth/session still answers for the victim');
      assert.equal(await verifyAs(victim), 'lisi', 'forward-auth still answers for the victim');

      // "stay signed in": nothing changes, and the choice is used up
      const kept = await choose(victim, page, 'keep');
      assert.equal(kept.status, 303);
      assert.equal(kept.headers.get('location'), 'https://app.example.com');
      assert.equal(await who(victim), 'lisi');
      assert.equal((await choose(victim, page, 'continue')).status, 400, 'a used choice cannot be replayed');
      assert.equal(await who(victim), 'lisi');
      // operators see it
      const metrics = await (await fetch(`${env.base}/metrics`)).text();
      assert.match(metrics, /bridge_logins_total\{[^}]*outcome="switch_asked"[^}]*\} [1-9]/);
      assert.match(metrics, /bridge_logins_total\{[^}]*outcome="switch_declined"[^}]*\} [1-9]/);
    });

    it('the page is in Chinese by default', async () => {
      const victim = new Browser();
      await signIn(victim, 'lisi');
      const page = await victim.request(attackerCallback());
      assert.match(page.body, /<html lang="zh-CN">/);
      assert.match(page.body, /切换账号/);
    });

    it("positive control: the person's own click on the page switches to the other account", async () => {
      const b = new Browser();
      await signIn(b, 'lisi');
      const oldCookie = b.cookie(env.base, 'bridge.sid')!;
      const page = await b.request(attackerCallback());
      assert.equal(page.status, 200);
      const res = await choose(b, page, 'continue', { origin: env.base });
      assert.equal(res.status, 303, res.body);
      assert.equal(res.headers.get('location'), 'https://app.example.com');
      assert.equal(await who(b), 'wangwu');
      assert.notEqual(b.cookie(env.base, 'bridge.sid'), oldCookie, 'a new session id');
      const old = await fetch(`${env.base}/auth/verify`, { headers: { cookie: `bridge.sid=${oldCookie}` } });
      assert.equal(old.status, 401, 'the replaced session is over');
    });

    it("a switch parked in the attacker's browser cannot be completed from the victim's, nor cross-site", async () => {
      // the attacker, signed in as someone, parks a switch to themselves and forwards its handle
      const attacker = new Browser();
      await signIn(attacker, 'lisi');
      const parked = await attacker.request(attackerCallback());
      assert.equal(parked.status, 200);
      const victim = new Browser();
      await signIn(victim, 'lisi');
      const res = await choose(victim, parked, 'continue');
      assert.equal(res.status, 400);
      assert.equal(await who(victim), 'lisi');
      // a form on another site posting the victim's own handle is refused by its Origin
      const own = await victim.request(attackerCallback());
      const cross = await choose(victim, own, 'continue', { origin: 'https://evil.example.net' });
      assert.equal(cross.status, 400);
      assert.equal((await choose(victim, own, 'continue', { 'sec-fetch-site': 'cross-site' })).status, 400);
      assert.equal(await who(victim), 'lisi');
    });

    it('JSON clients get 409 and the session is untouched', async () => {
      const victim = new Browser();
      await signIn(victim, 'lisi');
      const res = await victim.request(attackerCallback(), { headers: { accept: 'application/json' } });
      assert.equal(res.status, 409);
      assert.equal(JSON.parse(res.body).error, 'account_switch');
      assert.equal(await who(victim), 'lisi');
    });

    it('positive controls: the same person is signed in afresh without a question; a sign-in started here replaces the session', async () => {
      const b = new Browser();
      await signIn(b, 'lisi');
      const same = await b.request(attackerCallback('lisi'));
      assert.equal(same.status, 303, same.body);
      assert.equal(await who(b), 'lisi');
      // state + PKCE: this browser started it, so nobody else's sign-in can arrive
      await signIn(b, 'beta1', 'beta');
      assert.equal(await who(b), 'beta1');
    });

    it("CAS: the attacker's service ticket opened in the victim's browser asks too", async () => {
      const attacker = new Browser();
      const form = last(await attacker.follow(`${env.base}/login?tenant=acme&protocol=cas`));
      const toCallback = await attacker.request(`${new URL(form.url).origin}/sandbox/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ userName: 'wangwu', continue: hiddenInput(form.body, 'continue')! }).toString(),
      });
      const ticketUrl = toCallback.headers.get('location')!;
      assert.match(ticketUrl, /\/cas\/callback\?tenant=t-acme&ticket=ST-/);
      const victim = new Browser();
      await signIn(victim, 'lisi');
      const page = await victim.request(ticketUrl);
      assert.equal(page.status, 200, page.body);
      assert.match(page.body, /id="next">王五 \(wangwu\)/);
      assert.equal(await who(victim), 'lisi');
      const res = await choose(victim, page, 'continue');
      assert.equal(res.status, 303);
      const s = JSON.parse((await victim.request(`${env.base}/auth/session`)).body) as Record<string, string>;
      assert.equal(s.user_name, 'wangwu');
      assert.equal(s.idp, 'oneaccess-cas');
    });
  });
}

swapSuite('embedded', async () => tempEmbeddedStore('bridge-swap'));

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');

describe('on Redis', needRedis, () => {
  let redis: RedisServer | null = null;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());
  swapSuite('redis', () => prefixedRedisStore(redis, 'swap'));
});

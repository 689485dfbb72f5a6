// Sign-in end to end over real HTTP: a cookie-keeping client walks gateway -> OneAccess sandbox ->
// gateway. Run against every store that sessions can live on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.ts';
import { Browser, hiddenInput, last, type Page } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';

function hopTo(hops: Page[], path: string): Page | undefined {
  return hops.find((h) => new URL(h.url).pathname === path);
}

export function loginSuite(name: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`sign-in through OneAccess (${name} store)`, () => {
    let env: LoginEnv;
    let cleanup: () => Promise<void>;
    const users = [
      { userName: 'zhangsan', name: '张三', role: 'admin' as const },
      { userName: 'lisi', name: '李四' },
      { userName: 'wangwu', name: '王五' },
      { userName: 'zhaoliu', name: '赵六' },
      { userName: 'sunqi', name: '孙七' },
      { userName: 'stranger', name: 'Not Synced' },
    ];

    before(async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      env = await startLoginEnv(opened.store, { app: { allowedReturnUrls: ['https://app.example.com'] }, session: { refreshSkewSec: 0 } });
      await env.addTenant('t-acme', 'acme', users, {
        syncedUsers: users.filter((u) => u.userName !== 'stranger').map((u) => ({ userName: u.userName, name: u.name, orgCode: '10', role: u.role ?? 'user', enable: 'true' })),
      });
      await env.addTenant('t-beta', 'beta', [{ userName: 'beta1', name: 'Beta One' }]);
      // a tenant whose OneAccess vouches for people of another company
      await env.addTenant('t-liar', 'liar', [{ userName: 'liar1', name: 'Liar' }], { oneAccessTenantId: 't-someone-else' });
    });
    after(async () => {
      await env.close();
      await cleanup();
    });

    const session = (b: Browser) => b.request(`${env.base}/auth/session`, { headers: { accept: 'application/json' } });

    async function oauthSignIn(b: Browser, tenant: string, userName: string, returnTo?: string): Promise<Page[]> {
      const q = new URLSearchParams({ tenant, ...(returnTo ? { return_to: returnTo } : {}) });
      const toForm = await b.follow(`${env.base}/login?${q}`);
      // already signed in at OneAccess (SSO): it answers with a code straight away
      if (hopTo(toForm, '/oauth/callback')) return toForm;
      const form = last(toForm);
      assert.equal(form.status, 200, `expected the OneAccess login form, got ${form.status} at ${form.url}: ${form.body.slice(0, 200)}`);
      const cont = hiddenInput(form.body, 'continue');
      assert.ok(cont, 'login form has a continue field');
      return b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: cont });
    }

    async function casSignIn(b: Browser, tenant: string, userName: string): Promise<Page[]> {
      const toForm = await b.follow(`${env.base}/login?tenant=${tenant}&protocol=cas`);
      const form = last(toForm);
      assert.equal(form.status, 200, form.body.slice(0, 200));
      return b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: hiddenInput(form.body, 'continue')! });
    }

    it('OAuth with state and PKCE: sign-in, a session, the directory account and return_to', async () => {
      const b = new Browser();
      const hops = await oauthSignIn(b, 'acme', 'zhangsan', 'https://app.example.com/home');
      const cb = hopTo(hops, '/oauth/callback');
      assert.equal(cb?.status, 303, cb?.body);
      assert.equal(cb?.headers.get('location'), 'https://app.example.com/home');
      const authorize = new URL((await new Browser().request(`${env.base}/login?tenant=acme`)).headers.get('location')!);
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(authorize.searchParams.get('state'));
      const s = await session(b);
      assert.equal(s.status, 200, s.body);
      const claims = JSON.parse(s.body) as Record<string, string>;
      const dirUser = await env.gw.directory.getUser('prod', 't-acme', 'zhangsan');
      assert.equal(claims.sub, dirUser!.sub);
      assert.equal(claims.tenant, 't-acme');
      assert.equal(claims.tenant_code, 'acme');
      assert.equal(claims.user_name, 'zhangsan');
      assert.equal(claims.name, '张三');
      assert.equal(claims.role, 'admin');
      assert.equal(claims.idp, 'oneaccess-oauth');
      assert.ok(!Number.isNaN(Date.parse(claims.expires_at!)));
      assert.equal(env.sandbox.counters('t-acme').tokenClientAuth.client_secret_post > 0, true);
    });

    it('the session cookie is HttpOnly, SameSite=Lax, and a new session id is issued at every sign-in', async () => {
      const b = new Browser();
      const hops = await oauthSignIn(b, 'acme', 'lisi');
      const setCookie = hopTo(hops, '/oauth/callback')!.headers.getSetCookie().find((c) => c.startsWith('bridge.sid='))!;
      assert.match(setCookie, /HttpOnly/i);
      assert.match(setCookie, /SameSite=Lax/i);
      const first = b.cookie(env.base, 'bridge.sid');
      await oauthSignIn(b, 'acme', 'lisi');
      const second = b.cookie(env.base, 'bridge.sid');
      assert.ok(first && second && first !== second, 'session id must change at sign-in');
      const old = new Browser();
      old.jar.set(new URL(env.base).host, new Map([['bridge.sid', first]]));
      assert.equal((await session(old)).status, 401, 'the pre-sign-in session id must be dead');
      assert.equal((await session(b)).status, 200);
    });

    it('a replayed or unknown state is refused with 400; the code is never exchanged twice', async () => {
      const b = new Browser();
      const hops = await oauthSignIn(b, 'acme', 'lisi');
      const cb = hopTo(hops, '/oauth/callback')!;
      const tokenCalls = env.sandbox.counters('t-acme').calls.token;
      const replay = await b.request(cb.url);
      assert.equal(replay.status, 400);
      assert.match(replay.body, /already used|expired/);
      assert.equal(env.sandbox.counters('t-acme').calls.token, tokenCalls);
      const unknown = await new Browser().request(`${env.base}/oauth/callback?code=abc&state=nonexistent`, { headers: { accept: 'application/json' } });
      assert.equal(unknown.status, 400);
      assert.equal(JSON.parse(unknown.body).error, 'invalid_state');
    });

    it('a callback completes only in the browser that started the sign-in', async () => {
      const a = new Browser();
      const form = last(await a.follow(`${env.base}/login?tenant=acme`));
      const cont = hiddenInput(form.body, 'continue')!;
      // the victim's browser is handed the attacker's callback URL
      const attackerHops = await a.request(`${new URL(form.url).origin}/sandbox/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ userName: 'lisi', continue: cont }).toString() });
      const callback = attackerHops.headers.get('location')!;
      const victim = new Browser();
      const res = await victim.request(callback);
      assert.equal(res.status, 400);
      assert.equal((await session(victim)).status, 401);
    });

    it('stateless callback (code + tenant, as from the workbench) signs in when unsolicited sign-in is on', async () => {
      const code = env.sandbox.issueCode({ tenantId: 't-acme', clientId: 'client-t-acme', userName: 'wangwu', redirectUri: `${env.base}/oauth/callback` });
      const b = new Browser();
      const res = await b.request(`${env.base}/oauth/callback?code=${code}&tenant=t-acme`);
      assert.equal(res.status, 303, res.body);
      assert.equal(JSON.parse((await session(b)).body).user_name, 'wangwu');
    });

    it('unified login page: /login without a tenant goes there, and the code + tenant answer keeps return_to', async () => {
      // a second gateway with appId set, on the same store, driven directly (the env's port is taken)
      const { buildGateway } = await import('../helpers/gateway.ts');
      const g = await buildGateway(env.gw.store, { publicUrl: env.base, login: { appId: 'app-1', unifiedLoginUrl: env.sandbox.unifiedLoginUrl }, app: { allowedReturnUrls: ['https://app.example.com'] } });
      const request = (await import('supertest')).default;
      const start = await request(g.app).get('/login?return_to=https%3A%2F%2Fapp.example.com%2Fdeep');
      assert.equal(start.status, 303);
      const loc = new URL(start.headers.location!);
      assert.equal(loc.href.split('#')[0], env.sandbox.unifiedLoginUrl.split('#')[0]);
      assert.match(loc.hash, /ind=UNOP&appId=app-1/);
      const txCookie = (start.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('bridge.tx='))!.split(';')[0]!;
      env.sandbox.registerApp({ appId: 'app-1', callbackUrl: `${env.base}/oauth/callback` });
      const picked = await fetch(new URL('/unified-login/login', env.sandbox.unifiedLoginUrl), {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ appId: 'app-1', tenant: 't-acme', user: 'zhaoliu' }),
      });
      const back = new URL(picked.headers.get('location')!);
      assert.equal(back.searchParams.get('tenant'), 't-acme');
      assert.equal(back.searchParams.get('state'), null);
      const done = await request(g.app).get(`${back.pathname}${back.search}`).set('cookie', txCookie);
      assert.equal(done.status, 303, done.text);
      assert.equal(done.headers.location, 'https://app.example.com/deep');
    });

    it('with unsolicited sign-in off, a stateless callback without a pre-login cookie is refused', async () => {
      const { buildGateway } = await import('../helpers/gateway.ts');
      const request = (await import('supertest')).default;
      const g = await buildGateway(env.gw.store, { publicUrl: env.base, login: { allowUnsolicited: false } });
      const code = env.sandbox.issueCode({ tenantId: 't-acme', clientId: 'client-t-acme', userName: 'wangwu' });
      const res = await request(g.app).get(`/oauth/callback?code=${code}&tenant=t-acme`).set('accept', 'application/json');
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'unsolicited_login');
    });

    for (const format of ['XML', 'JSON'] as const) {
      it(`CAS 3.0 sign-in with ${format} validation`, async () => {
        let g = env;
        let close = async () => {};
        if (format === 'JSON') {
          // the same gateway settings but JSON validation: a second gateway on its own port
          const { startLoginEnv: start } = await import('../helpers/login-env.ts');
          g = await start(env.gw.store, { login: { casFormat: 'JSON' } });
          close = () => g.close();
          await g.addTenant('t-json', 'jsoncorp', [{ userName: 'json1', name: 'Jay Son' }]);
        }
        try {
          const b = new Browser();
          const tenant = format === 'JSON' ? 'jsoncorp' : 'acme';
          const user = format === 'JSON' ? 'json1' : 'sunqi';
          const toForm = await b.follow(`${g.base}/login?tenant=${tenant}&protocol=cas`);
          const form = last(toForm);
          const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: user, continue: hiddenInput(form.body, 'continue')! });
          const cb = hopTo(hops, '/cas/callback');
          assert.equal(cb?.status, 303, cb?.body);
          assert.match(new URL(cb!.url).searchParams.get('ticket')!, /^ST-/);
          const s = await b.request(`${g.base}/auth/session`);
          assert.equal(s.status, 200, s.body);
          const claims = JSON.parse(s.body);
          assert.equal(claims.user_name, user);
          assert.equal(claims.idp, 'oneaccess-cas');
          // a ticket is validated once only
          const again = await new Browser().request(cb!.url, { headers: { accept: 'application/json' } });
          assert.equal(again.status, 400);
          assert.equal(JSON.parse(again.body).error, 'INVALID_TICKET');
        } finally {
          await close();
        }
      });
    }

    it('each sign-in\'s OneAccess time is measured once, under its protocol\'s step; a refused ticket is not', async () => {
      const count = (step: string) => Number(new RegExp(`^bridge_upstream_duration_seconds_count\\{step="${step}"\\} (\\d+)$`, 'm').exec(env.gw.metrics.render())?.[1] ?? 0);
      const [oauth0, cas0] = [count('oauth-signin'), count('cas-validate')];
      await oauthSignIn(new Browser(), 'acme', 'lisi');
      assert.deepEqual([count('oauth-signin'), count('cas-validate')], [oauth0 + 1, cas0]);
      await casSignIn(new Browser(), 'acme', 'sunqi');
      assert.deepEqual([count('oauth-signin'), count('cas-validate')], [oauth0 + 1, cas0 + 1]);
      await new Browser().request(`${env.base}/cas/callback?tenant=t-acme&ticket=ST-unknown`);
      assert.equal(count('cas-validate'), cas0 + 1);
    });

    it('CAS: unknown ticket is INVALID_TICKET (400); bad ticket syntax never reaches OneAccess', async () => {
      const b = new Browser();
      const before = env.sandbox.counters('t-acme').calls['cas-validate'];
      const bogus = await b.request(`${env.base}/cas/callback?tenant=t-acme&ticket=ST-1-bogus`, { headers: { accept: 'application/json' } });
      assert.equal(bogus.status, 400);
      assert.equal(JSON.parse(bogus.body).error, 'INVALID_TICKET');
      assert.equal(env.sandbox.counters('t-acme').calls['cas-validate'], before + 1);
      for (const t of ['PT-123', 'ST-../../x', `ST-${'a'.repeat(300)}`]) {
        const res = await b.request(`${env.base}/cas/callback?tenant=t-acme&ticket=${encodeURIComponent(t)}`, { headers: { accept: 'application/json' } });
        assert.equal(res.status, 400, t);
      }
      assert.equal(env.sandbox.counters('t-acme').calls['cas-validate'], before + 1);
    });

    it('refusals: unknown user, disabled user, wrong tenant in userinfo, a code from another tenant', async () => {
      const unknown = last(await oauthSignIn(new Browser(), 'acme', 'stranger'));
      assert.equal(unknown.status, 403);
      assert.match(unknown.body, /not been given access/);

      await env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'zhaoliu', name: '赵六', orgCode: '10', role: 'user', enable: 'false' }], currentSyncTime: nextTimeStamp(), flag: 2, testFlag: 0, timeStamp: nextTimeStamp() });
      const disabled = last(await oauthSignIn(new Browser(), 'acme', 'zhaoliu'));
      assert.equal(disabled.status, 403);
      assert.match(disabled.body, /disabled/);

      const liar = last(await oauthSignIn(new Browser(), 'liar', 'liar1'));
      assert.equal(liar.status, 403);
      assert.match(liar.body, /different company/);

      const foreign = env.sandbox.issueCode({ tenantId: 't-beta', clientId: 'client-t-beta', userName: 'beta1' });
      const cross = await new Browser().request(`${env.base}/oauth/callback?code=${foreign}&tenant=t-acme`, { headers: { accept: 'application/json' } });
      assert.equal(cross.status, 400);
      assert.equal(JSON.parse(cross.body).error, 'upstream_refused');

      const audit = await env.gw.store.listAudit(200);
      const refused = audit.filter((e) => e.action === 'login.refused').map((e) => e.detail?.code);
      for (const code of ['not_authorized', 'user_disabled', 'tenant_mismatch', 'upstream_refused']) assert.ok(refused.includes(code), `audit lacks ${code}`);
    });

    it('mangled cookies and odd query shapes are refused cleanly, never a 5xx', async () => {
      const odd = ['/login?tenant[]=a&tenant[]=b', '/login?protocol[]=cas', '/login?return_to[x]=1', '/oauth/callback?code=a&tenant=%E0%A4', '/oauth/callback?code=a&tenant=nosuch', '/oauth/callback?code[]=a&state=b', '/cas/callback?tenant=nosuch&ticket=ST-1-a', '/cas/callback?tenant=t-acme&ticket[]=ST-1', '/logout?return_to[]=x'];
      for (const path of odd) {
        const res = await new Browser().request(`${env.base}${path}`, { headers: { cookie: 'bridge.sid=s%3Agarbage.sig; bridge.tx=%E0' } });
        assert.ok(res.status < 500, `${path}: ${res.status} ${res.body.slice(0, 120)}`);
      }
    });

    it('unknown company: a clear 400; no tenant and no appId: the company chooser page', async () => {
      const res = await new Browser().request(`${env.base}/login?tenant=nosuchcorp`);
      assert.equal(res.status, 400);
      assert.match(res.body, /not \(or no longer\) set up/);
      const chooser = await new Browser().request(`${env.base}/login`);
      assert.equal(chooser.status, 200);
      assert.match(chooser.body, /Company code/);
    });

    it('OneAccess down, slow, or answering garbage: 502/504 with a retry link, and the gateway stays healthy', async () => {
      const cases: Array<[Parameters<LoginEnv['sandbox']['setFault']>[0], number]> = [
        [{ endpoint: 'token', kind: '500' }, 502],
        [{ endpoint: 'token', kind: 'non-json' }, 502],
        [{ endpoint: 'userinfo', kind: 'non-json' }, 502],
        [{ endpoint: 'userinfo', kind: 'oversized' }, 502],
        [{ endpoint: 'token', kind: 'close' }, 502],
        [{ endpoint: 'token', kind: 'slow', delayMs: 3000 }, 504],
      ];
      for (const [fault, status] of cases) {
        const b = new Browser();
        const form = last(await b.follow(`${env.base}/login?tenant=acme`));
        env.sandbox.setFault({ ...fault!, tenantId: 't-acme' });
        const started = Date.now();
        const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! }));
        env.sandbox.setFault(null);
        assert.equal(end.status, status, `${JSON.stringify(fault)}: ${end.body.slice(0, 300)}`);
        assert.match(end.body, /id="retry" href="[^"]*\/login\?/);
        assert.ok(Date.now() - started < 5000, 'answered within the deadline');
      }
      // a OneAccess that does not listen at all
      await env.sync('tenantSync', { instanceId: 'i', tenantId: 't-beta', tenantCode: 'beta', name: 'Beta', domainName: 'http://127.0.0.1:9', flag: 2, testFlag: 0, timeStamp: nextTimeStamp() });
      const down = await new Browser().request(`${env.base}/oauth/callback?code=x&tenant=t-beta`, { headers: { accept: 'application/json' } });
      assert.equal(down.status, 502);
      await env.sync('tenantSync', { instanceId: 'i', tenantId: 't-beta', tenantCode: 'beta', name: 'Beta', domainName: env.origins.get('t-beta')!, flag: 2, testFlag: 0, timeStamp: nextTimeStamp() });
      assert.equal((await new Browser().request(`${env.base}/healthz`)).status, 200);
    });

    it('refresh: an expired upstream token is refreshed once, even under concurrent requests', async () => {
      env.sandbox.settings.accessTokenTtlSec = 1;
      try {
        const b = new Browser();
        await oauthSignIn(b, 'acme', 'lisi');
        await new Promise((r) => setTimeout(r, 1200));
        const before = env.sandbox.counters('t-acme').calls.token;
        const answers = await Promise.all(Array.from({ length: 6 }, () => session(b)));
        assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
        assert.equal(env.sandbox.counters('t-acme').calls.token - before, 1, 'exactly one refresh_token grant');
      } finally {
        env.sandbox.settings.accessTokenTtlSec = 7200;
      }
    });

    it('a failed refresh ends the session cleanly', async () => {
      env.sandbox.settings.accessTokenTtlSec = 1;
      try {
        const b = new Browser();
        await oauthSignIn(b, 'acme', 'wangwu');
        env.sandbox.setFault({ endpoint: 'token', kind: '500', tenantId: 't-acme' });
        await new Promise((r) => setTimeout(r, 1200));
        const res = await session(b);
        assert.equal(res.status, 401);
        env.sandbox.setFault(null);
        assert.equal((await session(b)).status, 401, 'the session stays ended');
      } finally {
        env.sandbox.setFault(null);
        env.sandbox.settings.accessTokenTtlSec = 7200;
      }
    });

    it('logout (OAuth): session destroyed, then OneAccess logout, then the allow-listed return_to', async () => {
      const b = new Browser();
      await oauthSignIn(b, 'acme', 'lisi');
      const logouts = env.sandbox.counters('t-acme').calls.logout;
      const res = await b.request(`${env.base}/logout?return_to=${encodeURIComponent('https://app.example.com/bye')}`);
      assert.equal(res.status, 303);
      const to = new URL(res.headers.get('location')!);
      assert.equal(to.origin, env.origins.get('t-acme'));
      assert.equal(to.pathname, '/api/v1/logout');
      assert.equal(to.searchParams.get('redirect_url'), 'https://app.example.com/bye');
      const back = await b.request(to.href);
      assert.equal(back.headers.get('location'), 'https://app.example.com/bye');
      assert.equal(env.sandbox.counters('t-acme').calls.logout, logouts + 1);
      assert.equal((await session(b)).status, 401);
      const evil = await new Browser().request(`${env.base}/logout?return_to=${encodeURIComponent('https://evil.example.net/')}`);
      assert.equal(evil.headers.get('location'), `${env.base}/signed-out`);
    });

    it('logout (CAS) goes through the tenant CAS logout and ends at the signed-out page; POST /logout works too', async () => {
      const b = new Browser();
      await casSignIn(b, 'acme', 'sunqi');
      const hops = await b.follow(`${env.base}/logout`);
      assert.equal(new URL(hops[1]!.url).pathname, '/api/v1/cas/logout');
      assert.equal(new URL(last(hops).url).pathname, '/signed-out');
      assert.equal((await session(b)).status, 401);
      const c = new Browser();
      await oauthSignIn(c, 'acme', 'lisi');
      const post = await c.request(`${env.base}/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(post.status, 303);
      assert.equal((await session(c)).status, 401);
    });

    it('deprovisioning: authSync delete, cancel and disable, and tenantSync delete end live sessions at once', async () => {
      const sign = async (u: string) => {
        const b = new Browser();
        const end = last(await oauthSignIn(b, 'acme', u));
        assert.notEqual(end.status, 403, end.body);
        assert.equal((await session(b)).status, 200);
        return b;
      };
      // re-enable zhaoliu (disabled above)
      await env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'zhaoliu', name: '赵六', orgCode: '10', role: 'user', enable: 'true' }], currentSyncTime: nextTimeStamp(), flag: 2, testFlag: 0, timeStamp: nextTimeStamp() });
      const [lisi, wangwu, zhaoliu, zhangsan] = [await sign('lisi'), await sign('wangwu'), await sign('zhaoliu'), await sign('zhangsan')];
      const auth = (flag: number, user: Record<string, unknown>) =>
        env.sync('authSync', { instanceId: 'i', tenantId: 't-acme', appId: 'app-1', userList: [user], currentSyncTime: nextTimeStamp(), flag, testFlag: 0, timeStamp: nextTimeStamp() });
      await auth(0, { userName: 'lisi' });
      assert.equal((await session(lisi)).status, 401, 'deleted user signed out');
      assert.equal((await session(wangwu)).status, 200, 'others unaffected');
      await auth(3, { userName: 'wangwu' });
      assert.equal((await session(wangwu)).status, 401, 'cancelled user signed out');
      await auth(2, { userName: 'zhaoliu', name: '赵六', orgCode: '10', role: 'user', enable: 'false' });
      assert.equal((await session(zhaoliu)).status, 401, 'disabled user signed out');
      assert.equal((await session(zhangsan)).status, 200);
      await env.sync('tenantSync', { instanceId: 'i', tenantId: 't-acme', flag: 0, testFlag: 0, timeStamp: nextTimeStamp() });
      assert.equal((await session(zhangsan)).status, 401, 'tenant delete ends every session of the tenant');
    });
  });
}

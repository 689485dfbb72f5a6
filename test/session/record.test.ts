// What a session record keeps in the store: only what the gateway reads again (no
// express-session `cookie` member, no upstream access token), and records of earlier versions,
// which carry both, still serve their sessions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';

function sidOf(b: Browser, env: LoginEnv): string {
  const raw = decodeURIComponent(b.cookie(env.base, 'bridge.sid') ?? '');
  return raw.slice(2, raw.lastIndexOf('.'));
}

describe('the stored session record', () => {
  let env: LoginEnv;
  let store: MemoryStore;
  before(async () => {
    store = new MemoryStore();
    env = await startLoginEnv(store);
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四', email: 'lisi@acme.example.com' }]);
  });
  after(() => env.close());

  const signIn = async (b: Browser) => {
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! }));
    assert.notEqual(end.status, 403, end.body);
  };
  const verify = (cookie: string) => fetch(`${env.base}/auth/verify`, { headers: { cookie, 'x-forwarded-uri': '/' } });

  it('keeps the refresh token and the expiry, not the access token nor express-session\'s cookie member', async () => {
    const b = new Browser();
    await signIn(b);
    const raw = await store.getTemp(`sess:${sidOf(b, env)}`);
    assert.ok(raw, 'a record under sess:<id>');
    const rec = JSON.parse(raw) as Record<string, unknown> & { upstream: { tokens: Record<string, unknown> } };
    assert.equal('cookie' in rec, false, raw);
    assert.deepEqual(Object.keys(rec.upstream.tokens).sort(), ['expiresAt', 'refreshToken'], raw);
    // the tenant signed in to is the claims' tenant: not stored twice
    assert.equal('tenantId' in rec.upstream, false, raw);
    assert.equal(typeof rec.upstream.tokens['refreshToken'], 'string');
    assert.ok(raw.length < 700, `${raw.length} B: ${raw}`);
    // and it serves the session
    const res = await verify(`bridge.sid=${b.cookie(env.base, 'bridge.sid')}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-auth-request-user'), 'lisi');
  });

  it('a profile equal to the claims is stored as a marker, written out before a directory change rewrites the claims', async () => {
    const b = new Browser();
    await signIn(b);
    const sid = sidOf(b, env);
    const raw = (await store.getTemp(`sess:${sid}`))!;
    const rec = JSON.parse(raw) as { upstream: { profile: unknown } };
    assert.deepEqual(rec.upstream.profile, { asClaims: true }, raw);
    assert.ok(raw.length < 520, `${raw.length} B: ${raw}`);
    // the marketplace renames the person: the session's identity follows, the profile keeps what OneAccess said
    await env.sync('authSync', {
      instanceId: 'inst-t-acme',
      tenantId: 't-acme',
      appId: 'app-1',
      userList: [{ userName: 'lisi', name: '李四四', orgCode: '10', role: 'user', enable: 'true', email: 'lisi.new@acme.example.com' }],
      currentSyncTime: nextTimeStamp(),
      flag: 1,
      testFlag: 0,
      timeStamp: nextTimeStamp(),
    });
    const after = JSON.parse((await store.getTemp(`sess:${sid}`))!) as { identity: { claims: { name: string; email: string } }; upstream: { profile: unknown } };
    assert.equal(after.identity.claims.name, '李四四');
    assert.equal(after.identity.claims.email, 'lisi.new@acme.example.com');
    assert.deepEqual(after.upstream.profile, { name: '李四', email: 'lisi@acme.example.com', orgCode: '10' });
    // the directory forgets the e-mail: the session falls back to what OneAccess said at sign-in, not to the changed claims
    await env.sync('authSync', {
      instanceId: 'inst-t-acme',
      tenantId: 't-acme',
      appId: 'app-1',
      userList: [{ userName: 'lisi', name: '李四四', orgCode: '10', role: 'user', enable: 'true' }],
      currentSyncTime: nextTimeStamp(),
      flag: 1,
      testFlag: 0,
      timeStamp: nextTimeStamp(),
    });
    const last = JSON.parse((await store.getTemp(`sess:${sid}`))!) as { identity: { claims: { email?: string } } };
    assert.equal(last.identity.claims.email, 'lisi@acme.example.com');
  });

  it('last seen comes from the record\'s time to live: a touch moves it, and no seen: key is written', async () => {
    const b = new Browser();
    await signIn(b);
    const sid = sidOf(b, env);
    const t0 = Date.now();
    const atSignIn = await env.gw.sessions.lastSeenAt(sid);
    assert.ok(atSignIn !== null && Math.abs(atSignIn - t0) < 1500, `${atSignIn} vs ${t0}`);
    await new Promise((r) => setTimeout(r, 300));
    const rec = await env.gw.sessions.read(sid);
    await env.gw.sessions.touch(sid, rec!);
    const touched = await env.gw.sessions.lastSeenAt(sid);
    assert.ok(touched !== null && touched >= atSignIn + 250 && touched <= Date.now(), `${touched} after ${atSignIn}`);
    assert.equal(await store.getTemp(`seen:${sid}`), null);
    await env.gw.sessions.end(sid);
    assert.equal(await env.gw.sessions.lastSeenAt(sid), null);
  });

  it('a record an earlier version wrote (express-session cookie, access token) still serves its session', async () => {
    const b = new Browser();
    await signIn(b);
    const rec = JSON.parse((await store.getTemp(`sess:${sidOf(b, env)}`))!) as { upstream: Record<string, unknown> & { tokens: Record<string, unknown> } };
    const old = {
      cookie: { originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
      ...rec,
      upstream: { ...rec.upstream, tokens: { accessToken: 'AT-0123456789abcdef', ...rec.upstream.tokens } },
    };
    const sid = 'earlier-version-session-id-0123456';
    await store.putTemp(`sess:${sid}`, JSON.stringify(old), 60_000);
    const cookie = env.gw.sessions.cookie.setCookie(sid).split(';')[0]!;
    const res = await verify(cookie);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-auth-request-user'), 'lisi');
    assert.ok(await env.gw.sessions.load(sid), 'loads through the session API too');
  });
});

// The pages people see, over real HTTP through the gateway and the OneAccess sandbox, in both
// languages: chosen by ?lang=, Accept-Language and ui.defaultLanguage (zh-CN); the signed-in page
// when no app is configured; refusals that say (and log) whom they concern.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MemoryStore } from '../../src/store/memory.ts';
import { Browser, hiddenInput, last, type Page } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';

const EN = { 'accept-language': 'en-US,en;q=0.9' };
const ZH = { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' };

describe('pages in Chinese and English', () => {
  let env: LoginEnv;
  const logs: Array<Record<string, unknown>> = [];
  before(async () => {
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
    env = await startLoginEnv(new MemoryStore(), { ui: { defaultLanguage: 'zh-CN' } }, { log: pino({ level: 'info' }, sink) });
    await env.addTenant('t-acme', 'acme', [{ userName: 'zhangsan', name: '张三', role: 'admin' }, { userName: 'lisi', name: '李四' }], {
      syncedUsers: [{ userName: 'zhangsan', name: '张三', orgCode: '10', role: 'admin', enable: 'true' }],
    });
  });
  after(() => env?.close());

  const get = (path: string, headers: Record<string, string> = {}) => new Browser(headers).request(`${env.base}${path}`);

  it('the company chooser: zh-CN by default, English by Accept-Language, ?lang= over both', async () => {
    const zh = await get('/login');
    assert.equal(zh.status, 200);
    assert.match(zh.body, /<html lang="zh-CN">/);
    assert.match(zh.body, /<h1>使用企业账号登录<\/h1>/);
    assert.equal(zh.headers.get('content-language'), 'zh-CN');

    const en = await get('/login', EN);
    assert.match(en.body, /<html lang="en">/);
    assert.match(en.body, /<h1>Sign in with your company account<\/h1>/);

    const forced = await get('/login?lang=en', ZH);
    assert.match(forced.body, /<html lang="en">/);
    assert.match(forced.body, /name="lang" value="en"/, 'the chosen language travels with the form');
    assert.match((await get('/login?lang=zh-CN', EN)).body, /<html lang="zh-CN">/);
  });

  it('a refusal page in either language; JSON keeps the English code and text', async () => {
    const zh = await get('/login?tenant=nope');
    assert.equal(zh.status, 400);
    assert.match(zh.body, /该企业未开通（或已不再开通）本应用/);
    assert.match(zh.body, /错误 unknown_tenant（HTTP 400）/);
    const en = await get('/login?tenant=nope', EN);
    assert.match(en.body, /This company is not \(or no longer\) set up for this app/);
    const json = await get('/login?tenant=nope', { accept: 'application/json', ...ZH });
    const body = JSON.parse(json.body) as { error: string; error_description: string };
    assert.equal(body.error, 'unknown_tenant');
    assert.match(body.error_description, /^This company is not/);
  });

  async function signIn(b: Browser, userName: string): Promise<Page[]> {
    const form = last(await b.follow(`${env.base}/login?tenant=acme`));
    assert.equal(form.status, 200, form.body.slice(0, 300));
    return b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName, continue: hiddenInput(form.body, 'continue')! });
  }

  it('the OneAccess sandbox form speaks the same language', async () => {
    const zh = last(await new Browser().follow(`${env.base}/login?tenant=acme`));
    assert.match(zh.body, /<html lang="zh-CN">/);
    assert.match(zh.body, /acme Ltd · OneAccess 沙箱/);
    const en = last(await new Browser(EN).follow(`${env.base}/login?tenant=acme`));
    assert.match(en.body, /acme Ltd · OneAccess sandbox/);
    assert.match(en.body, /Sign in as:/);
  });

  it('the sandbox\'s unified login page and its error pages too', async () => {
    const unified = env.sandbox.unifiedLoginUrl.split('#')[0]!;
    const zh = await new Browser().request(unified);
    assert.match(zh.body, /<html lang="zh-CN">/);
    assert.match(zh.body, /云商店统一登录 · 沙箱/);
    assert.match((await new Browser(EN).request(unified)).body, /KooGallery unified login · sandbox/);
    const bad = `${env.origins.get('t-acme')}/api/v1/oauth2/authorize?client_id=nobody&response_type=code`;
    const zhBad = await new Browser().request(bad);
    assert.equal(zhBad.status, 400);
    assert.match(zhBad.body, /授权请求无效/);
    assert.match((await new Browser(EN).request(bad)).body, /Invalid authorization request[\s\S]*Unknown client_id &quot;nobody&quot;/);
  });

  it('without BRIDGE_APP_URL a sign-in lands on a page saying who is signed in, with sign-out', async () => {
    const b = new Browser();
    const hops = await signIn(b, 'zhangsan');
    const landing = last(hops);
    assert.equal(new URL(landing.url).pathname, '/signed-in');
    assert.equal(landing.status, 200);
    assert.match(landing.body, /<h1>您已登录<\/h1>/);
    assert.match(landing.body, /<dd id="name">张三<\/dd>/);
    assert.match(landing.body, /<dd id="user">zhangsan<\/dd>/);
    assert.match(landing.body, /<dd id="role">管理员<\/dd>/);
    assert.match(landing.body, new RegExp(`<form method="post" action="${env.base}/logout">`));
    assert.match((await b.request(`${env.base}/signed-in?lang=en`)).body, /<h1>You are signed in<\/h1>/);

    const out = last(await b.follow(`${env.base}/logout`, { method: 'POST' }));
    assert.equal(new URL(out.url).pathname, '/signed-out');
    assert.match(out.body, /<h1>您已退出登录<\/h1>/);
    const again = await b.request(`${env.base}/signed-in`);
    assert.equal(again.status, 303, 'no session: off to sign in');
    assert.match(again.headers.get('location') ?? '', /\/login\?return_to=/);
  });

  it('a person who was not authorized reads why in Chinese, and the log names tenant and user', async () => {
    logs.length = 0;
    const refused = last(await signIn(new Browser(), 'lisi'));
    assert.equal(refused.status, 403);
    assert.match(refused.body, /<title>未获授权<\/title>/);
    assert.match(refused.body, /您（lisi）尚未获得本应用的访问授权/);
    const line = logs.find((l) => l.msg === 'sign-in refused');
    assert.ok(line, JSON.stringify(logs));
    assert.equal(line.refusal, 'not_authorized');
    assert.equal(line.tenantId, 't-acme');
    assert.equal(line.userName, 'lisi');
  });
});

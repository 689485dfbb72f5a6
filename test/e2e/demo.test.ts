// `npm run demo` walked in a real browser (system Chromium): the landing page, OAuth and CAS
// sign-ins through the OneAccess sandbox into the app behind the gateway, the unified login page
// and the workbench entry, and the marketplace panel taking access away while the app page is open.
// With UPDATE_SCREENSHOTS=1 the screenshots go to docs/img/ (the README shows them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_INSTALL, launchChromium, type Chromium } from '../helpers/chromium.ts';
import { requireBinary } from '../helpers/redis-server.ts';
import { startDemo, type Demo } from '../../src/demo/demo.ts';

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? new URL('../../docs/img/', import.meta.url).pathname : mkdtempSync(join(tmpdir(), 'bridge-shots-'));
const PHONE = { width: 390, height: 844 };

describe('the demo in Chromium', requireBinary('chromium', CHROMIUM_INSTALL), () => {
  let demo: Demo;
  let chrome: Chromium;
  before(async () => {
    demo = await startDemo({ port: 0, log: pino({ level: 'silent' }) });
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await demo?.close();
  });

  async function withContext(fn: (ctx: BrowserContext) => Promise<void>, opts: { locale?: string; viewport?: { width: number; height: number } } = {}): Promise<void> {
    const ctx = await chrome.browser.newContext({ locale: opts.locale ?? 'zh-CN', viewport: opts.viewport ?? { width: 1100, height: 900 } });
    ctx.setDefaultTimeout(15_000);
    try {
      await fn(ctx);
    } finally {
      await ctx.close();
    }
  }

  async function shot(page: Page, name: string): Promise<void> {
    const file = join(SHOTS, name);
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${name} is a PNG`);
  }

  const onApp = (page: Page) => page.waitForURL((u) => u.origin === demo.gatewayUrl && u.pathname === '/');

  async function pick(page: Page, userName: string): Promise<void> {
    await Promise.all([onApp(page), page.click(`button[name="userName"][value="${userName}"]`)]);
  }

  async function panel(ctx: BrowserContext, op: string, user?: string, tenant?: string): Promise<void> {
    const page = await ctx.newPage();
    await page.goto(demo.landingUrl);
    const sel = `button[data-op="${op}"]${user ? `[data-user="${user}"]` : ''}${tenant ? `[data-tenant="${tenant}"]` : ''}`;
    await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.landingUrl) && u.hash !== ''), page.click(sel)]);
    await page.close();
  }

  it('the landing page explains the journey, every push answered 000000', async () => {
    await withContext(async (ctx) => {
      const page = await ctx.newPage();
      await page.goto(demo.landingUrl);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
      assert.equal(await page.textContent('h1'), 'oneaccess-bridge：演示');
      assert.equal(await page.locator('#journey li').count(), 4);
      assert.match((await page.textContent('#journey')) ?? '', /tenantSync: 2 × 000000[\s\S]*applicationSync: 2 × 000000[\s\S]*allOrgSync, authSync: 4 × 000000/);
      assert.equal(await page.locator('#pushes td:text-is("000000")').count(), 8);
      await shot(page, 'demo-landing.png');
      await page.click('#lang-switch');
      assert.equal(await page.textContent('h1'), 'oneaccess-bridge: the demo');
    });
  });

  it('OAuth: sign in to acme, see the identity and the department in the app, lose access when revoked', async () => {
    await withContext(async (ctx) => {
      const app = await ctx.newPage();
      await app.goto(demo.landingUrl);
      await app.click('#signin-acme');
      await app.waitForURL((u) => u.origin === demo.tenants[0]!.domainName);
      assert.match((await app.textContent('h1')) ?? '', /艾克美科技有限公司 · OneAccess 沙箱/);
      await shot(app, 'sandbox-login.png');
      await pick(app, 'zhangsan');
      assert.equal(await app.textContent('#name'), '张三');
      assert.equal(await app.textContent('#dept'), '研发部');
      assert.equal(await app.textContent('#role'), 'admin');
      assert.equal(await app.textContent('#token'), '已用网关的 JWKS 验证');
      await shot(app, 'demo-app.png');

      await panel(ctx, 'revoke', 'zhangsan');
      await app.waitForSelector('#ended', { state: 'visible' });
      assert.match((await app.textContent('#ended')) ?? '', /访问已结束/);
      await app.reload();
      assert.notEqual(new URL(app.url()).origin, demo.gatewayUrl, 'no session: the app is not shown, sign-in starts again');

      await panel(ctx, 'grant', 'zhangsan');
    });
  });

  it('CAS: sign in to beta; a role change shows on the open app page, disabling the person ends it', async () => {
    await withContext(async (ctx) => {
      const app = await ctx.newPage();
      await app.goto(demo.landingUrl);
      await app.click('#signin-beta');
      await app.waitForURL((u) => u.origin === demo.tenants[1]!.domainName);
      await pick(app, 'zhaoliu');
      assert.equal(await app.textContent('#name'), '赵六');
      assert.equal(await app.textContent('#dept'), '生产部');
      assert.equal(await app.textContent('#role'), 'admin');
      // a role change reaches the open page: the live session's identity follows the directory
      await panel(ctx, 'role', 'zhaoliu');
      await app.waitForFunction('document.getElementById("role").textContent === "user"');
      await panel(ctx, 'disable', 'zhaoliu');
      await app.waitForSelector('#ended', { state: 'visible' });
      await panel(ctx, 'enable', 'zhaoliu');
    });
  });

  it('the unified login page and the enterprise workbench entry both land in the app', async () => {
    await withContext(async (ctx) => {
      const page = await ctx.newPage();
      await page.goto(demo.landingUrl);
      await page.click('#signin-unified');
      await page.waitForURL((u) => u.pathname.startsWith('/unified-login'));
      await Promise.all([onApp(page), page.click('form.pick:has(input[name="user"][value="sunqi"]) button')]);
      assert.equal(await page.textContent('#name'), '孙七');
    });
    await withContext(async (ctx) => {
      const page = await ctx.newPage();
      await page.goto(demo.landingUrl);
      await Promise.all([onApp(page), page.click('#workbench-lisi')]);
      assert.equal(await page.textContent('#name'), '李四');
      assert.equal(await page.textContent('#dept'), '市场部');

      // deleting the tenant ends every session of its people
      await panel(ctx, 'delete-tenant', undefined, 't-acme');
      await page.waitForSelector('#ended', { state: 'visible' });
      await panel(ctx, 'restore-tenant', undefined, 't-acme');
    });
  });

  it('the marketplace panel takes forms only from its own page', async () => {
    const forged = await fetch(new URL('/marketplace', demo.landingUrl), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'tenant=t-acme&user=lisi&op=revoke&csrf=guess' });
    assert.equal(forged.status, 403);
    assert.equal(demo.tenants[0]!.people.find((p) => p.userName === 'lisi')!.grant, 'granted');
  });

  it('a person the marketplace never authorized reads why, in Chinese, on a phone-sized screen', async () => {
    await withContext(
      async (ctx) => {
        const page = await ctx.newPage();
        await page.goto(`${demo.gatewayUrl}/login?tenant=acme`);
        await page.click('button[name="userName"][value="wangwu"]');
        await page.waitForSelector('#message');
        assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
        assert.equal(await page.textContent('h1'), '未获授权');
        assert.match((await page.textContent('#message')) ?? '', /您（wangwu）尚未获得本应用的访问授权/);
        // evaluated in the page; a string so the test needs no DOM typings
        const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
        assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px too wide)`);
        await shot(page, 'refusal-phone.png');
      },
      { viewport: PHONE },
    );
  });
});

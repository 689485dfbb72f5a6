// A real browser (system Chromium) through nginx, the gateway, the OneAccess sandbox and the app:
// the pages people actually see, clicked as they would click them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_INSTALL, launchChromium, type Chromium } from '../helpers/chromium.ts';
import { NGINX_INSTALL } from '../helpers/nginx.ts';
import { requireBinary } from '../helpers/redis-server.ts';
import { startStack, type Stack } from './stack.ts';

const needs = { skip: requireBinary('chromium', CHROMIUM_INSTALL).skip || requireBinary('nginx', NGINX_INSTALL).skip };

describe('sign-in in Chromium', needs, () => {
  let stack: Stack;
  let chrome: Chromium;
  let sandboxOrigin: string;
  before(async () => {
    stack = await startStack();
    await stack.addTenant('t-acme', 'acme', [
      { userName: 'zhangsan', name: '张三', role: 'admin' },
      { userName: 'lisi', name: '李四' },
    ]);
    sandboxOrigin = stack.env.sandbox.tenant('t-acme').origin;
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await stack?.close();
  });

  /** a fresh browser profile per test: no cookies at the gateway or at OneAccess */
  async function withPage(fn: (page: Page) => Promise<void>): Promise<void> {
    const context: BrowserContext = await chrome.browser.newContext();
    context.setDefaultTimeout(10_000);
    try {
      await fn(await context.newPage());
    } finally {
      await context.close();
    }
  }

  /** on the company chooser: type the code, continue, land on the OneAccess sandbox form */
  async function chooseCompany(page: Page, code: string): Promise<void> {
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.textContent('h1'), 'Sign in with your company account');
    await page.fill('#tenant', code);
    await Promise.all([page.waitForURL((u) => u.origin === sandboxOrigin), page.click('button[type=submit]')]);
    assert.match((await page.textContent('h1')) ?? '', /acme Ltd · OneAccess sandbox/);
  }

  async function pickUser(page: Page, userName: string, landing: string): Promise<void> {
    await Promise.all([page.waitForURL(landing), page.click(`button[name="userName"][value="${userName}"]`)]);
  }

  it('the app URL -> company chooser -> OneAccess sandbox -> back on the app page with the Chinese name', async () => {
    await withPage(async (page) => {
      const app = `${stack.origin}/app/page?tab=1`;
      await page.goto(app);
      await chooseCompany(page, 'acme');
      await pickUser(page, 'zhangsan', app);
      assert.equal(await page.textContent('#name'), '张三');
      assert.equal(await page.textContent('#token'), 'token verified');

      const shot = join(tmpdir(), `bridge-e2e-${process.pid}.png`);
      try {
        await page.screenshot({ path: shot });
        const png = readFileSync(shot);
        assert.ok(png.length > 1000, `screenshot is ${png.length} bytes`);
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG signature');
      } finally {
        rmSync(shot, { force: true });
      }
    });
  });

  it('signing out shows the signed-out page, and the app asks for the company again', async () => {
    await withPage(async (page) => {
      const app = `${stack.origin}/app/page`;
      await page.goto(app);
      await chooseCompany(page, 'acme');
      await pickUser(page, 'lisi', app);
      assert.equal(await page.textContent('#name'), '李四');

      await Promise.all([page.waitForURL(`${stack.origin}/signed-out`), page.click('#signout')]);
      assert.equal(await page.textContent('h1'), 'You are signed out');
      assert.equal(await page.getAttribute('#signin', 'href'), `${stack.origin}/login`);

      await page.goto(app);
      assert.equal(new URL(page.url()).pathname, '/login', 'the session is gone: the app is not shown');
      // OneAccess signed out too: the sandbox asks who you are again
      await chooseCompany(page, 'acme');
    });
  });

  it("someone else's sign-in link opened while signed in asks before switching (login CSRF), through nginx", async () => {
    await withPage(async (page) => {
      const app = `${stack.origin}/app/page`;
      await page.goto(app);
      await chooseCompany(page, 'acme');
      await pickUser(page, 'zhangsan', app);
      // an unsolicited callback carrying a code OneAccess issued for lisi (the attacker)
      const foreign = () => `${stack.origin}/oauth/callback?code=${stack.env.sandbox.issueCode({ tenantId: 't-acme', clientId: 'client-t-acme', userName: 'lisi', redirectUri: `${stack.origin}/oauth/callback` })}&tenant=t-acme`;
      await page.goto(`${foreign()}&lang=en`);
      assert.equal(await page.textContent('h1'), 'Switch account?');
      assert.match((await page.textContent('#current')) ?? '', /张三 \(zhangsan\)/);
      assert.match((await page.textContent('#next')) ?? '', /李四 \(lisi\)/);
      await Promise.all([page.waitForURL(stack.appUrl), page.click('#keep')]);
      await page.goto(app);
      assert.equal(await page.textContent('#name'), '张三', 'still signed in as the victim');

      await page.goto(foreign());
      await Promise.all([page.waitForURL(stack.appUrl), page.click('#continue')]);
      await page.goto(app);
      assert.equal(await page.textContent('#name'), '李四', 'switched on the person\'s own click');
    });
  });

  it('a sign-in link naming the company goes straight to OneAccess (CAS) and back', async () => {
    await withPage(async (page) => {
      const app = `${stack.origin}/app/cas`;
      await page.goto(`${stack.origin}/login?tenant=acme&protocol=cas&return_to=${encodeURIComponent(app)}`);
      assert.equal(new URL(page.url()).origin, sandboxOrigin);
      await pickUser(page, 'lisi', app);
      assert.equal(await page.textContent('#name'), '李四');
      assert.equal(await page.textContent('#token'), 'token verified');
    });
  });
});

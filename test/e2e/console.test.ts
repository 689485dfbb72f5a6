// The operator console in a real browser (system Chromium): an operator tenant's admin signs in
// through the normal sign-in, finds 李四, ends his session (it is over at once), and sees the
// marketplace push that just arrived — and why 李四 cannot get in now.
// With UPDATE_SCREENSHOTS=1 the screenshots go to docs/img/ (the README shows them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM_INSTALL, launchChromium, type Chromium } from '../helpers/chromium.ts';
import { requireBinary } from '../helpers/redis-server.ts';
import { Browser } from '../helpers/browser.ts';
import { nextTimeStamp, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { tempEmbeddedStore, type OpenedStore } from '../helpers/stores.ts';
import { consoleSettings, cookieOf, signIn, verifyStatus } from '../admin/console-env.ts';

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? new URL('../../docs/img/', import.meta.url).pathname : mkdtempSync(join(tmpdir(), 'bridge-console-shots-'));

describe('operator console in Chromium', requireBinary('chromium', CHROMIUM_INSTALL), () => {
  let opened: OpenedStore;
  let env: LoginEnv;
  let chrome: Chromium;
  before(async () => {
    opened = tempEmbeddedStore('bridge-console-e2e');
    env = await startLoginEnv(opened.store, consoleSettings());
    await env.addTenant('t-ops', 'ops', [{ userName: 'opsadmin', name: '运维管理员', role: 'admin' }]);
    await env.addTenant('t-acme', 'acme', [
      { userName: 'zhangsan', name: '张三', role: 'admin' },
      { userName: 'lisi', name: '李四' },
    ]);
    await env.sync('allOrgSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', orgInfoList: [{ orgCode: '1', orgName: '总部' }, { orgCode: '10', orgName: '研发部', parentCode: '1' }, { orgCode: '11', orgName: '测试组', parentCode: '10' }], testFlag: 0, timeStamp: nextTimeStamp() });
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await env?.close();
    await opened?.cleanup();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, name), fullPage: true });

  it('signs an operator in, finds a user, ends their session and sees the sync that just arrived', async () => {
    // 李四 works in the app
    const lisi = new Browser();
    await signIn(env, lisi, 'lisi', 'acme');
    const lisiCookie = cookieOf(env, lisi);
    assert.equal(await verifyStatus(env.base, lisiCookie), 200);

    const context = await chrome.browser.newContext({ locale: 'zh-CN', viewport: { width: 1200, height: 800 } });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    try {
      // the console asks for a sign-in; the operator uses their company account (tenant ops)
      await page.goto(`${env.base}/admin`);
      assert.equal(new URL(page.url()).pathname, '/admin/login');
      await page.click('#tenant-signin');
      await page.fill('#tenant', 'ops');
      await Promise.all([page.waitForURL((u) => u.pathname === '/sandbox/login' || u.pathname.includes('oauth') || u.origin !== env.base), page.click('button[type=submit]')]);
      await Promise.all([page.waitForURL(`${env.base}/admin/tenants`), page.click('button[name="userName"][value="opsadmin"]')]);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
      assert.match((await page.textContent('#operator')) ?? '', /运维管理员/);
      const acmeRow = page.locator('#tenants tr', { hasText: 'acme Ltd' });
      assert.match((await acmeRow.textContent()) ?? '', /正常/);
      assert.match((await acmeRow.textContent()) ?? '', /client-t-acme/);
      await shot(page, 'console-tenants.png');

      // find 李四 in the tenant
      await Promise.all([page.waitForURL(/\/admin\/tenants\/t-acme$/), acmeRow.locator('a').first().click()]);
      await page.fill('#q', '李四');
      await Promise.all([page.waitForURL(/q=/), page.click('#find')]);
      const rows = page.locator('#users tbody tr');
      assert.equal(await rows.count(), 1);
      assert.match((await rows.first().textContent()) ?? '', /lisi/);
      await Promise.all([page.waitForURL(/\/users\/lisi$/), rows.first().locator('a').first().click()]);
      assert.match((await page.textContent('#decision')) ?? '', /此人现在可以登录/);
      assert.equal(await page.locator('#sessions tbody tr').count(), 1);
      await shot(page, 'console-user.png');

      // end his session: over at once
      await Promise.all([page.waitForURL(/ended=1/), page.click('#end-user')]);
      assert.match((await page.textContent('#notice')) ?? '', /已结束 1 个会话/);
      assert.equal(await verifyStatus(env.base, lisiCookie), 401, '李四 is signed out');
      assert.equal(await page.locator('#sessions').count(), 0);

      // the marketplace takes his authorization away; the sync log shows the push at once
      await env.sync('authSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', appId: 'app-1', userList: [{ userName: 'lisi', name: '李四', orgCode: '10', role: 'user', enable: 'false' }], currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
      const junk = JSON.stringify({ tenantId: 't-acme' });
      await fetch(`${env.base}/produceAPI/v2/authSync`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-timestamp': String(Date.now()), 'x-nonce': 'A'.repeat(32), 'x-sign': 'bad' }, body: junk });
      await page.click('nav a[href$="/admin/syncs"]');
      await page.waitForURL(/\/admin\/syncs$/);
      const newestOk = page.locator('#syncs tbody tr', { hasText: '000000' }).first();
      const text = (await newestOk.textContent()) ?? '';
      assert.match(text, /authSync/);
      assert.match(text, /t-acme/);
      assert.equal(await page.locator('#sync-failures tbody tr').count() >= 1, true, 'the failed push is listed first');
      await shot(page, 'console-syncs.png');

      // why can't 李四 get in? The console answers with the sign-in's own decision
      await page.goto(`${env.base}/admin/tenants/t-acme/users/lisi?lang=en`);
      assert.match((await page.textContent('#decision')) ?? '', /would be refused now/);
      assert.match((await page.textContent('#decision')) ?? '', /user_disabled/);
      await shot(page, 'console-refused-en.png');
    } finally {
      await context.close();
    }
  });
});

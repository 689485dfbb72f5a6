// Starting, changing and stopping the sandbox: nothing may keep the test process alive.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startOneAccessSandbox } from '../../src/sandbox/oneaccess.ts';
import { CLIENT_ID, redeem, startFixture, tenantInput } from './helpers.ts';

test('close() returns promptly despite keep-alive sockets and held slow requests', async () => {
  const fx = await startFixture();
  const agent = new http.Agent({ keepAlive: true });
  const idle = await new Promise<number>((resolve, reject) => {
    http.get(`${fx.a.origin}/sandbox/login`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
  assert.equal(idle, 200);
  fx.sandbox.setFault({ endpoint: 'token', kind: 'slow', delayMs: 60_000 });
  const held = redeem(fx.a.origin, fx.sandbox.issueCode({ tenantId: 't-a', clientId: CLIENT_ID, userName: 'lisi02' }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await fx.sandbox.close();
  assert.ok(Date.now() - started < 1000);
  await assert.rejects(held);
  agent.destroy();
  await assert.rejects(fetch(fx.a.origin), TypeError, 'listener is gone');
  await assert.rejects(fx.sandbox.addTenant(tenantInput('t-c')), { code: 'closed' });
});

test('tenants can be removed and added at runtime; duplicates are refused', async () => {
  const sandbox = await startOneAccessSandbox();
  try {
    const c = await sandbox.addTenant(tenantInput('t-c'));
    await assert.rejects(sandbox.addTenant(tenantInput('t-c')), { name: 'SandboxError', code: 'duplicate_tenant' });
    assert.equal(sandbox.updateTenant('t-c', { name: 'Renamed' }).name, 'Renamed');
    await sandbox.removeTenant('t-c');
    await assert.rejects(fetch(`${c.origin}/sandbox/login`), TypeError);
    assert.throws(() => sandbox.tenant('t-c'), { code: 'unknown_tenant' });
  } finally {
    await sandbox.close();
  }
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadSettings } from '../../src/config/load.ts';
import { clientSecretKeyCheck } from '../../src/bootstrap.ts';

function problems(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('settings', () => {
  it('config/default.yaml alone gives the contract defaults', () => {
    const s = loadSettings({ env: {}, argv: [] });
    assert.equal(s.port, 8080);
    assert.equal(s.publicUrl, 'http://localhost:8080');
    assert.equal(s.store, 'embedded:./data');
    assert.equal(s.marketplace.maxBodyBytes, 2 * 1024 * 1024);
    assert.equal(s.login.unifiedLoginUrl, 'https://macroverse.huaweicloud.com/unified-login/#/portal-login');
    assert.equal(s.login.allowInsecureIdp, false);
    assert.equal(s.tokens.alg, 'ES256');
    assert.ok(s.developmentDefaults.some((d) => d.startsWith('sessionSecret')));
  });

  it('environment variables win over the file; booleans and lists are parsed strictly', () => {
    const s = loadSettings({
      env: {
        PORT: '9090',
        BRIDGE_PUBLIC_URL: 'https://login.example.com/',
        BRIDGE_STORE: 'redis://localhost:6379/1',
        BRIDGE_ALLOW_INSECURE_IDP: 'false',
        BRIDGE_ALLOWED_RETURN_URLS: 'https://a.example.com, https://b.example.com/app',
        BRIDGE_SYNC_PATH_PREFIX: '/isv/produce',
        BRIDGE_APP_URL: 'https://app.example.com',
      },
      argv: [],
    });
    assert.equal(s.port, 9090);
    assert.equal(s.publicUrl, 'https://login.example.com');
    assert.equal(s.login.allowInsecureIdp, false);
    assert.deepEqual(s.app.allowedReturnUrls, ['https://a.example.com', 'https://b.example.com/app']);
    assert.equal(s.marketplace.syncPathPrefix, '/isv/produce');
  });

  it('--config FILE is merged over the defaults and under the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'port: 7000\nlogin:\n  appId: from-file\n  tenantHosts: ["{tenantCode}.app.example.com"]\n');
    const s = loadSettings({ env: { BRIDGE_APP_ID: 'from-env' }, argv: ['--config', file] });
    assert.equal(s.port, 7000);
    assert.equal(s.login.appId, 'from-env');
    assert.deepEqual(s.login.tenantHosts, ['{tenantCode}.app.example.com']);
    assert.equal(loadSettings({ env: { BRIDGE_CONFIG: file }, argv: [] }).port, 7000);
  });

  it('every invalid setting is listed at once, with path, value and reason; secrets stay hidden', () => {
    const list = problems(() =>
      loadSettings({
        env: { PORT: 'eighty', BRIDGE_STORE: 'postgres://x', BRIDGE_ALLOW_INSECURE_IDP: 'perhaps', BRIDGE_SESSION_SECRET: 'short-secret-value', BRIDGE_PUBLIC_URL: 'ftp://x' },
        argv: [],
      }),
    );
    const paths = list.map((p) => p.path).sort();
    assert.deepEqual(paths, ['login.allowInsecureIdp', 'port', 'publicUrl', 'sessionSecret', 'store']);
    const secret = list.find((p) => p.path === 'sessionSecret')!;
    assert.equal(secret.value, '(secret, hidden)');
    assert.ok(!JSON.stringify(list).includes('short-secret-value'));
    assert.match(list.find((p) => p.path === 'store')!.reason, /embedded:<directory>/);
  });

  it('production refuses insecure IdPs, the memory store, missing secrets and keys, and a local public URL, all in one run', () => {
    const list = problems(() => loadSettings({ env: { NODE_ENV: 'production', BRIDGE_ALLOW_INSECURE_IDP: 'true', BRIDGE_STORE: 'memory' }, argv: [] }));
    assert.deepEqual(list.map((p) => p.path).sort(), ['login.allowInsecureIdp', 'marketplace.clientSecretKey', 'marketplace.kitAccessKey', 'publicUrl', 'sessionSecret', 'store']);
  });

  const PRODUCTION = { NODE_ENV: 'production', BRIDGE_SESSION_SECRET: 's'.repeat(40), BRIDGE_KIT_ACCESS_KEY: 'k', BRIDGE_CLIENT_SECRET_KEY: 'pem', BRIDGE_PUBLIC_URL: 'https://login.example.com' };

  it('production starts with the secrets, the keys and a public https URL', () => {
    assert.equal(loadSettings({ env: PRODUCTION, argv: [] }).publicUrl, 'https://login.example.com');
    assert.equal(loadSettings({ env: { ...PRODUCTION, BRIDGE_CLIENT_SECRET_KEY: '', BRIDGE_CLIENT_SECRET_KEY_FILE: new URL(import.meta.url).pathname }, argv: [] }).store, 'embedded:./data');
  });

  it('production refuses http:// and loopback public URLs', () => {
    for (const url of ['http://login.example.com', 'https://localhost', 'https://127.0.0.1:8443', 'https://[::1]', 'https://app.localhost']) {
      const list = problems(() => loadSettings({ env: { ...PRODUCTION, BRIDGE_PUBLIC_URL: url }, argv: [] }));
      assert.deepEqual(list.map((p) => p.path), ['publicUrl'], url);
    }
  });

  it('production problems are listed together with schema problems', () => {
    const list = problems(() => loadSettings({ env: { NODE_ENV: 'production', PORT: 'x', BRIDGE_SESSION_SECRET: 'short' }, argv: [] }));
    const paths = list.map((p) => p.path);
    for (const p of ['port', 'sessionSecret', 'marketplace.kitAccessKey', 'marketplace.clientSecretKey', 'publicUrl']) assert.ok(paths.includes(p), `${p} in ${paths.join()}`);
    assert.equal(paths.filter((p) => p === 'sessionSecret').length, 1, 'one problem per setting');
  });

  it('access rules: a prefix that no canonical path could match is a listed problem; caseSensitivePaths defaults to false', () => {
    const list = problems(() => loadSettings({ env: {}, argv: [], overrides: { access: { rules: [{ pathPrefix: '/ok' }, { pathPrefix: '/a;b' }, { pathPrefix: '/%2fadmin' }] } } }));
    assert.deepEqual(list.map((p) => p.path), ['access.rules.1.pathPrefix', 'access.rules.2.pathPrefix']);
    assert.match(list[0]!.reason, /";" path parameters/);
    const s = loadSettings({ env: {}, argv: [], overrides: { access: { rules: [{ pathPrefix: '/Admin/' }] } } });
    assert.equal(s.access.caseSensitivePaths, false);
  });

  it('an unreadable --config file is a listed problem', () => {
    const list = problems(() => loadSettings({ env: {}, argv: ['--config=/nonexistent/bridge.yaml'] }));
    assert.equal(list[0]!.path, '--config');
    assert.match(list[0]!.reason, /ENOENT/);
  });

  it('the process exits 2 and prints every problem, starting nothing', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: '-1', BRIDGE_STORE: 'nowhere', BRIDGE_KIT_ACCESS_KEY: 'kit-secret-must-not-leak', BRIDGE_SESSION_SECRET: 'x' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /port = "-1": Too small/);
    assert.match(r.stderr, /store = "nowhere"/);
    assert.match(r.stderr, /sessionSecret = \(secret, hidden\)/);
    assert.ok(!r.stderr.includes('kit-secret-must-not-leak'));
    assert.equal(r.stdout, '');
  });
  it('a schema problem does not hold back the checks across settings nor the key check: one run lists them all', () => {
    const list = problems(() =>
      loadSettings({
        env: { PORT: 'eighty', BRIDGE_PROXY: 'true', BRIDGE_CLIENT_SECRET_KEY: 'not-a-key' },
        argv: [],
        overrides: {
          session: { idleTimeoutSec: 3600, absoluteTimeoutSec: 60 },
          oidc: { clients: [{ client_id: 'rp', client_secret: 'rp-secret-0123456789abcdefghijklmnop', redirect_uris: ['https://rp.example.com/cb'], id_token_signed_response_alg: 'EdDSA' }] },
        },
        checks: [clientSecretKeyCheck],
      }),
    );
    assert.deepEqual(list.map((p) => p.path).sort(), ['app.proxy', 'marketplace.clientSecretKey', 'oidc.clients.0.id_token_signed_response_alg', 'port', 'session.absoluteTimeoutSec']);
    assert.match(list.find((p) => p.path === 'marketplace.clientSecretKey')!.reason, /PKCS#8/);
    assert.ok(!JSON.stringify(list).includes('not-a-key'));
  });

  it('the checks across settings judge what the schema parsed when it passed (defaults and env text alike)', () => {
    assert.deepEqual(problems(() => loadSettings({ env: { BRIDGE_PROXY: 'yes' }, argv: [] })).map((p) => p.path), ['app.proxy']);
    const list = problems(() => loadSettings({ env: {}, argv: [], overrides: { session: { absoluteTimeoutSec: '60' } } }));
    assert.deepEqual(list.map((p) => p.path), ['session.absoluteTimeoutSec'], 'against the default idle timeout');
    assert.equal(loadSettings({ env: {}, argv: [], checks: [clientSecretKeyCheck] }).marketplace.clientSecretKey, '', 'no key, nothing to check');
  });

  it('the process lists a schema problem, a problem across settings and a bad key together, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-config-'));
    const file = join(dir, 'bridge.yaml');
    writeFileSync(file, 'port: -1\napp:\n  proxy: true\nmarketplace:\n  clientSecretKey: not-a-key-at-all\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file], { env: { ...process.env, BRIDGE_STORE: 'memory' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /port = -1: Too small/);
    assert.match(r.stderr, /app\.proxy = true: proxy mode needs app\.url/);
    assert.match(r.stderr, /marketplace\.clientSecretKey = \(secret, hidden\): clientSecret key: expected Base64/);
    assert.ok(!r.stderr.includes('not-a-key-at-all'));
    assert.equal(r.stdout, '');
  });
});

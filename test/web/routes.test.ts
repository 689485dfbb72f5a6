// Routes declared once (src/web/routes.ts): every route the express app serves is declared, and in
// proxy mode no declared route reaches the app, on a real gateway (console, OIDC provider, CAS
// single logout on) behind real HTTP, with a signed-in browser so a proxied request reaches the app.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { MemoryStore } from '../../src/store/memory.ts';
import { gatewayRoutes, routeMatches, type GatewayRoute } from '../../src/web/routes.ts';
import { isGatewayPath } from '../../src/delivery/proxy-mode.ts';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import { startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { freePort } from '../helpers/redis-server.ts';

interface Served {
  methods: string[];
  path: string;
}

interface LayerLike {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  rawPath?: string | RegExp | Array<string | RegExp>;
}

/** the routes (and path-mounted middleware) of an express app, with their full paths */
function served(stack: LayerLike[], base = ''): Served[] {
  const out: Served[] = [];
  for (const layer of stack) {
    const paths = [layer.rawPath ?? '/'].flat().map(String);
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m]).map((m) => (m === '_all' ? '*' : m.toUpperCase()));
      for (const p of [layer.route.path].flat()) out.push({ methods, path: base + p });
    } else if (layer.handle?.stack) {
      for (const p of paths) out.push(...served(layer.handle.stack, base + (p === '/' ? '' : p)));
    } else {
      for (const p of paths) if (p !== '/') out.push({ methods: ['*'], path: base + p });
    }
  }
  return out;
}

/** a request path the express path pattern matches: parameters and wildcards filled in */
function sample(path: string): string {
  return path.replace(/\*\w+/g, 'x/y').replace(/:\w+/g, 'p1');
}

const declaredFor = (routes: GatewayRoute[], s: Served) =>
  routes.find((r) => routeMatches(r, sample(s.path)) && s.methods.every((m) => r.methods.includes('*') || r.methods.includes(m) || (m === 'HEAD' && r.methods.includes('GET'))));

describe('gateway routes', () => {
  let upstream: Server;
  const hits: string[] = [];
  let env: LoginEnv;
  let browser: Browser;

  before(async () => {
    const appPort = await freePort();
    upstream = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.end('app');
    });
    await new Promise<void>((r) => upstream.listen(appPort, '127.0.0.1', r));
    env = await startLoginEnv(new MemoryStore(), {
      app: { url: `http://127.0.0.1:${appPort}`, proxy: true },
      admin: { token: 'admin-token-0123456789abcdefghijklmnop' },
      oidc: { clients: [{ client_id: 'rp', client_secret: 'rp-secret-0123456789abcdefghijklmnop', redirect_uris: ['http://127.0.0.1:1/cb'] }] },
    });
    await env.addTenant('t-acme', 'acme', [{ userName: 'lisi', name: '李四' }]);
    browser = new Browser();
    const form = last(await browser.follow(`${env.base}/login?tenant=acme`));
    await browser.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: 'lisi', continue: hiddenInput(form.body, 'continue')! });
  });
  after(async () => {
    await env?.close();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const routes = (syncPrefix = '') => gatewayRoutes({ syncPrefix, consoleOn: true });

  it('every route express serves is declared, with its methods', () => {
    const all = served((env.gw.app as unknown as { router: { stack: LayerLike[] } }).router.stack);
    assert.ok(all.length > 20, `the walk found only ${all.length} routes`);
    assert.ok(all.some((s) => s.path === '/produceAPI/v2/:kind'), 'the walk reaches into mounted routers');
    assert.ok(all.some((s) => s.path === '/admin/api/tenants/:tenantId/users'), 'and into the console');
    const missing = all.filter((s) => !declaredFor(routes(), s)).map((s) => `${s.methods.join(',')} ${s.path}`);
    assert.deepEqual(missing, [], 'declare these in src/web/routes.ts');
  });

  it('an undeclared route is caught (positive control)', () => {
    assert.equal(declaredFor(routes(), { methods: ['GET'], path: '/status' }), undefined);
    assert.equal(declaredFor(routes(), { methods: ['POST'], path: '/signed-out' }), undefined, 'methods count too');
  });

  it('an app path reaches the app with the session (positive control)', async () => {
    hits.length = 0;
    const res = await browser.request(`${env.base}/reports/2026`);
    assert.equal(res.status, 200);
    assert.deepEqual(hits, ['GET /reports/2026']);
  });

  it("proxy mode keeps every declared path for the gateway (but /signed-in, the app's own)", async () => {
    const probes = routes().flatMap((r) => {
      const path = r.match === 'under' ? `${r.path}probe` : r.match === 'tree' ? `${r.path}/probe` : r.path;
      const methods = r.methods.includes('*') ? ['GET', 'POST'] : r.methods;
      return methods.map((method) => ({ method, path, app: r.appInProxyMode === true }));
    });
    // /logout ends the session the probes need to reach the app: last
    probes.sort((a, b) => Number(a.path === '/logout') - Number(b.path === '/logout'));
    assert.ok(probes.length > 15);
    for (const p of probes) {
      assert.equal(isGatewayPath(p.path, '', true), !p.app, p.path);
      hits.length = 0;
      await browser.request(env.base + p.path, { method: p.method, redirect: 'manual', ...(p.method === 'POST' ? { body: '' } : {}) });
      assert.deepEqual(hits, p.app ? [`${p.method} ${p.path}`] : [], `${p.method} ${p.path}`);
    }
  });

  it('the sync routes live under the configured prefix', () => {
    assert.equal(isGatewayPath('/kg/produceAPI/v2/tenantSync', '/kg', true), true);
    assert.equal(isGatewayPath('/produceAPI/v2/tenantSync', '/kg', true), false);
    assert.equal(isGatewayPath('/admin/x', '', false), false, 'console off: the app\'s own /admin');
  });
});

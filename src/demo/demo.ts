// `npm run demo`: everything a newcomer needs to watch a sign-in, on loopback only — the gateway
// (embedded store in a temporary directory unless told otherwise), a OneAccess sandbox with two
// tenants (one signs in with OAuth, one with CAS), a sample app behind the gateway in proxy mode,
// and the marketplace played through the gateway's real signed endpoints. A landing page explains
// the journey and lets a person grant, revoke, disable, change the role of users and delete a
// tenant, as the marketplace would.
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPublicKey, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { loadSettings } from '../config/load.ts';
import { createGateway, type Gateway } from '../app.ts';
import { loadSecrets } from '../bootstrap.ts';
import { createGatewayServer } from '../limits/http-server.ts';
import { generateSellerKeyPair, loadClientSecretKey } from '../marketplace/client-secret.ts';
import { holdDirectory, type DirectoryLock } from '../ops/directory-lock.ts';
import { createLogger } from '../ops/logger.ts';
import { startOneAccessSandbox, type OneAccessSandbox } from '../sandbox/oneaccess.ts';
import { describeStore, openStore } from '../store/index.ts';
import type { Store } from '../store/store.ts';
import { startLanding, type Landing } from './landing.ts';
import { Marketplace, type DemoTenant, type DemoUser } from './marketplace.ts';
import { msg } from '../web/i18n.ts';
import { startSampleApp, type SampleApp } from './sample-app.ts';

export const DEMO_APP_ID = 'demo-app';

export type Grant = 'granted' | 'revoked' | 'none';

export interface DemoPerson extends DemoUser {
  grant: Grant;
  enabled: boolean;
}

export interface DemoTenantState extends DemoTenant {
  protocol: 'oauth' | 'cas';
  active: boolean;
  people: DemoPerson[];
}

export interface DemoOptions {
  /** the gateway's port; 0 = a free one */
  port: number;
  /** BRIDGE_STORE form; default: embedded in a fresh temporary directory, removed on close */
  store?: string;
  log?: Logger;
}

export interface Demo {
  /** the one URL to open */
  landingUrl: string;
  gatewayUrl: string;
  appUrl: string;
  tenants: DemoTenantState[];
  sandbox: OneAccessSandbox;
  marketplace: Marketplace;
  gateway: Gateway;
  close(): Promise<void>;
}

/** a free loopback port (the gateway's public URL must be known before it is built) */
async function freePort(host: string): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((ok, fail) => {
    s.once('error', fail);
    s.listen(0, host, () => ok());
  });
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

export class DemoStartError extends Error {
  override readonly name = 'DemoStartError';
}

function people(): Array<Omit<DemoTenantState, 'domainName'>> {
  const person = (userName: string, name: string, orgCode: string, role: 'admin' | 'user', grant: Grant, tenant: string): DemoPerson => ({ userName, name, orgCode, role, grant, enabled: true, email: `${userName}@${tenant}.example.com` });
  return [
    {
      tenantId: 't-acme',
      tenantCode: 'acme',
      name: '艾克美科技有限公司',
      protocol: 'oauth',
      active: true,
      clientId: 'demo-acme',
      clientSecret: randomBytes(18).toString('base64url'),
      orgs: [
        { orgCode: '10', orgName: '研发部' },
        { orgCode: '20', orgName: '市场部' },
      ],
      people: [person('zhangsan', '张三', '10', 'admin', 'granted', 'acme'), person('lisi', '李四', '20', 'user', 'granted', 'acme'), person('wangwu', '王五', '20', 'user', 'none', 'acme')],
    },
    {
      tenantId: 't-beta',
      tenantCode: 'beta',
      name: '贝塔制造有限公司',
      protocol: 'cas',
      active: true,
      clientId: 'demo-beta',
      clientSecret: randomBytes(18).toString('base64url'),
      orgs: [
        { orgCode: '30', orgName: '生产部' },
        { orgCode: '40', orgName: '质量部' },
      ],
      people: [person('zhaoliu', '赵六', '30', 'admin', 'granted', 'beta'), person('sunqi', '孙七', '40', 'user', 'granted', 'beta')],
    },
  ];
}

export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const host = '127.0.0.1';
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    const port = opts.port || (await freePort(host));
    const gatewayUrl = `http://${host}:${port}`;

    const sandbox = await startOneAccessSandbox({ host });
    closers.push(() => sandbox.close());

    const tenants: DemoTenantState[] = [];
    const app: SampleApp = await startSampleApp({
      jwksUrl: `${gatewayUrl}/.well-known/jwks.json`,
      issuer: gatewayUrl,
      audience: gatewayUrl,
      department: (tenantId, orgCode) => tenants.find((t) => t.tenantId === tenantId)?.orgs.find((o) => o.orgCode === orgCode)?.orgName,
    }, host);
    closers.push(() => app.close());

    // the seller's key pair (Seller Center holds the public half) and access key
    const seller = generateSellerKeyPair(3072);
    const accessKey = randomBytes(24).toString('base64url');

    let storeSpec = opts.store;
    if (!storeSpec) {
      const dir = mkdtempSync(join(tmpdir(), 'bridge-demo-'));
      closers.push(() => rmSync(dir, { recursive: true, force: true }));
      storeSpec = `embedded:${dir}`;
    }
    let lock: DirectoryLock | null = null;
    if (storeSpec.startsWith('embedded:')) {
      const dir = resolve(storeSpec.slice('embedded:'.length));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      lock = holdDirectory(dir);
      closers.push(() => lock?.release());
    }

    const env: NodeJS.ProcessEnv = {};
    for (const k of ['BRIDGE_UI_LANGUAGE', 'BRIDGE_LOG_LEVEL', 'BRIDGE_LOG_FORMAT']) if (process.env[k]) env[k] = process.env[k];
    const settings = loadSettings({
      env,
      argv: [],
      overrides: {
        port,
        publicUrl: gatewayUrl,
        store: storeSpec,
        sessionSecret: randomBytes(32).toString('base64url'),
        marketplace: { kitAccessKey: accessKey, clientSecretKey: seller.privateKeyPem },
        login: { allowInsecureIdp: true, appId: DEMO_APP_ID, unifiedLoginUrl: sandbox.unifiedLoginUrl },
        app: { url: app.url, proxy: true },
        tokens: { audience: gatewayUrl },
        // the operator console: acme's administrators (张三) may open /admin
        admin: { operatorTenants: ['t-acme'] },
      },
    });
    const log = opts.log ?? createLogger(settings.logLevel, undefined, settings.logFormat);
    const store: Store = await openStore(settings.store, { redis: settings.redis });
    closers.push(() => store.close());
    const secrets = await loadSecrets(store, settings.sessionSecret);
    const gateway = await createGateway({ settings, store, log, secrets, clientSecretKey: loadClientSecretKey(settings.marketplace.clientSecretKey) });
    closers.push(() => gateway.close());
    const server: Server = createGatewayServer(gateway, settings.limits.http);
    await new Promise<void>((ok, fail) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        fail(new DemoStartError(e.code === 'EADDRINUSE' ? `port ${port} is already in use; choose another with npm run demo -- --port N` : `cannot listen on ${host}:${port}: ${e.message}`)),
      );
      server.listen(port, host, () => ok());
    });
    closers.push(
      () =>
        new Promise<void>((ok) => {
          server.close(() => ok());
          server.closeAllConnections();
        }),
    );

    // OneAccess knows the gateway's redirect URI and CAS service for each tenant
    sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `${gatewayUrl}/oauth/callback` });
    for (const t of people()) {
      const info = await sandbox.addTenant({
        tenantId: t.tenantId,
        tenantCode: t.tenantCode,
        name: t.name,
        clients: [{ clientId: t.clientId, clientSecret: t.clientSecret, redirectUris: [`${gatewayUrl}/oauth/callback`], casServices: [`${gatewayUrl}/cas/callback?tenant=${encodeURIComponent(t.tenantId)}`] }],
        users: t.people.map((p) => ({ userName: p.userName, name: p.name, role: p.role, email: p.email, organizationCode: p.orgCode, organizationName: t.orgs.find((o) => o.orgCode === p.orgCode)?.orgName })),
      });
      tenants.push({ ...t, domainName: info.origin });
    }

    const marketplace = new Marketplace(gatewayUrl, accessKey, createPublicKey(seller.privateKeyPem), DEMO_APP_ID);
    for (const t of tenants) await openTenant(marketplace, t);
    const failed = marketplace.log.find((r) => r.resultCode !== '000000');
    if (failed) throw new DemoStartError(`the gateway refused the demo's ${failed.kind}: ${failed.resultCode} ${failed.resultMsg}`);

    const landing: Landing = await startLanding({ host, gatewayUrl, appUrl: `${gatewayUrl}/`, tenants, marketplace, sandbox, log, storeLabel: describeStore(storeSpec) });
    closers.push(() => landing.close());

    return { landingUrl: landing.url, gatewayUrl, appUrl: app.url, tenants, sandbox, marketplace, gateway, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** buy -> bind -> departments -> authorize: the marketplace's pushes for a new customer */
export async function openTenant(m: Marketplace, t: DemoTenantState): Promise<void> {
  await m.buy(t);
  await m.bind(t);
  await m.orgs(t);
  const granted = t.people.filter((p) => p.grant === 'granted');
  if (granted.length) await m.authorize(t, 1, granted, msg('demo.log.authorizedMany', { tenant: t.name, names: granted.map((p) => p.name).join('、') }));
  t.active = true;
}

// A gateway on a real port, a OneAccess sandbox on its own ports, and the marketplace syncs that
// connect them (tenant, app credentials encrypted with the seller key, authorized users).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Logger } from 'pino';
import { startOneAccessSandbox, type OneAccessSandbox } from '../../src/sandbox/oneaccess.ts';
import { encryptClientSecret } from '../../src/marketplace/client-secret.ts';
import type { Store } from '../../src/store/store.ts';
import { buildGateway, rsaVectors, signedHeaders, timeStampAt, type TestGateway } from './gateway.ts';
import { freePort } from './redis-server.ts';

export const PUBLIC_KEY_PEM = (rsaVectors.keys.find((k) => k.modulus_bits === 3072) as unknown as { public_key_spki_pem: string }).public_key_spki_pem;

export interface LoginEnv {
  gw: TestGateway;
  base: string;
  sandbox: OneAccessSandbox;
  /** tenantId -> sandbox origin */
  origins: Map<string, string>;
  sync(kind: string, body: Record<string, unknown>): Promise<void>;
  addTenant(tenantId: string, tenantCode: string, users: SandboxUser[], opts?: { syncedUsers?: Array<Record<string, unknown>>; oneAccessTenantId?: string }): Promise<void>;
  close(): Promise<void>;
}

export interface SandboxUser {
  userName: string;
  name: string;
  role?: 'admin' | 'user';
  email?: string;
  organizationCode?: string;
}

let clock = Date.UTC(2026, 5, 1);
export function nextTimeStamp(): string {
  clock += 1000;
  return timeStampAt(clock);
}

export async function startLoginEnv(store: Store, overrides: Record<string, unknown> = {}, opts: { log?: Logger } = {}): Promise<LoginEnv> {
  const sandbox = await startOneAccessSandbox();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gw = await buildGateway(store, { publicUrl: base, port, login: { upstreamTimeoutMs: 1500 }, ...overrides }, opts);
  const server: Server = createServer(gw.listener);
  server.on('upgrade', (req, socket, head) => gw.upgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const origins = new Map<string, string>();

  async function sync(kind: string, body: Record<string, unknown>): Promise<void> {
    const raw = JSON.stringify(body);
    const res = await request(gw.app).post(`/produceAPI/v2/${kind}`).set(signedHeaders(raw)).send(raw);
    if (res.body.resultCode !== '000000') throw new Error(`${kind} failed: ${res.body.resultCode} ${res.body.resultMsg}`);
  }

  return {
    gw,
    base,
    sandbox,
    origins,
    sync,
    async addTenant(tenantId, tenantCode, users, opts = {}) {
      const clientId = `client-${tenantId}`;
      const clientSecret = `secret-${tenantId}-0123456789abcdef`;
      // the sandbox may know the tenant under another id (to fake a OneAccess that vouches for another company)
      const oaTenantId = opts.oneAccessTenantId ?? tenantId;
      const info = await sandbox.addTenant({
        tenantId: oaTenantId,
        tenantCode,
        name: `${tenantCode} Ltd`,
        clients: [{ clientId, clientSecret, redirectUris: [`${base}/oauth/callback`], casServices: [`${base}/cas/callback?tenant=${encodeURIComponent(tenantId)}`] }],
        users: users.map((u) => ({ role: 'user', email: `${u.userName}@${tenantCode}.example.com`, organizationCode: '10', ...u })),
      });
      origins.set(tenantId, info.origin);
      await sync('tenantSync', { instanceId: `inst-${tenantId}`, orderId: 'CS1', tenantId, tenantCode, name: `${tenantCode} Ltd`, domainName: info.origin, flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
      await sync('applicationSync', {
        instanceId: `inst-${tenantId}`,
        tenantId,
        appId: 'app-1',
        clientId,
        clientSecret: encryptClientSecret(PUBLIC_KEY_PEM, clientSecret),
        flag: 1,
        testFlag: 0,
        timeStamp: nextTimeStamp(),
      });
      const synced = opts.syncedUsers ?? users.map((u) => ({ userName: u.userName, name: u.name, orgCode: '10', role: u.role ?? 'user', enable: 'true', email: u.email ?? `${u.userName}@${tenantCode}.example.com` }));
      if (synced.length) {
        await sync('authSync', { instanceId: `inst-${tenantId}`, tenantId, appId: 'app-1', userList: synced, currentSyncTime: nextTimeStamp(), flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sandbox.close();
      await gw.close();
    },
  };
}

// A local Huawei OneAccess for tests, the demo and a developer's browser. Every tenant gets its
// own origin (a listener on its own port, all served by one express app that tells tenants apart
// by the socket's local port), because the gateway only ever reaches a tenant through
// tenantSync.domainName. The KooGallery unified login page gets one more origin.
import http, { type Server } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { casRoutes } from './oneaccess-cas.ts';
import { FaultSwitch } from './oneaccess-faults.ts';
import type { Route } from './oneaccess-http.ts';
import { loginRoutes } from './oneaccess-login.ts';
import { oauthRoutes } from './oneaccess-oauth.ts';
import { SandboxState, tenantInfo } from './oneaccess-state.ts';
import {
  DEFAULT_SETTINGS,
  SandboxError,
  type AppRegistration,
  type Fault,
  type IssueCodeInput,
  type SandboxClient,
  type SandboxCounters,
  type SandboxSettings,
  type SandboxTenantInfo,
  type SandboxUser,
  type TenantInput,
} from './oneaccess-types.ts';
import { createUnifiedLoginApp, UNIFIED_LOGIN_PATH } from './unified-login.ts';

export * from './oneaccess-types.ts';

export interface SandboxOptions {
  /** interface to bind; default 127.0.0.1 */
  host?: string;
  settings?: Partial<SandboxSettings>;
  /** clock in ms, so tests can move time instead of sleeping; default Date.now */
  now?: () => number;
  /** fixed port for the unified login page; a free one when absent */
  unifiedLoginPort?: number;
}

export interface TenantPatch {
  name?: string;
  tenantCode?: string;
  /** replaces all clients */
  clients?: SandboxClient[];
}

export interface OneAccessSandbox {
  /** live settings: changes apply to everything issued afterwards */
  readonly settings: SandboxSettings;
  /** `<origin>/unified-login/#/portal-login`, to append `?ind=UNOP&appId=…` to */
  readonly unifiedLoginUrl: string;
  addTenant(input: TenantInput): Promise<SandboxTenantInfo>;
  updateTenant(tenantId: string, patch: TenantPatch): SandboxTenantInfo;
  /** stops the tenant's listener; its origin refuses connections afterwards */
  removeTenant(tenantId: string): Promise<void>;
  tenant(tenantId: string): SandboxTenantInfo;
  addUser(tenantId: string, user: SandboxUser): void;
  updateUser(tenantId: string, userName: string, patch: Partial<Omit<SandboxUser, 'userName'>>): void;
  /** the user's SSO sessions, codes, tokens and tickets stop working too */
  removeUser(tenantId: string, userName: string): void;
  registerApp(app: AppRegistration): void;
  /** a code as the unified login page or the enterprise workbench would deliver it */
  issueCode(input: IssueCodeInput): string;
  setFault(fault: Fault | null): void;
  /** per tenant, or summed over all tenants */
  counters(tenantId?: string): SandboxCounters;
  resetCounters(): void;
  /** stops every listener and drops open connections and pending slow requests */
  close(): Promise<void>;
}

async function listen(app: Express, host: string, port: number): Promise<Server> {
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function originOf(server: Server, host: string): { port: number; origin: string } {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('sandbox listener has no TCP address');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { port: address.port, origin: `http://${hostPart}:${address.port}` };
}

function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
  });
}

function statusOf(err: unknown): number {
  const status = typeof err === 'object' && err !== null && 'status' in err ? err.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

// body-parser refusals (too large, bad encoding) and anything unexpected, as OAuth-style JSON
const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const status = statusOf(err);
  res.status(status).json({
    error: status < 500 ? 'invalid_request' : 'server_error',
    error_description: err instanceof Error ? err.message : 'unexpected error',
  });
};

export async function startOneAccessSandbox(opts: SandboxOptions = {}): Promise<OneAccessSandbox> {
  const host = opts.host ?? '127.0.0.1';
  const settings: SandboxSettings = { ...DEFAULT_SETTINGS, ...opts.settings };
  const state = new SandboxState(settings, opts.now ?? Date.now);
  const faults = new FaultSwitch();
  const servers = new Map<string, Server>();
  let closed = false;

  const route: Route = (endpoint, handler) => (req, res, next) => {
    const tenant = state.tenantByPort(req.socket.localPort);
    if (!tenant) return void res.status(404).type('text').send('no tenant on this port');
    state.count(tenant.tenantId, endpoint);
    faults.apply(endpoint, tenant.tenantId, req, res, () => {
      try {
        handler(tenant, req, res);
      } catch (err) {
        next(err);
      }
    });
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(oauthRoutes(state, route), casRoutes(state, route), loginRoutes(state, route));
  app.use(errorHandler);

  const unifiedApp = createUnifiedLoginApp(state);
  unifiedApp.disable('x-powered-by');
  const unified = await listen(unifiedApp, host, opts.unifiedLoginPort ?? 0);
  const unifiedOrigin = originOf(unified, host).origin;

  const assertOpen = (): void => {
    if (closed) throw new SandboxError('closed', 'the sandbox is closed');
  };

  return {
    settings,
    unifiedLoginUrl: `${unifiedOrigin}${UNIFIED_LOGIN_PATH}#/portal-login`,

    async addTenant(input) {
      assertOpen();
      if (state.tenants.has(input.tenantId)) {
        throw new SandboxError('duplicate_tenant', `tenant ${input.tenantId} already exists`);
      }
      const server = await listen(app, host, input.port ?? 0);
      const { port, origin } = originOf(server, host);
      try {
        assertOpen();
        const tenant = state.addTenant(input, port, origin);
        servers.set(tenant.tenantId, server);
        return tenantInfo(tenant);
      } catch (err) {
        await shutdown(server);
        throw err;
      }
    },

    updateTenant(tenantId, patch) {
      const tenant = state.tenant(tenantId);
      if (patch.name !== undefined) tenant.name = patch.name;
      if (patch.tenantCode !== undefined) tenant.tenantCode = patch.tenantCode;
      if (patch.clients !== undefined) tenant.clients = new Map(patch.clients.map((c) => [c.clientId, { ...c }]));
      return tenantInfo(tenant);
    },

    async removeTenant(tenantId) {
      state.removeTenant(tenantId);
      const server = servers.get(tenantId);
      servers.delete(tenantId);
      if (server) await shutdown(server);
    },

    tenant: (tenantId) => tenantInfo(state.tenant(tenantId)),
    addUser: (tenantId, user) => state.addUser(tenantId, user),
    updateUser: (tenantId, userName, patch) => state.updateUser(tenantId, userName, patch),
    removeUser: (tenantId, userName) => state.removeUser(tenantId, userName),
    registerApp: (registration) => void state.apps.set(registration.appId, { ...registration }),
    issueCode: (input) => state.issueCode(input),
    setFault: (fault) => faults.set(fault),
    counters: (tenantId) => state.snapshot(tenantId),
    resetCounters: () => state.resetCounters(),

    async close() {
      if (closed) return;
      closed = true;
      faults.clearTimers();
      const all = [unified, ...servers.values()];
      servers.clear();
      await Promise.all(all.map(shutdown));
    },
  };
}

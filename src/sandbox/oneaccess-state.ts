// In-memory state of the sandbox: tenants and everything issued to them. Each tenant behaves
// like its own OneAccess instance, so every code, token, ticket and SSO session is looked up
// per tenant and is invisible to the others.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ENDPOINT_NAMES,
  SandboxError,
  type AppRegistration,
  type EndpointName,
  type IssueCodeInput,
  type SandboxClient,
  type SandboxCounters,
  type SandboxSettings,
  type SandboxTenantInfo,
  type SandboxUser,
  type TenantInput,
} from './oneaccess-types.ts';

export interface Tenant {
  tenantId: string;
  tenantCode: string;
  name: string;
  port: number;
  origin: string;
  clients: Map<string, SandboxClient>;
  users: Map<string, SandboxUser & { id: string }>;
}

export interface SsoSession {
  tenantId: string;
  userName: string;
  authTime: number;
}

interface CodeGrant {
  tenantId: string;
  clientId: string;
  userName: string;
  redirectUri: string | undefined;
  scope: string;
  codeChallenge: string | undefined;
  expiresAt: number;
}

export interface TokenGrant {
  tenantId: string;
  clientId: string;
  userName: string;
  scope: string;
  expiresAt: number;
}

export interface ServiceTicket {
  tenantId: string;
  service: string;
  userName: string;
  authTime: number;
  fromNewLogin: boolean;
  expiresAt: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

const token = (bytes: number): string => randomBytes(bytes).toString('base64url');

function emptyCounters(): SandboxCounters {
  const calls = {} as Record<EndpointName, number>;
  for (const name of ENDPOINT_NAMES) calls[name] = 0;
  return { calls, tokenClientAuth: { client_secret_post: 0, client_secret_basic: 0 } };
}

function addCounters(into: SandboxCounters, from: SandboxCounters): void {
  for (const name of ENDPOINT_NAMES) into.calls[name] += from.calls[name];
  into.tokenClientAuth.client_secret_post += from.tokenClientAuth.client_secret_post;
  into.tokenClientAuth.client_secret_basic += from.tokenClientAuth.client_secret_basic;
}

export class SandboxState {
  readonly tenants = new Map<string, Tenant>();
  readonly apps = new Map<string, AppRegistration>();
  private readonly byPort = new Map<number, Tenant>();
  private readonly sessions = new Map<string, SsoSession>();
  private readonly codes = new Map<string, CodeGrant>();
  private readonly accessTokens = new Map<string, TokenGrant>();
  private readonly refreshTokens = new Map<string, TokenGrant>();
  private readonly tickets = new Map<string, ServiceTicket>();
  private readonly counters = new Map<string, SandboxCounters>();

  constructor(
    readonly settings: SandboxSettings,
    readonly now: () => number,
  ) {}

  // ---- tenants, clients, users -------------------------------------------------------------

  addTenant(input: TenantInput, port: number, origin: string): Tenant {
    if (this.tenants.has(input.tenantId)) {
      throw new SandboxError('duplicate_tenant', `tenant ${input.tenantId} already exists`);
    }
    const tenant: Tenant = {
      tenantId: input.tenantId,
      tenantCode: input.tenantCode ?? input.tenantId,
      name: input.name ?? input.tenantId,
      port,
      origin,
      clients: new Map(),
      users: new Map(),
    };
    for (const client of input.clients) tenant.clients.set(client.clientId, { ...client });
    this.tenants.set(tenant.tenantId, tenant);
    this.byPort.set(port, tenant);
    this.counters.set(tenant.tenantId, emptyCounters());
    for (const user of input.users) this.addUser(tenant.tenantId, user);
    return tenant;
  }

  removeTenant(tenantId: string): Tenant {
    const tenant = this.tenant(tenantId);
    this.tenants.delete(tenantId);
    this.byPort.delete(tenant.port);
    return tenant;
  }

  tenant(tenantId: string): Tenant {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) throw new SandboxError('unknown_tenant', `no tenant ${tenantId}`);
    return tenant;
  }

  tenantByPort(port: number | undefined): Tenant | undefined {
    return port === undefined ? undefined : this.byPort.get(port);
  }

  /** the unified login page lets people type either the tenantId or the tenantCode */
  tenantByRef(ref: string): Tenant | undefined {
    return this.tenants.get(ref) ?? [...this.tenants.values()].find((t) => t.tenantCode === ref);
  }

  addUser(tenantId: string, user: SandboxUser): void {
    const tenant = this.tenant(tenantId);
    if (tenant.users.has(user.userName)) {
      throw new SandboxError('duplicate_user', `user ${user.userName} already exists in ${tenantId}`);
    }
    const id = user.id ?? `${Date.now()}-${randomUUID().slice(0, 8).toUpperCase()}`;
    tenant.users.set(user.userName, { ...user, id });
  }

  updateUser(tenantId: string, userName: string, patch: Partial<Omit<SandboxUser, 'userName'>>): void {
    const tenant = this.tenant(tenantId);
    const user = tenant.users.get(userName);
    if (!user) throw new SandboxError('unknown_user', `no user ${userName} in ${tenantId}`);
    tenant.users.set(userName, { ...user, ...patch, userName, id: patch.id ?? user.id });
  }

  /** Also drops everything issued to the user, so re-adding the name starts clean. */
  removeUser(tenantId: string, userName: string): void {
    if (!this.tenant(tenantId).users.delete(userName)) {
      throw new SandboxError('unknown_user', `no user ${userName} in ${tenantId}`);
    }
    const issued: Map<string, { tenantId: string; userName: string }>[] = [
      this.sessions,
      this.codes,
      this.accessTokens,
      this.refreshTokens,
      this.tickets,
    ];
    for (const map of issued) {
      for (const [key, value] of map) if (value.tenantId === tenantId && value.userName === userName) map.delete(key);
    }
  }

  // ---- SSO sessions ------------------------------------------------------------------------

  startSession(tenant: Tenant, userName: string): string {
    const sid = token(24);
    this.sessions.set(sid, { tenantId: tenant.tenantId, userName, authTime: this.now() });
    return sid;
  }

  /** a session counts only for its own tenant and while its user still exists */
  session(tenant: Tenant, sid: string | undefined): SsoSession | undefined {
    const session = sid === undefined ? undefined : this.sessions.get(sid);
    if (!session || session.tenantId !== tenant.tenantId) return undefined;
    return tenant.users.has(session.userName) ? session : undefined;
  }

  endSession(sid: string | undefined): void {
    if (sid !== undefined) this.sessions.delete(sid);
  }

  // ---- OAuth codes and tokens --------------------------------------------------------------

  issueCode(input: IssueCodeInput): string {
    const tenant = this.tenant(input.tenantId);
    if (!tenant.clients.has(input.clientId)) {
      throw new SandboxError('unknown_client', `no client ${input.clientId} in ${input.tenantId}`);
    }
    if (!tenant.users.has(input.userName)) {
      throw new SandboxError('unknown_user', `no user ${input.userName} in ${input.tenantId}`);
    }
    const code = token(24);
    this.codes.set(code, {
      tenantId: input.tenantId,
      clientId: input.clientId,
      userName: input.userName,
      redirectUri: input.redirectUri,
      scope: input.scope ?? 'get_user_info',
      codeChallenge: input.codeChallenge,
      expiresAt: this.now() + this.settings.codeTtlSec * 1000,
    });
    return code;
  }

  /** Removes the code (single use) when it belongs to this tenant; undefined if unknown or expired. */
  takeCode(tenantId: string, code: string): CodeGrant | undefined {
    const grant = this.codes.get(code);
    if (!grant || grant.tenantId !== tenantId) return undefined;
    this.codes.delete(code);
    return grant.expiresAt > this.now() ? grant : undefined;
  }

  issueTokens(grant: Omit<TokenGrant, 'expiresAt'>): TokenResponse {
    const now = this.now();
    const { accessTokenTtlSec, refreshTokenTtlSec, issueRefreshToken } = this.settings;
    const access = token(32);
    this.accessTokens.set(access, { ...grant, expiresAt: now + accessTokenTtlSec * 1000 });
    const response: TokenResponse = {
      access_token: access,
      token_type: 'Bearer',
      expires_in: Math.ceil(accessTokenTtlSec),
      scope: grant.scope,
    };
    if (issueRefreshToken) {
      const refresh = token(32);
      this.refreshTokens.set(refresh, { ...grant, expiresAt: now + refreshTokenTtlSec * 1000 });
      response.refresh_token = refresh;
    }
    return response;
  }

  accessToken(tenantId: string, value: string): TokenGrant | undefined {
    return this.live(this.accessTokens, tenantId, value);
  }

  refreshToken(tenantId: string, value: string): TokenGrant | undefined {
    return this.live(this.refreshTokens, tenantId, value);
  }

  revokeRefreshToken(value: string): void {
    this.refreshTokens.delete(value);
  }

  private live(map: Map<string, TokenGrant>, tenantId: string, value: string): TokenGrant | undefined {
    const grant = map.get(value);
    if (!grant || grant.tenantId !== tenantId) return undefined;
    if (grant.expiresAt <= this.now()) {
      map.delete(value);
      return undefined;
    }
    return grant;
  }

  // ---- CAS service tickets -----------------------------------------------------------------

  issueTicket(tenant: Tenant, service: string, session: SsoSession, fromNewLogin: boolean): string {
    // Apereo: "ST-" then only A-Z a-z 0-9 and "-"
    const ticket = `ST-${randomBytes(24).toString('hex')}`;
    this.tickets.set(ticket, {
      tenantId: tenant.tenantId,
      service,
      userName: session.userName,
      authTime: session.authTime,
      fromNewLogin,
      expiresAt: this.now() + this.settings.ticketTtlSec * 1000,
    });
    return ticket;
  }

  /** Any validation attempt at the owning tenant consumes the ticket, successful or not. */
  takeTicket(tenantId: string, ticket: string): ServiceTicket | undefined {
    const found = this.tickets.get(ticket);
    if (!found || found.tenantId !== tenantId) return undefined;
    this.tickets.delete(ticket);
    return found.expiresAt > this.now() ? found : undefined;
  }

  // ---- counters ----------------------------------------------------------------------------

  count(tenantId: string, endpoint: EndpointName): void {
    const counters = this.counters.get(tenantId);
    if (counters) counters.calls[endpoint] += 1;
  }

  countClientAuth(tenantId: string, method: 'client_secret_post' | 'client_secret_basic'): void {
    const counters = this.counters.get(tenantId);
    if (counters) counters.tokenClientAuth[method] += 1;
  }

  /** A copy: one tenant's counters, or the sum over all tenants ever added. */
  snapshot(tenantId?: string): SandboxCounters {
    const total = emptyCounters();
    for (const [id, counters] of this.counters) {
      if (tenantId === undefined || id === tenantId) addCounters(total, counters);
    }
    return total;
  }

  resetCounters(): void {
    for (const id of this.counters.keys()) this.counters.set(id, emptyCounters());
  }
}

export function tenantInfo(tenant: Tenant): SandboxTenantInfo {
  const { tenantId, tenantCode, name, origin, port } = tenant;
  return { tenantId, tenantCode, name, origin, port };
}

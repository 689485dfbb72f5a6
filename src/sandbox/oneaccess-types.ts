// Public types of the local OneAccess sandbox: a stand-in for each tenant's Huawei OneAccess
// (OAuth 2.0 + CAS 3.0 endpoints under /api/v1) and for KooGallery's unified login page.

export type Role = 'user' | 'admin';

export interface SandboxUser {
  userName: string;
  name: string;
  email?: string;
  mobile?: string;
  /** defaults to 'user' */
  role?: Role;
  organizationCode?: string;
  organizationName?: string;
  /** OneAccess user id; generated when absent */
  id?: string;
}

export interface SandboxClient {
  clientId: string;
  clientSecret: string;
  /** authorize accepts exactly these redirect_uri values */
  redirectUris: string[];
  /** CAS login/validate accept exactly these service values (compared after URL decoding) */
  casServices?: string[];
}

export interface TenantInput {
  tenantId: string;
  /** defaults to tenantId */
  tenantCode?: string;
  /** enterprise name, released as userinfo.projectName; defaults to tenantId */
  name?: string;
  clients: SandboxClient[];
  users: SandboxUser[];
  /** fixed listening port (CLI); a free port when absent */
  port?: number;
}

/** What addTenant returns: `origin` is the value tests put into tenantSync.domainName. */
export interface SandboxTenantInfo {
  tenantId: string;
  tenantCode: string;
  name: string;
  origin: string;
  port: number;
}

export interface SandboxSettings {
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  codeTtlSec: number;
  ticketTtlSec: number;
  /** joint-op docs: a refresh token is always issued; generic OneAccess: only when configured */
  issueRefreshToken: boolean;
  /** 'generic' releases only the five documented sample fields (id, userName, name, email, mobile) */
  userinfoProfile: 'joint-operation' | 'generic';
  /** format of serviceValidate when the request has none; the docs disagree (spec §5) */
  casDefaultFormat: 'XML' | 'JSON';
}

export const DEFAULT_SETTINGS: Readonly<SandboxSettings> = {
  accessTokenTtlSec: 7200,
  refreshTokenTtlSec: 30 * 24 * 3600,
  codeTtlSec: 300,
  ticketTtlSec: 300,
  issueRefreshToken: true,
  userinfoProfile: 'joint-operation',
  casDefaultFormat: 'XML',
};

export type EndpointName =
  | 'authorize'
  | 'login-form'
  | 'token'
  | 'userinfo'
  | 'logout'
  | 'cas-login'
  | 'cas-validate'
  | 'cas-logout';

export const ENDPOINT_NAMES: readonly EndpointName[] = [
  'authorize',
  'login-form',
  'token',
  'userinfo',
  'logout',
  'cas-login',
  'cas-validate',
  'cas-logout',
];

export type FaultEndpoint = 'token' | 'userinfo' | 'cas-validate' | 'authorize' | '*';

export type FaultKind = 'slow' | '500' | 'non-json' | 'oversized' | 'close';

export interface Fault {
  /** '*' matches every OneAccess endpoint of the tenant(s) */
  endpoint: FaultEndpoint;
  /** only this tenant; all tenants when absent */
  tenantId?: string;
  kind: FaultKind;
  /** for 'slow': how long to hold the request before answering normally (default 1000) */
  delayMs?: number;
  /** apply to this many matching requests, then clear itself; forever when absent */
  times?: number;
}

export interface SandboxCounters {
  calls: Record<EndpointName, number>;
  /** how token requests authenticated the client (only counted when credentials were present) */
  tokenClientAuth: { client_secret_post: number; client_secret_basic: number };
}

export interface IssueCodeInput {
  tenantId: string;
  clientId: string;
  userName: string;
  /** when set, a token request that sends redirect_uri must send exactly this */
  redirectUri?: string;
  /** defaults to get_user_info */
  scope?: string;
  /** S256 challenge; the token request must then carry the matching code_verifier */
  codeChallenge?: string;
}

export interface AppRegistration {
  appId: string;
  /** where the unified login page sends the browser with ?code=…&tenant=… */
  callbackUrl: string;
}

export type SandboxErrorCode =
  | 'unknown_tenant'
  | 'duplicate_tenant'
  | 'unknown_client'
  | 'unknown_user'
  | 'duplicate_user'
  | 'unknown_app'
  | 'no_client_for_app'
  | 'closed';

/** Thrown by the programmatic API (never sent over HTTP as such). */
export class SandboxError extends Error {
  readonly code: SandboxErrorCode;
  constructor(code: SandboxErrorCode, message: string) {
    super(message);
    this.name = 'SandboxError';
    this.code = code;
  }
}

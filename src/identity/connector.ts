// How the gateway talks to an identity provider, after Dex (connector/connector.go): a small
// Connector every protocol implements — where the browser goes to sign in, and what its return
// means as one UpstreamIdentity — plus optional capabilities a protocol may have, found by type
// guards (refresh, a logout URL, single logout) so the routes never branch on the protocol.
// `T` is the tenant as the caller resolved it (login/ passes the directory's tenant record).
import type { Namespace, Protocol, UpstreamIdentity, UpstreamTokens } from './identity.ts';

export interface ConnectorTenant {
  tenantId: string;
}

/** where a sign-in goes, and what its callback must find again */
export interface LoginStart {
  /** the identity provider's sign-in URL */
  url: string;
  /** the callback names its transaction by this (OAuth state); absent: the pre-login cookie finds it */
  state?: string;
  /** kept in the transaction, handed back to handleCallback (the PKCE verifier) */
  codeVerifier?: string;
  /** the tenant app the sign-in goes to (OAuth's client), kept in the transaction and handed back to handleCallback */
  appId?: string;
}

/** the browser is back at the callback */
export interface CallbackRequest {
  /** the callback's query parameters, as the HTTP layer parsed them (repeated names: arrays) */
  query: Readonly<Record<string, unknown>>;
  /** what start() answered, when the callback found its transaction by state */
  state?: string;
  codeVerifier?: string;
  /** the tenant app start() sent the browser to: its client is the one the code was issued to */
  appId?: string;
}

/** the identity a callback proved, and the tenant app it signed in to when the protocol names one (OAuth's client) */
export type CallbackIdentity = UpstreamIdentity & { appId?: string };

export interface Connector<T extends ConnectorTenant = ConnectorTenant> {
  readonly protocol: Protocol;
  /** builds the sign-in URL for this tenant (state, PKCE and such are the connector's business) */
  start(tenant: T): Promise<LoginStart>;
  /** turns the callback into one identity, or throws a GatewayError that says why not */
  handleCallback(tenant: T, callback: CallbackRequest): Promise<CallbackIdentity>;
}

/** the provider has its own page on which the person chooses their tenant (OneAccess's unified login page) */
export interface TenantChooserCapable {
  /** where to send a browser whose tenant is not known; null when not configured */
  startWithoutTenant(): LoginStart | null;
}

/** what a refresh needs of the session it keeps alive */
export interface RefreshRequest {
  /** the protocol the session signed in with: its connector refreshes */
  protocol: Protocol;
  ns: Namespace;
  tenantId: string;
  refreshToken: string;
}

/** the upstream tokens can be renewed without the browser */
export interface RefreshCapable {
  /** fresh tokens; throws a GatewayError with code `session_expired` when the provider refuses */
  refresh(r: RefreshRequest): Promise<UpstreamTokens>;
}

/** the provider has a sign-out page to send the browser to after the gateway session ended */
export interface LogoutUrlCapable<T extends ConnectorTenant = ConnectorTenant> {
  /** `after`: where the browser should land afterwards (providers may ignore it); throws when the tenant's provider is unusable */
  logoutUrl(tenant: T, after: string): string;
}

/** the provider ends gateway sessions by a back-channel call naming the sign-in (CAS single logout) */
export interface SingleLogoutCapable {
  /** the handle a later logout request will name for this callback's sign-in */
  logoutHandle(callback: CallbackRequest): string | undefined;
  /** the handle a back-channel logout request names; throws when it names none */
  readLogoutRequest(body: unknown): Promise<string>;
}

export const canRefresh = (c: object): c is RefreshCapable => typeof (c as Partial<RefreshCapable>).refresh === 'function';

export const hasLogoutUrl = <T extends ConnectorTenant>(c: Connector<T>): c is Connector<T> & LogoutUrlCapable<T> => typeof (c as Partial<LogoutUrlCapable<T>>).logoutUrl === 'function';

export const hasTenantChooser = (c: object): c is TenantChooserCapable => typeof (c as Partial<TenantChooserCapable>).startWithoutTenant === 'function';

export const hasSingleLogout = (c: object): c is SingleLogoutCapable =>
  typeof (c as Partial<SingleLogoutCapable>).logoutHandle === 'function' && typeof (c as Partial<SingleLogoutCapable>).readLogoutRequest === 'function';

// oidc-provider ships no types and @types/oidc-provider is not installed: these are the few
// members this project uses, written from the library's source (v9). Anything not listed here is
// deliberately out of reach.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { JWK } from 'jose';

  /** what an adapter stores for one model instance; opaque to the adapter except for these members */
  export interface AdapterPayload {
    [key: string]: unknown;
    /** epoch seconds */
    exp?: number;
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    redirect_uris: string[];
    post_logout_redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    grant_types?: string[];
    response_types?: string[];
    id_token_signed_response_alg?: string;
    backchannel_logout_uri?: string;
    backchannel_logout_session_required?: boolean;
  }

  export interface Client {
    readonly clientId: string;
    readonly clientName?: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface Session {
    readonly accountId?: string;
    /** set while an end_session confirmation is pending */
    readonly state?: { secret: string };
    /** with a value: sets it */
    grantIdFor(clientId: string, value?: string): string | undefined;
  }

  /** what findAccount is asked for at the token and userinfo endpoints (code, refresh or access token) */
  export interface TokenSource {
    readonly kind: string;
    readonly grantId?: string;
    readonly clientId?: string;
    /** the provider session's sid for this client, when the client gets one (back-channel logout with session) */
    readonly sid?: string;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Record<string, unknown> | Promise<Record<string, unknown>>;
  }

  export interface OIDCContext {
    readonly route: string;
    readonly session?: Session;
    readonly account?: Account;
    readonly client?: Client;
    readonly params?: Record<string, unknown>;
    readonly result?: { consent?: { grantId?: string } };
    readonly provider: Provider;
    urlFor(name: string, opt?: Record<string, string>): string;
  }

  /** the Koa context oidc-provider hands to configuration functions and middleware */
  export interface KoaContextWithOIDC {
    readonly req: IncomingMessage;
    readonly oidc: OIDCContext;
    readonly response: { get(field: string): string };
    body: unknown;
    type: string;
    status: number;
  }

  export interface InteractionResults {
    login?: { accountId: string; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export interface Interaction {
    readonly uid: string;
    /** epoch seconds */
    readonly exp: number;
    readonly params: Record<string, unknown>;
    readonly prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    readonly grantId?: string;
  }

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    static find(id: string): Promise<Grant | undefined>;
    readonly accountId: string;
    addOIDCScope(scope: string): void;
    getOIDCScope(): string;
    /** resolves with the grant id */
    save(): Promise<string>;
  }

  type Ttl = number | ((ctx: KoaContextWithOIDC, token: unknown, client: Client) => number);

  export interface Configuration {
    adapter: (name: string) => Adapter;
    clients: ClientMetadata[];
    jwks: { keys: JWK[] };
    findAccount(ctx: KoaContextWithOIDC, sub: string, token?: TokenSource): Promise<Account | undefined>;
    loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined>;
    claims: Record<string, string[] | null>;
    scopes: string[];
    responseTypes: string[];
    conformIdTokenClaims: boolean;
    extraParams: string[];
    cookies: { names: { session: string; interaction: string; resume: string }; keys: string[] };
    features: {
      devInteractions: { enabled: boolean };
      resourceIndicators: { enabled: boolean };
      backchannelLogout: { enabled: boolean };
      rpInitiatedLogout: {
        enabled: boolean;
        logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void>;
        postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void>;
      };
    };
    interactions: { url(ctx: KoaContextWithOIDC, interaction: Interaction): Promise<string>; policy: Policy };
    issueRefreshToken(ctx: KoaContextWithOIDC, client: Client): Promise<boolean>;
    expiresWithSession(): Promise<boolean>;
    renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, error: Error): Promise<void>;
    ttl: Record<string, Ttl>;
  }

  export class Provider {
    constructor(issuer: string, configuration: Partial<Configuration>);
    /** believe X-Forwarded-* (Koa's app.proxy) */
    proxy: boolean;
    readonly Grant: typeof Grant;
    readonly Client: { prototype: { backchannelLogout(sub: string, sid: string): Promise<void> } };
    /** the per-request context class; its prototype may be amended */
    readonly OIDCContext: { prototype: OIDCContext };
    urlFor(name: string, opt?: Record<string, string>): string;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>): void;
    on(event: 'server_error', listener: (ctx: KoaContextWithOIDC, error: Error) => void): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  }
  export default Provider;

  export namespace interactionPolicy {
    class Check {
      /** error: what prompt=none answers when this check asks for the prompt */
      constructor(reason: string, description: string, error: string, check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
    }
    interface Prompt {
      readonly name: string;
      readonly checks: { add(check: Check): void };
    }
    interface Policy extends Array<Prompt> {
      get(name: string): Prompt | undefined;
    }
    function base(): Policy;
  }
  type Policy = interactionPolicy.Policy;

  export namespace errors {
    class OIDCProviderError extends Error {
      readonly error: string;
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(description?: string);
    }
    class SessionNotFound extends OIDCProviderError {}
  }
}

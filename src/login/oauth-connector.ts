// OAuth 2.0 against a tenant's OneAccess with openid-client v6 and hand-given metadata (OneAccess
// publishes no discovery document). Userinfo is read with fetchProtectedResource and validated
// here, because OneAccess sends no `sub` (fetchUserInfo would insist on one). State, PKCE and
// every OneAccess OAuth URL (authorize, token, userinfo, logout) live here and nowhere else.
import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { z } from 'zod';
import type { TenantRecord } from '../directory/model.ts';
import type { CallbackIdentity, CallbackRequest, Connector, LoginStart, LogoutUrlCapable, RefreshCapable, RefreshRequest, TenantChooserCapable } from '../identity/connector.ts';
import { LoginError } from './errors.ts';
import { compact, type UpstreamIdentity, type UpstreamTokens } from '../identity/identity.ts';
import type { OAuthClientInfo, Tenants } from './tenants.ts';
import { upstreamExchange, upstreamFailure, type UpstreamLimits } from './upstream-http.ts';
import { msg } from '../web/i18n.ts';

const str = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);

/**
 * What an OAuth callback says before any transaction is looked up: OneAccess's own refusal
 * (`error`), or the code. Checked first, so a refusal is reported as such.
 */
export function readOAuthCallback(query: Readonly<Record<string, unknown>>): { code: string } {
  const error = str(query.error, 256);
  if (error) {
    const desc = str(query.error_description, 256);
    throw new LoginError(error === 'access_denied' ? 'not_authorized' : 'upstream_refused', msg('refusal.upstreamDenied', { detail: `${error}${desc ? `: ${desc}` : ''}` }), { retry: true });
  }
  const code = str(query.code, 1024);
  if (!code) throw new LoginError('invalid_request', msg('refusal.noCode'));
  return { code };
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)), what client.calculatePKCECodeChallenge gives, without a WebCrypto round trip */
export const pkceChallenge = (codeVerifier: string): string => createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');

/** statuses a Response may not carry a body with */
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/**
 * A Response (openid-client insists on one) over a body already read and capped: text(), json(),
 * arrayBuffer() and clone() answer from the string, read once like any body, without the web
 * stream `new Response(text)` builds and openid-client would then read back chunk by chunk.
 */
function readResponse(text: string, init: ResponseInit): Response {
  const res = new Response(null, init);
  let used = false;
  const take = async (): Promise<string> => {
    if (used) throw new TypeError('Body is unusable: Body has already been read');
    used = true;
    return text;
  };
  return Object.defineProperties(res, {
    bodyUsed: { get: () => used },
    text: { value: take },
    json: { value: async () => JSON.parse(await take()) as unknown },
    arrayBuffer: { value: async () => new TextEncoder().encode(await take()).buffer },
    clone: {
      value: () => {
        if (used) throw new TypeError('Response.clone: Body has already been consumed.');
        return readResponse(text, { status: res.status, statusText: res.statusText, headers: res.headers });
      },
    },
  });
}

/** a fresh OAuth state: 192 random bits in letters and digits */
const newState = () => randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');

const userinfoSchema = z.object({
  userName: z.string().min(1).max(256),
  name: z.string().max(256).nullish(),
  email: z.string().max(256).nullish(),
  mobile: z.string().max(64).nullish(),
  role: z.string().max(32).nullish(),
  organizationCode: z.string().max(128).nullish(),
  projectName: z.string().max(256).nullish(),
  tenant: z.string().max(128).nullish(),
});

function oauthErrorMessage(e: unknown): { refused: boolean; detail: string } {
  // openid-client throws ResponseBodyError for {"error": ...} answers
  const err = e as { name?: string; error?: string; error_description?: string; status?: number };
  if (err?.name === 'ResponseBodyError' && err.error) return { refused: true, detail: `${err.error}${err.error_description ? `: ${err.error_description}` : ''}` };
  return { refused: false, detail: '' };
}

export interface OAuthConnectorOptions {
  limits: UpstreamLimits;
  /** login.allowInsecureIdp: http:// OneAccess URLs (tests, the sandbox) */
  allowInsecure: boolean;
  publicUrl: string;
  /** login.unifiedLoginUrl and login.appId: OneAccess's page that chooses the tenant (appId empty: none) */
  unifiedLogin: { url: string; appId: string };
  /** how long the sign-in's OneAccess calls took (token + userinfo), for the upstream-time metric */
  observeUpstream?: (step: 'oauth-signin', seconds: number) => void;
}

export class OAuthConnector implements Connector<TenantRecord>, RefreshCapable, LogoutUrlCapable<TenantRecord>, TenantChooserCapable {
  readonly protocol = 'oauth' as const;
  private readonly configs = new Map<string, client.Configuration>();
  /** the gateway's /oauth/callback, registered with every tenant app */
  private readonly redirectUri: string;
  private readonly limits: UpstreamLimits;
  private readonly allowInsecure: boolean;

  constructor(
    private readonly tenants: Tenants,
    private readonly opts: OAuthConnectorOptions,
  ) {
    this.redirectUri = `${opts.publicUrl}/oauth/callback`;
    this.limits = opts.limits;
    this.allowInsecure = opts.allowInsecure;
  }

  /** the unified login page, which comes back with code + tenant and no state */
  startWithoutTenant(): LoginStart | null {
    const { url: u, appId } = this.opts.unifiedLogin;
    if (!appId) return null;
    const params = `ind=UNOP&appId=${encodeURIComponent(appId)}`;
    return { url: u.includes('#') ? `${u}${u.includes('?', u.indexOf('#')) ? '&' : '?'}${params}` : `${u}?${params}` };
  }

  /** the authorization URL, with a fresh state and PKCE (S256) verifier for the transaction */
  async start(tenant: TenantRecord): Promise<LoginStart & { state: string; codeVerifier: string }> {
    const info = await this.tenants.client(tenant);
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = newState();
    const url = this.authorizationUrl(info, { state, codeChallenge: pkceChallenge(codeVerifier) });
    return { url, state, codeVerifier, appId: info.appId };
  }

  /**
   * code -> tokens -> userinfo. With the transaction's state and verifier (PKCE binds the code to
   * the browser that started it); without (unified login page, workbench), neither is checked.
   */
  async handleCallback(tenant: TenantRecord, cb: CallbackRequest): Promise<CallbackIdentity> {
    readOAuthCallback(cb.query);
    // the app the sign-in started with (its client got the code), not whichever is newest now
    const info = await this.tenants.client(tenant, cb.appId);
    const callbackUrl = new URL(this.redirectUri);
    for (const [k, v] of Object.entries(cb.query)) if (typeof v === 'string') callbackUrl.searchParams.set(k, v);
    const started = performance.now();
    const id = await this.signIn(info, callbackUrl, { ...(cb.state ? { state: cb.state } : {}), ...(cb.codeVerifier ? { codeVerifier: cb.codeVerifier } : {}) });
    this.opts.observeUpstream?.('oauth-signin', (performance.now() - started) / 1000);
    return { ...id, appId: info.appId };
  }

  /** OneAccess's sign-out, which sends the browser on to `after` */
  logoutUrl(tenant: TenantRecord, after: string): string {
    return `${this.tenants.idpBaseUrl(tenant)}/api/v1/logout?redirect_url=${encodeURIComponent(after)}`;
  }

  /** openid-client configuration per tenant app, cached until the tenant or app changes */
  private config(info: OAuthClientInfo): client.Configuration {
    let c = this.configs.get(info.key);
    if (c) return c;
    const base = info.baseUrl;
    const secret = info.clientSecret();
    c = new client.Configuration(
      {
        issuer: base,
        authorization_endpoint: `${base}/api/v1/oauth2/authorize`,
        token_endpoint: `${base}/api/v1/oauth2/token`,
        userinfo_endpoint: `${base}/api/v1/oauth2/userinfo`,
      },
      info.clientId,
      { client_secret: secret },
      client.ClientSecretPost(secret),
    );
    // no timeout signal of openid-client's own: upstreamExchange's deadline covers every call
    c.timeout = 0;
    c[client.customFetch] = (url, options) => this.fetch(url, options);
    if (this.allowInsecure && base.startsWith('http:')) client.allowInsecureRequests(c);
    if (this.configs.size > 10_000) this.configs.clear();
    this.configs.set(info.key, c);
    return c;
  }

  /** forget cached configurations of a tenant (its tenant or app record changed) */
  forgetTenant(tenantId: string): void {
    for (const [k] of this.configs) if (k.includes(`|${tenantId}|`)) this.configs.delete(k);
  }

  /** deadline + size cap for every OneAccess call made by openid-client */
  private async fetch(url: string, options: client.CustomFetchOptions): Promise<Response> {
    const b = options.body;
    if (b != null && typeof b !== 'string' && !(b instanceof URLSearchParams) && !(b instanceof Uint8Array)) throw new TypeError('OneAccess calls send a string or form body');
    const res = await upstreamExchange(url, { method: options.method, headers: options.headers, body: b instanceof URLSearchParams ? b.toString() : b }, this.limits, new URL(url).pathname);
    let text = res.body;
    // OneAccess documents expires_in as a string on one page; the client wants a number
    if (url.endsWith('/oauth2/token') && /"expires_in"\s*:\s*"\d+"/.test(text)) text = text.replace(/"expires_in"\s*:\s*"(\d+)"/, '"expires_in":$1');
    return readResponse(NULL_BODY_STATUS.has(res.status) ? '' : text, { status: res.status, headers: res.headers });
  }

  private authorizationUrl(info: OAuthClientInfo, p: { state: string; codeChallenge: string }): string {
    return client
      .buildAuthorizationUrl(this.config(info), {
        redirect_uri: this.redirectUri,
        response_type: 'code',
        scope: 'get_user_info',
        state: p.state,
        code_challenge: p.codeChallenge,
        code_challenge_method: 'S256',
      })
      .href;
  }

  private tokens(r: client.TokenEndpointResponse): UpstreamTokens {
    const expiresIn = typeof r.expires_in === 'number' && r.expires_in > 0 ? r.expires_in : 7200;
    return compact({ accessToken: r.access_token, refreshToken: r.refresh_token, expiresAt: Date.now() + expiresIn * 1000 });
  }

  /** `callbackUrl` is the full URL the browser arrived at */
  private async signIn(info: OAuthClientInfo, callbackUrl: URL, checks: { state?: string; codeVerifier?: string }): Promise<UpstreamIdentity> {
    const config = this.config(info);
    let tokenResponse: client.TokenEndpointResponse;
    try {
      tokenResponse = await client.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.state ?? client.skipStateCheck,
        ...(checks.codeVerifier ? { pkceCodeVerifier: checks.codeVerifier } : {}),
        idTokenExpected: false,
      });
    } catch (e) {
      const oauth = oauthErrorMessage(e);
      if (oauth.refused) throw new LoginError('upstream_refused', msg('refusal.upstreamRefused', { detail: oauth.detail }), { cause: e, retry: true });
      throw upstreamFailure(e, 'token');
    }
    const tokens = this.tokens(tokenResponse);
    const profile = await this.userinfo(config, info, tokens.accessToken);
    if (profile.tenant && profile.tenant !== info.tenantId) {
      throw new LoginError('tenant_mismatch', msg('refusal.tenantMismatch'), {
        cause: new Error(`userinfo.tenant ${profile.tenant} != ${info.tenantId}`),
      });
    }
    return compact({
      protocol: 'oauth' as const,
      tenantId: info.tenantId,
      userName: profile.userName,
      name: profile.name ?? undefined,
      email: profile.email ?? undefined,
      mobile: profile.mobile ?? undefined,
      role: profile.role ?? undefined,
      orgCode: profile.organizationCode ?? undefined,
      tenantName: profile.projectName ?? undefined,
      tokens,
    });
  }

  private async userinfo(config: client.Configuration, info: OAuthClientInfo, accessToken: string): Promise<z.infer<typeof userinfoSchema>> {
    let res: Response;
    try {
      res = await client.fetchProtectedResource(config, accessToken, new URL(`${info.baseUrl}/api/v1/oauth2/userinfo`), 'GET', undefined, new Headers({ accept: 'application/json' }));
    } catch (e) {
      throw upstreamFailure(e, 'userinfo');
    }
    const text = await res.text();
    if (res.status !== 200) {
      throw new LoginError('upstream_error', msg('refusal.userinfoStatus', { status: res.status }), { cause: new Error(text.slice(0, 200)) });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new LoginError('upstream_error', msg('refusal.userinfoUnreadable'), { cause: e });
    }
    const parsed = userinfoSchema.safeParse(json);
    if (!parsed.success) {
      throw new LoginError('upstream_error', msg('refusal.userinfoIncomplete'), { cause: parsed.error });
    }
    return parsed.data;
  }

  /** the refresh_token grant for the session's tenant app */
  async refresh(r: RefreshRequest): Promise<UpstreamTokens> {
    if (r.ns !== this.tenants.ns) throw new LoginError('session_expired', msg('refusal.sessionEnded'), { cause: new Error(`a ${r.ns} session cannot be refreshed by the ${this.tenants.ns} sign-in`) });
    const info = await this.tenants.client(await this.tenants.active(r.tenantId));
    return this.refreshGrant(info, r.refreshToken);
  }

  private async refreshGrant(info: OAuthClientInfo, refreshToken: string): Promise<UpstreamTokens> {
    try {
      const r = await client.refreshTokenGrant(this.config(info), refreshToken);
      const t = this.tokens(r);
      // OneAccess rotates refresh tokens; keep the old one only if none came back
      return { ...t, refreshToken: t.refreshToken ?? refreshToken };
    } catch (e) {
      const oauth = oauthErrorMessage(e);
      if (oauth.refused) throw new LoginError('session_expired', msg('refusal.sessionEnded'), { cause: e });
      throw upstreamFailure(e, 'refresh');
    }
  }
}

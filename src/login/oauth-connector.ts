// OAuth 2.0 against a tenant's OneAccess with openid-client v6 and hand-given metadata (OneAccess
// publishes no discovery document). Userinfo is read with fetchProtectedResource and validated
// here, because OneAccess sends no `sub` (fetchUserInfo would insist on one).
import * as client from 'openid-client';
import { z } from 'zod';
import { LoginError } from './errors.ts';
import { compact, type UpstreamIdentity, type UpstreamTokens } from '../identity/identity.ts';
import { deadline, readCapped, upstreamFailure, type UpstreamLimits } from './upstream-http.ts';
import { msg } from '../web/i18n.ts';

export interface OAuthClientInfo {
  /** cache key: changes whenever the tenant or app record changes */
  key: string;
  tenantId: string;
  baseUrl: string;
  clientId: string;
  clientSecret: string;
}

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

export class OAuthConnector {
  private readonly configs = new Map<string, client.Configuration>();

  constructor(
    private readonly limits: UpstreamLimits,
    private readonly allowInsecure: boolean,
  ) {}

  /** openid-client configuration per tenant app, cached until the tenant or app changes */
  private config(info: OAuthClientInfo): client.Configuration {
    let c = this.configs.get(info.key);
    if (c) return c;
    const base = info.baseUrl;
    c = new client.Configuration(
      {
        issuer: base,
        authorization_endpoint: `${base}/api/v1/oauth2/authorize`,
        token_endpoint: `${base}/api/v1/oauth2/token`,
        userinfo_endpoint: `${base}/api/v1/oauth2/userinfo`,
      },
      info.clientId,
      { client_secret: info.clientSecret },
      client.ClientSecretPost(info.clientSecret),
    );
    c.timeout = Math.ceil(this.limits.timeoutMs / 1000);
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
    const { signal, done } = deadline(this.limits.timeoutMs);
    let text: string;
    let res: Response;
    try {
      res = await fetch(url, { ...options, body: options.body as RequestInit['body'], signal });
      text = await readCapped(res, this.limits.maxBodyBytes, new URL(url).pathname);
    } finally {
      done();
    }
    // OneAccess documents expires_in as a string on one page; the client wants a number
    if (url.endsWith('/oauth2/token') && /"expires_in"\s*:\s*"\d+"/.test(text)) text = text.replace(/"expires_in"\s*:\s*"(\d+)"/, '"expires_in":$1');
    return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  authorizationUrl(info: OAuthClientInfo, p: { redirectUri: string; state: string; codeChallenge: string }): string {
    return client
      .buildAuthorizationUrl(this.config(info), {
        redirect_uri: p.redirectUri,
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

  /** code -> tokens -> userinfo. `callbackUrl` is the full URL the browser arrived at. */
  async signIn(info: OAuthClientInfo, callbackUrl: URL, checks: { state?: string; codeVerifier?: string }): Promise<UpstreamIdentity> {
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

  async refresh(info: OAuthClientInfo, refreshToken: string): Promise<UpstreamTokens> {
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

// OAuth 2.0 endpoints of one tenant's OneAccess (spec §3): authorize, token, userinfo, logout.
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import {
  appendQuery,
  clearSsoCookie,
  isHttpUrl,
  oauthError,
  paramsOf,
  readCookie,
  ssoCookieName,
  type Params,
  type Route,
} from './oneaccess-http.ts';
import { LOGIN_PATH, sendErrorPage, sendLoginForm } from './oneaccess-pages.ts';
import type { SandboxState, SsoSession, Tenant } from './oneaccess-state.ts';
import { msg, type Msg } from '../web/i18n.ts';

export const AUTHORIZE_PATH = '/api/v1/oauth2/authorize';

interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string | undefined;
  codeChallenge: string | undefined;
}

type AuthorizeCheck =
  | { ok: true; request: AuthorizeRequest }
  /** client or redirect_uri cannot be trusted: show a page, never redirect (RFC 6749 §4.1.2.1) */
  | { ok: false; page: Msg }
  | { ok: false; redirect: string };

function checkAuthorize(tenant: Tenant, params: Params): AuthorizeCheck {
  const clientId = params('client_id');
  const client = clientId === undefined ? undefined : tenant.clients.get(clientId);
  if (clientId === undefined || !client) return { ok: false, page: msg('sandbox.error.unknownClient', { clientId: clientId ?? '' }) };
  // OneAccess marks redirect_uri optional: without it the single registered one is used
  const redirectUri = params('redirect_uri') ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
  if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
    return { ok: false, page: msg('sandbox.error.redirectUri', { redirectUri: redirectUri ?? '', clientId }) };
  }
  const state = params('state');
  const fail = (error: string, description: string): AuthorizeCheck => ({
    ok: false,
    redirect: appendQuery(redirectUri, { error, error_description: description, state }),
  });
  if (params('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  const codeChallenge = params('code_challenge');
  const method = params('code_challenge_method');
  if (codeChallenge !== undefined) {
    if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) return fail('invalid_request', 'malformed code_challenge');
  } else if (method !== undefined) {
    return fail('invalid_request', 'code_challenge_method without code_challenge');
  }
  const scope = params('scope') ?? 'get_user_info';
  return { ok: true, request: { clientId, redirectUri, scope, state, codeChallenge } };
}

/**
 * Answers a checked authorize request: without a session the login form (which resumes at
 * `continueUrl`), with one a 302 to the client with code (+ state). Used by GET authorize and
 * by the login form right after sign-in.
 */
export function completeAuthorize(
  state: SandboxState,
  tenant: Tenant,
  params: Params,
  session: SsoSession | undefined,
  res: Response,
  continueUrl: string,
): void {
  const check = checkAuthorize(tenant, params);
  if (!check.ok) {
    if ('page' in check) return sendErrorPage(res, 400, msg('sandbox.error.authorize'), check.page);
    return void res.redirect(302, check.redirect);
  }
  const { request } = check;
  if (!session) return sendLoginForm(res, tenant, continueUrl);
  const code = state.issueCode({
    tenantId: tenant.tenantId,
    clientId: request.clientId,
    userName: session.userName,
    redirectUri: request.redirectUri,
    scope: request.scope,
    ...(request.codeChallenge === undefined ? {} : { codeChallenge: request.codeChallenge }),
  });
  res.redirect(302, appendQuery(request.redirectUri, { code, state: request.state }));
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64 (oauth4webapi does so). */
function basicCredentials(req: Request): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const unform = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function token(state: SandboxState, tenant: Tenant, req: Request, res: Response): void {
  res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  const body = paramsOf(req.body);
  const basic = basicCredentials(req);
  if (basic && body('client_secret') !== undefined) {
    return oauthError(res, 400, 'invalid_request', 'Use only one client authentication method');
  }
  const clientId = basic?.id ?? body('client_id');
  const secret = basic?.secret ?? body('client_secret');
  const client = clientId === undefined ? undefined : tenant.clients.get(clientId);
  if (clientId !== undefined && secret !== undefined) {
    state.countClientAuth(tenant.tenantId, basic ? 'client_secret_basic' : 'client_secret_post');
  }
  if (!client || secret === undefined || !sameSecret(secret, client.clientSecret)) {
    if (basic) res.set('WWW-Authenticate', 'Basic realm="oauth2/client"');
    return oauthError(res, 401, 'invalid_client', 'Bad client credentials');
  }
  if (basic && body('client_id') !== undefined && body('client_id') !== basic.id) {
    return oauthError(res, 400, 'invalid_request', 'client_id does not match the authenticated client');
  }
  const grantType = body('grant_type');
  if (grantType === 'authorization_code') {
    const code = body('code');
    if (code === undefined) return oauthError(res, 400, 'invalid_request', 'Missing parameter: code');
    const grant = state.takeCode(tenant.tenantId, code);
    if (!grant || grant.clientId !== client.clientId || !tenant.users.has(grant.userName)) {
      return oauthError(res, 400, 'invalid_grant', 'Invalid authorization code');
    }
    const redirectUri = body('redirect_uri');
    if (redirectUri !== undefined && grant.redirectUri !== undefined && redirectUri !== grant.redirectUri) {
      return oauthError(res, 400, 'invalid_grant', 'Redirect URI mismatch');
    }
    if (grant.codeChallenge !== undefined) {
      const verifier = body('code_verifier');
      if (verifier === undefined || s256(verifier) !== grant.codeChallenge) {
        return oauthError(res, 400, 'invalid_grant', 'Invalid code verifier');
      }
    }
    const { tenantId, clientId: id, userName, scope } = grant;
    return void res.json(state.issueTokens({ tenantId, clientId: id, userName, scope }));
  }
  if (grantType === 'refresh_token') {
    const refresh = body('refresh_token');
    if (refresh === undefined) return oauthError(res, 400, 'invalid_request', 'Missing parameter: refresh_token');
    const grant = state.refreshToken(tenant.tenantId, refresh);
    if (!grant || grant.clientId !== client.clientId || !tenant.users.has(grant.userName)) {
      return oauthError(res, 400, 'invalid_grant', 'Invalid refresh token');
    }
    state.revokeRefreshToken(refresh); // rotation: the old one stops working now
    const { tenantId, clientId: id, userName, scope } = grant;
    return void res.json(state.issueTokens({ tenantId, clientId: id, userName, scope }));
  }
  if (grantType === undefined) return oauthError(res, 400, 'invalid_request', 'Missing grant type');
  oauthError(res, 400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);
}

function userinfo(state: SandboxState, tenant: Tenant, req: Request, res: Response): void {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const grant = match?.[1] === undefined ? undefined : state.accessToken(tenant.tenantId, match[1]);
  const user = grant === undefined ? undefined : tenant.users.get(grant.userName);
  if (!user) {
    res.set('WWW-Authenticate', 'Bearer realm="oauth2-resource"');
    return oauthError(res, 401, 'unauthorized', 'Full authentication is required to access this resource');
  }
  const generic = { id: user.id, userName: user.userName, name: user.name, email: user.email, mobile: user.mobile };
  if (state.settings.userinfoProfile === 'generic') return void res.json(generic);
  // joint-operation fields (spec §3.4); deliberately no OIDC `sub`
  res.json({
    ...generic,
    role: user.role ?? 'user',
    organizationName: user.organizationName,
    organizationCode: user.organizationCode,
    userId: user.id,
    projectName: tenant.name,
    tenant: tenant.tenantId,
  });
}

function logout(state: SandboxState, tenant: Tenant, req: Request, res: Response): void {
  state.endSession(readCookie(req, ssoCookieName(tenant)));
  clearSsoCookie(res, tenant);
  const target = paramsOf(req.query)('redirect_url');
  res.redirect(302, target !== undefined && isHttpUrl(target) ? target : LOGIN_PATH);
}

export function oauthRoutes(state: SandboxState, route: Route): Router {
  const router = express.Router();
  router.get(
    AUTHORIZE_PATH,
    route('authorize', (tenant, req, res) => {
      const session = state.session(tenant, readCookie(req, ssoCookieName(tenant)));
      completeAuthorize(state, tenant, paramsOf(req.query), session, res, req.originalUrl);
    }),
  );
  router.post(
    '/api/v1/oauth2/token',
    express.urlencoded({ extended: false, limit: '16kb' }),
    route('token', (tenant, req, res) => token(state, tenant, req, res)),
  );
  router.get('/api/v1/oauth2/userinfo', route('userinfo', (tenant, req, res) => userinfo(state, tenant, req, res)));
  router.get('/api/v1/logout', route('logout', (tenant, req, res) => logout(state, tenant, req, res)));
  return router;
}

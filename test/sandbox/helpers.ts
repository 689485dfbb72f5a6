// Shared fixtures for the OneAccess sandbox tests: two tenants that share client credentials
// (so tenant isolation is tested on the codes themselves), a browser-ish cookie jar, and
// small wrappers around the form-encoded endpoints.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startOneAccessSandbox, type OneAccessSandbox, type SandboxOptions, type SandboxTenantInfo, type TenantInput } from '../../src/sandbox/oneaccess.ts';

export const CLIENT_ID = 'cl-test';
export const CLIENT_SECRET = 's3cret-value';
export const REDIRECT_URI = 'https://isv.example.com/oauth/callback';
export const CAS_SERVICE = 'https://isv.example.com/cas/callback?tenant=t-a';

export function tenantInput(tenantId: string): TenantInput {
  return {
    tenantId,
    tenantCode: `${tenantId}-code`,
    name: `Tenant ${tenantId}`,
    clients: [
      { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI], casServices: [CAS_SERVICE] },
    ],
    users: [
      { userName: 'zhangsan01', name: '张三', email: 'zs@example.com', mobile: '13800000000', role: 'admin', organizationCode: '10000', organizationName: '开发部', id: 'u-1' },
      { userName: 'lisi02', name: '李四' },
    ],
  };
}

export interface Fixture {
  sandbox: OneAccessSandbox;
  a: SandboxTenantInfo;
  b: SandboxTenantInfo;
  /** advances the sandbox clock */
  tick(ms: number): void;
}

export async function startFixture(opts: SandboxOptions = {}): Promise<Fixture> {
  let now = Date.now();
  const sandbox = await startOneAccessSandbox({ now: () => now, ...opts });
  try {
    const a = await sandbox.addTenant(tenantInput('t-a'));
    const b = await sandbox.addTenant(tenantInput('t-b'));
    return { sandbox, a, b, tick: (ms) => void (now += ms) };
  } catch (err) {
    await sandbox.close();
    throw err;
  }
}

/** Cookies per origin, enough for the sandbox's SSO cookie. */
export class Browser {
  private readonly jar = new Map<string, string>();

  async get(url: string): Promise<Response> {
    return this.send(url, { method: 'GET' });
  }

  async post(url: string, form: Record<string, string>): Promise<Response> {
    return this.send(url, { method: 'POST', body: new URLSearchParams(form) });
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const origin = new URL(url).origin;
    const cookie = this.jar.get(origin);
    const res = await fetch(url, { ...init, redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      if (/Max-Age=0/i.test(line)) this.jar.delete(origin);
      else this.jar.set(origin, pair);
    }
    return res;
  }
}

export function location(res: Response): URL {
  assert.equal(res.status, 302, `expected a redirect, got ${res.status}`);
  const value = res.headers.get('location');
  assert.ok(value, 'Location header');
  return new URL(value, res.url);
}

export function authorizeUrl(origin: string, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'get_user_info', ...extra });
  return `${origin}/api/v1/oauth2/authorize?${query}`;
}

/** authorize → login form → POST as userName → the callback URL with code (and state). */
export async function signInOAuth(browser: Browser, origin: string, userName: string, extra: Record<string, string> = {}): Promise<URL> {
  const url = authorizeUrl(origin, extra);
  const form = await browser.get(url);
  assert.equal(form.status, 200);
  const html = await form.text();
  assert.match(html, /name="userName"/);
  const cont = /name="continue" value="([^"]*)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
  assert.ok(cont, 'login form carries the interrupted request');
  return location(await browser.post(`${origin}/sandbox/login`, { userName, continue: cont }));
}

export async function tokenRequest(origin: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${origin}/api/v1/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export function redeem(origin: string, code: string, extra: Record<string, string> = {}): ReturnType<typeof tokenRequest> {
  return tokenRequest(origin, { grant_type: 'authorization_code', code, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...extra });
}

export async function userinfo(origin: string, accessToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${origin}/api/v1/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function str(value: unknown): string {
  if (typeof value !== 'string') assert.fail(`expected a string, got ${typeof value}`);
  return value;
}

/** Walks parsed JSON/XML without `any`: dig(body, 'serviceResponse', 'authenticationFailure', 'code'). */
export function dig(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

// Gateways with the operator console on, a OneAccess sandbox and the marketplace's pushes; helpers
// to sign a person in and to call the console's API as a script would.
import assert from 'node:assert/strict';
import { Browser, hiddenInput, last } from '../helpers/browser.ts';
import type { LoginEnv } from '../helpers/login-env.ts';

export const ADMIN_TOKEN = 'console-test-token-0123456789abcdefghijklmnop';

export const consoleSettings = (extra: Record<string, unknown> = {}) => ({ admin: { token: ADMIN_TOKEN, operatorTenants: ['t-ops'] }, ...extra });

export async function signIn(env: LoginEnv, b: Browser, user: string, tenant: string, returnTo?: string): Promise<void> {
  const q = `tenant=${tenant}${returnTo ? `&return_to=${encodeURIComponent(returnTo)}` : ''}`;
  const form = last(await b.follow(`${env.base}/login?${q}`));
  const end = last(await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: user, continue: hiddenInput(form.body, 'continue')! }));
  assert.ok(end.status !== 403 && end.status < 500, end.body.slice(0, 300));
}

export const cookieOf = (env: LoginEnv, b: Browser) => `bridge.sid=${b.cookie(env.base, 'bridge.sid')}`;

/** a script's call: Authorization: Bearer */
export async function api(base: string, method: string, path: string, opts: { token?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}/admin/api${path}`, { method, headers: { authorization: `Bearer ${opts.token ?? ADMIN_TOKEN}`, ...(opts.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** polls until `ok` holds, at most 2 s */
export async function within2s<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const until = Date.now() + 2000;
  let v = await probe();
  while (!ok(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    v = await probe();
  }
  return v;
}

export const verifyStatus = async (base: string, cookie: string) => (await fetch(`${base}/auth/verify`, { headers: { cookie, 'x-forwarded-uri': '/' } })).status;

// A browser walk through the gateway's OIDC provider for tests: /oidc/auth -> gateway sign-in ->
// OneAccess sandbox -> back to the app's redirect_uri (which nobody serves: the walk stops at its
// Location), then the code exchange with openid-client.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { hiddenInput, type Browser, type Page } from '../helpers/browser.ts';
import type { LoginEnv } from '../helpers/login-env.ts';

export interface Walk {
  hops: Page[];
  /** the last answer */
  page: Page;
  /** where the gateway sent the browser back to the app */
  callback?: URL;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export function oidcWalker(env: LoginEnv, rp: client.Configuration, redirectUri: string) {
  const appOrigin = new URL(redirectUri).origin;

  /** follows redirects as a browser would, until a page or a redirect to the app */
  async function walk(b: Browser, url: string, init: RequestInit = {}): Promise<Walk> {
    const hops: Page[] = [];
    let page = await b.request(url, init);
    hops.push(page);
    while (page.status >= 300 && page.status < 400) {
      const next = new URL(page.headers.get('location')!, page.url);
      if (next.origin === appOrigin) return { hops, page, callback: next };
      assert.ok(hops.length < 15, 'redirect loop');
      page = await b.request(next.href);
      hops.push(page);
    }
    return { hops, page };
  }

  /** submits the OneAccess sandbox login form when the walk stopped at it */
  async function signInAtOneAccess(b: Browser, w: Walk, userName: string): Promise<Walk> {
    if (w.callback || w.page.status !== 200) return w;
    const cont = hiddenInput(w.page.body, 'continue');
    assert.ok(cont, `expected the OneAccess login form at ${w.page.url}: ${w.page.body.slice(0, 300)}`);
    const rest = await walk(b, `${new URL(w.page.url).origin}/sandbox/login`, { method: 'POST', headers: FORM, body: new URLSearchParams({ userName, continue: cont }) });
    return { ...rest, hops: [...w.hops, ...rest.hops] };
  }

  /** an authorization request for `rp` and the checks its answer must pass */
  async function authRequest(extra: Record<string, string> = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: redirectUri,
      scope: 'openid profile email phone tenant offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      tenant: 'acme',
      ...extra,
    });
    return { url: url.href, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
  }

  async function authorize(b: Browser, userName: string, extra: Record<string, string> = {}) {
    const req = await authRequest(extra);
    const w = await signInAtOneAccess(b, await walk(b, req.url), userName);
    assert.ok(w.callback, `expected a redirect to the app, ended at ${w.page.status} ${w.page.url}: ${w.page.body.slice(0, 300)}`);
    return { ...w, callback: w.callback, checks: req.checks };
  }

  async function signIn(b: Browser, userName: string, extra: Record<string, string> = {}) {
    const a = await authorize(b, userName, extra);
    return { ...a, tokens: await client.authorizationCodeGrant(rp, a.callback, a.checks) };
  }

  return { walk, signInAtOneAccess, authRequest, authorize, signIn };
}

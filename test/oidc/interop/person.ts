// A person's browser for the relying-party interop tests: follows every redirect between the app,
// the gateway and the OneAccess sandbox (all on loopback) and signs in at the sandbox's form.
import assert from 'node:assert/strict';
import { hiddenInput, type Browser, type Page } from '../../helpers/browser.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** what a browser sends for a top-level navigation (fetch itself always adds sec-fetch-mode: cors) */
const NAVIGATION = { accept: 'text/html' };

/** follows redirects from `url` (navigations, every hop); stops at the first page that is not a redirect or leaves loopback */
export async function follow(b: Browser, url: string, init: RequestInit = {}): Promise<Page[]> {
  const hops = [await b.request(url, { ...init, headers: { ...NAVIGATION, ...(init.headers as Record<string, string>) } })];
  for (let page = hops[0]!; page.status >= 300 && page.status < 400; ) {
    const next = new URL(page.headers.get('location')!, page.url);
    if (next.hostname !== '127.0.0.1') break;
    assert.ok(hops.length < 20, 'redirect loop');
    page = await b.request(next.href, { headers: NAVIGATION });
    hops.push(page);
  }
  return hops;
}

/**
 * the same, answering the gateway's company question with `tenant` and signing in as userName
 * at the OneAccess sandbox's form when the walk stops at them
 */
export async function visitSigningIn(b: Browser, url: string, userName: string, tenant = 'acme'): Promise<Page[]> {
  let hops = await follow(b, url);
  let page = hops.at(-1)!;
  if (page.status === 200 && /name="tenant"/.test(page.body)) {
    const action = /action="([^"]+)"/.exec(page.body)![1]!.replace(/&amp;/g, '&');
    const q = new URLSearchParams({ tenant, return_to: hiddenInput(page.body, 'return_to') ?? '', protocol: hiddenInput(page.body, 'protocol') ?? 'oauth' });
    hops = [...hops, ...(await follow(b, `${new URL(action, page.url).href}?${q}`))];
    page = hops.at(-1)!;
  }
  const cont = page.status === 200 ? hiddenInput(page.body, 'continue') : undefined;
  if (!cont) return hops;
  const rest = await follow(b, `${new URL(page.url).origin}/sandbox/login`, { method: 'POST', headers: FORM, body: new URLSearchParams({ userName, continue: cont }) });
  return [...hops, ...rest];
}

/** answers the gateway's "Sign out?" page with "Sign out" and follows on */
export async function confirmSignOut(b: Browser, hops: Page[]): Promise<Page[]> {
  const page = hops.at(-1)!;
  const xsrf = hiddenInput(page.body, 'xsrf');
  const action = /action="([^"]+)"/.exec(page.body)?.[1]?.replace(/&amp;/g, '&');
  assert.ok(xsrf && action, `expected the sign-out question at ${page.url}: ${page.body.slice(0, 300)}`);
  return follow(b, action, { method: 'POST', headers: FORM, body: new URLSearchParams({ xsrf, logout: 'yes' }) });
}

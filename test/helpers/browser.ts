// A tiny browser for HTTP tests: a cookie jar per host:port and manual redirects, so a test can
// walk gateway -> OneAccess sandbox -> gateway exactly as a person's browser would.
export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

export class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  /** headers sent on every request, e.g. Accept-Language */
  constructor(readonly defaults: Record<string, string> = {}) {}

  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(new URL(origin).host)?.get(name);
  }

  private store(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      let jar = this.jar.get(url.host);
      if (!jar) this.jar.set(url.host, (jar = new Map()));
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const u = new URL(url);
    const jar = this.jar.get(u.host);
    const headers = new Headers(this.defaults);
    for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
    if (jar?.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(u, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
    this.store(u, res);
    return { url, status: res.status, headers: res.headers, body: await res.text() };
  }

  /** follows redirects (GET) until a non-redirect answer or a non-loopback target; returns every hop */
  async follow(url: string, init: RequestInit = {}, max = 10): Promise<Page[]> {
    const hops: Page[] = [];
    let page = await this.request(url, init);
    hops.push(page);
    while (page.status >= 300 && page.status < 400 && hops.length <= max) {
      const next = new URL(page.headers.get('location')!, page.url);
      // tests only ever talk to servers on this machine; a redirect elsewhere ends the walk
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(next.hostname)) break;
      page = await this.request(next.href);
      hops.push(page);
    }
    return hops;
  }

  /** submits a urlencoded form and follows the redirects */
  submit(url: string, form: Record<string, string>): Promise<Page[]> {
    return this.follow(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  }
}

export function last(hops: Page[]): Page {
  return hops[hops.length - 1]!;
}

/** the value of a hidden form input in an HTML page */
export function hiddenInput(html: string, name: string): string | undefined {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return m?.[1]?.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

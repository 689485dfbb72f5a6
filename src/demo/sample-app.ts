// The sample SaaS app of the demo, behind the gateway in proxy mode: it believes the identity
// headers the gateway adds (after checking X-Auth-Request-Jwt against the gateway's JWKS) and shows
// who is signed in, their department and a sign-out button. The page asks /api/me every two seconds,
// so a person watches access end when the marketplace withdraws it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { documentHtml, escapeHtml, pageLanguage } from '../web/pages.ts';
import { translate } from '../web/i18n.ts';

export interface SampleAppOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** department name for (tenantId, orgCode) */
  department(tenantId: string, orgCode: string | undefined): string | undefined;
}

export interface SampleApp {
  url: string;
  close(): Promise<void>;
}

interface Me {
  signedIn: boolean;
  name?: string;
  userName?: string;
  tenant?: string;
  tenantName?: string;
  role?: string;
  department?: string;
  tokenVerified: boolean;
  tokenError?: string;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' && v ? v : undefined;
};

export async function startSampleApp(opts: SampleAppOptions, host = '127.0.0.1'): Promise<SampleApp> {
  const jwks = createRemoteJWKSet(new URL(opts.jwksUrl));

  async function me(req: IncomingMessage): Promise<Me> {
    const user = header(req, 'x-auth-request-user');
    if (!user) return { signedIn: false, tokenVerified: false };
    let claims: Record<string, unknown> = {};
    let tokenError: string | undefined;
    try {
      claims = (await jwtVerify(header(req, 'x-auth-request-jwt') ?? '', jwks, { issuer: opts.issuer, audience: opts.audience, typ: 'JWT' })).payload;
    } catch (e) {
      tokenError = (e as Error).message;
    }
    const tenant = header(req, 'x-auth-request-tenant');
    const raw = header(req, 'x-auth-request-name');
    let name = raw;
    try {
      name = raw === undefined ? undefined : decodeURIComponent(raw);
    } catch {
      // shown as sent
    }
    const orgCode = typeof claims.org_code === 'string' ? claims.org_code : undefined;
    return {
      signedIn: true,
      name,
      userName: user,
      tenant,
      tenantName: typeof claims.tenant_name === 'string' ? claims.tenant_name : undefined,
      role: header(req, 'x-auth-request-role'),
      department: tenant ? (opts.department(tenant, orgCode) ?? orgCode) : orgCode,
      tokenVerified: !tokenError,
      ...(tokenError ? { tokenError } : {}),
    };
  }

  function page(req: IncomingMessage, m: Me): string {
    const lang = pageLanguage(req);
    const t = (k: Parameters<typeof translate>[1]) => escapeHtml(translate(lang, k));
    const row = (id: string, label: string, value: string | undefined) => `<dt>${label}</dt><dd id="${id}">${escapeHtml(value ?? '')}</dd>`;
    const texts = JSON.stringify({ ended: translate(lang, 'demo.app.ended') }).replace(/</g, '\\u003c');
    return documentHtml(
      lang,
      translate(lang, 'demo.app.title'),
      `<p class="muted">${t('demo.app.banner')}</p>
<h1>${t('demo.app.hello')} <span id="name">${escapeHtml(m.name ?? m.userName ?? '')}</span></h1>
<dl>
${row('user', t('signed-in.user'), m.userName)}
${row('tenant', t('signed-in.tenant'), m.tenantName ? `${m.tenantName} (${m.tenant})` : m.tenant)}
${row('dept', t('demo.app.department'), m.department)}
${row('role', t('signed-in.role'), m.role)}
<dt>${t('demo.app.token')}</dt><dd id="token">${m.tokenVerified ? t('demo.app.tokenVerified') : escapeHtml(m.tokenError ?? '')}</dd>
</dl>
<p id="ended" class="notice" hidden></p>
<form method="post" action="/logout"><button type="submit" id="signout">${t('signed-in.signOut')}</button></form>
<script>
const T = ${texts};
async function poll() {
  try {
    const r = await fetch('/api/me', { headers: { accept: 'application/json' }, cache: 'no-store' });
    const m = r.ok ? await r.json() : { signedIn: false };
    if (!m.signedIn) {
      const e = document.getElementById('ended');
      e.textContent = T.ended; e.hidden = false;
      document.getElementById('signout').hidden = true;
      return;
    }
    for (const [id, v] of [['name', m.name || m.userName], ['role', m.role], ['dept', m.department]]) document.getElementById(id).textContent = v || '';
  } catch {}
  setTimeout(poll, 2000);
}
setTimeout(poll, 2000);
</script>`,
    );
  }

  const server: Server = createServer((req, res) => {
    me(req).then(
      (m) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/api/me') {
          res.writeHead(m.signedIn ? 200 : 401, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(m));
          return;
        }
        if (path === '/favicon.ico') {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page(req, m));
      },
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

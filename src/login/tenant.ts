// Which tenant a browser belongs to, and where that tenant's OneAccess lives. Tenant ids from the
// browser are only ever looked up in the directory; OneAccess URLs come only from verified syncs.
import type { Directory } from '../directory/directory.ts';
import type { TenantRecord } from '../directory/model.ts';
import { LoginError } from './errors.ts';
import { msg } from '../web/i18n.ts';

/** contract §3: domainName with its scheme, else https:// + it; no trailing slash */
export function idpBaseUrl(t: TenantRecord, allowInsecure: boolean): string {
  const raw = /^[a-z][a-z0-9+.-]*:\/\//i.test(t.domainName) ? t.domainName : `https://${t.domainName}`;
  const u = new URL(raw);
  if (u.protocol !== 'https:' && !(allowInsecure && u.protocol === 'http:')) {
    throw new LoginError('insecure_idp', msg('refusal.insecureIdp'), {
      cause: new Error(`tenant ${t.tenantId} domainName uses ${u.protocol}`),
    });
  }
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
}

function hostPattern(pattern: string): { re: RegExp; key: 'tenantCode' | 'tenantId' } {
  const key = pattern.includes('{tenantId}') ? 'tenantId' : 'tenantCode';
  const [before, after] = pattern.toLowerCase().split(`{${key.toLowerCase()}}`) as [string, string];
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { re: new RegExp(`^${esc(before)}([a-z0-9][a-z0-9-]{0,62})${esc(after)}$`), key };
}

export class TenantResolver {
  private readonly patterns: Array<{ re: RegExp; key: 'tenantCode' | 'tenantId' }>;

  constructor(
    private readonly directory: Directory,
    tenantHosts: readonly string[],
  ) {
    this.patterns = tenantHosts.map(hostPattern);
  }

  /** the tenant named in a request (query `tenant`, else the Host header), or null */
  async fromRequest(query: unknown, host: string | undefined): Promise<TenantRecord | null> {
    if (typeof query === 'string' && query.trim()) return this.lookup(query.trim());
    if (host) {
      const h = host.toLowerCase();
      for (const p of this.patterns) {
        const m = p.re.exec(h) ?? p.re.exec(h.replace(/:\d+$/, ''));
        if (m?.[1]) {
          const t = await this.directory.findTenant('prod', m[1]);
          if (t) return t;
        }
      }
    }
    return null;
  }

  /** tenantId or tenantCode; unknown -> 400 with a message that says what to do */
  async lookup(idOrCode: string): Promise<TenantRecord> {
    if (idOrCode.length > 64 || /[\u0000-\u001f]/.test(idOrCode)) throw new LoginError('unknown_tenant', msg('refusal.badTenantName'));
    const t = await this.directory.findTenant('prod', idOrCode);
    if (!t) throw new LoginError('unknown_tenant', msg('refusal.unknownTenant'));
    return t;
  }
}

// Which tenant a browser belongs to, where that tenant's OneAccess lives, and its OneAccess
// client as the verified syncs left it (the one place that opens the sealed client secret, and
// only when the OAuth connector builds a client for a tenant app's current records).
// Tenant ids from the browser are only ever looked up in the directory; OneAccess URLs come only
// from verified syncs. One Tenants serves one namespace, given by its composer.
import type { Directory } from '../directory/directory.ts';
import { appAad, type AppRecord, type TenantRecord } from '../directory/model.ts';
import type { SecretBox } from '../directory/secret-box.ts';
import type { Namespace } from '../identity/identity.ts';
import { LoginError } from './errors.ts';
import { msg } from '../web/i18n.ts';

/** a tenant app's OneAccess client: what the OAuth connector needs */
export interface OAuthClientInfo {
  /** cache key: changes whenever the tenant or app record changes */
  key: string;
  tenantId: string;
  appId: string;
  baseUrl: string;
  clientId: string;
  /** opens the sealed secret: called only when a client for `key` is built, not on every sign-in */
  clientSecret(): string;
}

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

export interface HostPattern {
  re: RegExp;
  key: 'tenantCode' | 'tenantId';
}

/** `login.tenantHosts` entries: `{tenantCode}.app.example.com` or `{tenantId}.…` */
export function hostPattern(pattern: string): HostPattern {
  const key = pattern.includes('{tenantId}') ? 'tenantId' : 'tenantCode';
  const [before, after] = pattern.toLowerCase().split(`{${key.toLowerCase()}}`) as [string, string];
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { re: new RegExp(`^${esc(before)}([a-z0-9][a-z0-9-]{0,62})${esc(after)}$`), key };
}

/** the tenant names a Host header may carry, first pattern first (with and without its port) */
export function tenantNamesInHost(host: string, patterns: readonly HostPattern[]): string[] {
  const h = host.toLowerCase();
  const out: string[] = [];
  for (const p of patterns) {
    const m = p.re.exec(h) ?? p.re.exec(h.replace(/:\d+$/, ''));
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** a tenant name from the browser: refused before any lookup when it cannot be one */
export function checkTenantName(idOrCode: string): string {
  if (idOrCode.length > 64 || /[\u0000-\u001f]/.test(idOrCode)) throw new LoginError('unknown_tenant', msg('refusal.badTenantName'));
  return idOrCode;
}

/** a tenant app's client, from its records (the sealed secret is opened when asked for) */
export function clientInfo(ns: Namespace, tenant: TenantRecord, app: AppRecord, atRest: SecretBox, allowInsecureIdp: boolean): OAuthClientInfo {
  return {
    key: `${tenant.version}|${tenant.tenantId}|${app.appId}|${app.version}`,
    tenantId: tenant.tenantId,
    appId: app.appId,
    baseUrl: idpBaseUrl(tenant, allowInsecureIdp),
    clientId: app.clientId,
    clientSecret: () => atRest.open(app.clientSecretSealed, appAad(ns, tenant.tenantId, app.appId)),
  };
}

export interface TenantsOptions {
  /** the namespace sign-ins read and write */
  ns: Namespace;
  /** login.appId: the app to sign in to; empty: the tenant's only app */
  appId: string;
  allowInsecureIdp: boolean;
  /** login.tenantHosts */
  tenantHosts: readonly string[];
}

export class Tenants {
  readonly ns: Namespace;
  private readonly patterns: HostPattern[];

  constructor(
    private readonly directory: Directory,
    private readonly atRest: SecretBox,
    private readonly opts: TenantsOptions,
  ) {
    this.ns = opts.ns;
    this.patterns = opts.tenantHosts.map(hostPattern);
  }

  /** the tenant named in a request (query `tenant`, else the Host header), or null */
  async fromRequest(query: unknown, host: string | undefined): Promise<TenantRecord | null> {
    if (typeof query === 'string' && query.trim()) return this.lookup(query.trim());
    for (const name of host ? tenantNamesInHost(host, this.patterns) : []) {
      const t = await this.directory.findTenant(this.ns, name);
      if (t) return t;
    }
    return null;
  }

  /** tenantId or tenantCode; unknown -> 400 with a message that says what to do */
  async lookup(idOrCode: string): Promise<TenantRecord> {
    const t = await this.directory.findTenant(this.ns, checkTenantName(idOrCode));
    if (!t) throw new LoginError('unknown_tenant', msg('refusal.unknownTenant'));
    return t;
  }

  /** the tenant by id, or null when the marketplace never sent it or took it away */
  find(tenantId: string): Promise<TenantRecord | null> {
    return this.directory.getTenant(this.ns, tenantId);
  }

  async active(tenantId: string): Promise<TenantRecord> {
    const t = await this.find(tenantId);
    if (!t) throw new LoginError('tenant_inactive', msg('refusal.tenantInactive'));
    return t;
  }

  /** the app sign-ins go to, or null when none is bound */
  app(tenant: TenantRecord): Promise<AppRecord | null> {
    return this.directory.findApp(this.ns, tenant.tenantId, this.opts.appId || undefined);
  }

  /** the client of `appId` (the app a sign-in started with) when given, else of the app sign-ins go to */
  async client(tenant: TenantRecord, appId?: string): Promise<OAuthClientInfo> {
    const app = appId ? await this.directory.getApp(this.ns, tenant.tenantId, appId) : await this.app(tenant);
    if (!app) throw new LoginError('app_not_bound', msg('refusal.appNotBound'));
    return clientInfo(this.ns, tenant, app, this.atRest, this.opts.allowInsecureIdp);
  }

  /** where the tenant's OneAccess lives (throws insecure_idp) */
  idpBaseUrl(tenant: TenantRecord): string {
    return idpBaseUrl(tenant, this.opts.allowInsecureIdp);
  }

  /** the stable local account id of a person of this tenant */
  accountId(tenantId: string, userName: string): string {
    return this.directory.accountId(this.ns, tenantId, userName);
  }
}

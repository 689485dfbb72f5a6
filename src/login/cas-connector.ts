// CAS 3.0 against a tenant's OneAccess: /api/v1/cas/login, then /api/v1/cas/p3/serviceValidate
// with an explicit format, and /api/v1/cas/logout. The ticket is checked before any network call
// and never retried. The service URL is the gateway's /cas/callback naming the tenant; CAS single
// logout (cas-logout.ts) names a sign-in by its service ticket.
import type { TenantRecord } from '../directory/model.ts';
import type { CallbackRequest, Connector, LoginStart, LogoutUrlCapable, SingleLogoutCapable } from '../identity/connector.ts';
import { casIdentityFields, checkTicketSyntax, MAX_CAS_RESPONSE_BYTES, parseCasResponse, casFailure } from './cas-response.ts';
import { logoutRequestTicket } from './cas-logout.ts';
import { LoginError } from './errors.ts';
import { compact, type UpstreamIdentity } from '../identity/identity.ts';
import type { Tenants } from './tenants.ts';
import { fetchCapped, type UpstreamLimits } from './upstream-http.ts';
import { msg } from '../web/i18n.ts';

export interface CasConnectorOptions {
  limits: UpstreamLimits;
  publicUrl: string;
  /** login.casFormat: the format serviceValidate is asked for */
  format?: 'XML' | 'JSON';
  /** how long ticket validation took, for the upstream-time metric */
  observeUpstream?: (step: 'cas-validate', seconds: number) => void;
}

export class CasConnector implements Connector<TenantRecord>, LogoutUrlCapable<TenantRecord>, SingleLogoutCapable {
  readonly protocol = 'cas' as const;
  private readonly limits: UpstreamLimits;
  private readonly publicUrl: string;
  private readonly format: 'XML' | 'JSON';

  constructor(
    private readonly tenants: Tenants,
    private readonly opts: CasConnectorOptions,
  ) {
    this.limits = opts.limits;
    this.publicUrl = opts.publicUrl;
    this.format = opts.format ?? 'XML';
  }

  /** the service URL: OneAccess sends the browser (and single logout) back here */
  service(tenantId: string): string {
    return `${this.publicUrl}/cas/callback?tenant=${encodeURIComponent(tenantId)}`;
  }

  /** no state comes back from CAS: the transaction is found by the pre-login cookie */
  async start(tenant: TenantRecord): Promise<LoginStart> {
    return { url: `${this.tenants.idpBaseUrl(tenant)}/api/v1/cas/login?service=${encodeURIComponent(this.service(tenant.tenantId))}` };
  }

  async handleCallback(tenant: TenantRecord, cb: CallbackRequest): Promise<UpstreamIdentity> {
    const idp = this.tenants.idpBaseUrl(tenant);
    const started = performance.now();
    const id = await this.validate(idp, cb.query.ticket, tenant.tenantId);
    this.opts.observeUpstream?.('cas-validate', (performance.now() - started) / 1000);
    return id;
  }

  private async validate(baseUrl: string, ticket: unknown, tenantId: string): Promise<UpstreamIdentity> {
    const st = checkTicketSyntax(ticket);
    const url = `${baseUrl}/api/v1/cas/p3/serviceValidate?${new URLSearchParams({ service: this.service(tenantId), ticket: st, format: this.format })}`;
    const res = await fetchCapped(url, { headers: { accept: this.format === 'JSON' ? 'application/json' : 'application/xml' } }, { ...this.limits, maxBodyBytes: Math.min(this.limits.maxBodyBytes, MAX_CAS_RESPONSE_BYTES) }, 'CAS ticket validation');
    if (res.status !== 200) {
      throw new LoginError('upstream_error', msg('refusal.casCheckFailed', { status: res.status }));
    }
    const result = await parseCasResponse(res.body, this.format);
    if (!result.ok) throw casFailure(result.code, result.description);
    const f = casIdentityFields(result);
    if (f.tenant && f.tenant !== tenantId) {
      throw new LoginError('tenant_mismatch', msg('refusal.tenantMismatch'), {
        cause: new Error(`CAS tenant ${f.tenant} != ${tenantId}`),
      });
    }
    return compact({ protocol: 'cas' as const, tenantId, userName: f.userName, name: f.name, role: f.role, orgCode: f.organizationCode });
  }

  /** CAS's sign-out; it sends the browser back to the service URL, which shows the signed-out page */
  logoutUrl(tenant: TenantRecord): string {
    return `${this.tenants.idpBaseUrl(tenant)}/api/v1/cas/logout?service=${encodeURIComponent(this.service(tenant.tenantId))}`;
  }

  /** a sign-in by ticket is named by that ticket in a later logoutRequest */
  logoutHandle(cb: CallbackRequest): string | undefined {
    return typeof cb.query.ticket === 'string' ? cb.query.ticket : undefined;
  }

  readLogoutRequest(body: unknown): Promise<string> {
    return logoutRequestTicket(body);
  }
}

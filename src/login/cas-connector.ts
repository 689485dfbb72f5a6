// CAS 3.0 against a tenant's OneAccess: /api/v1/cas/login, then /api/v1/cas/p3/serviceValidate
// with an explicit format. The ticket is checked before any network call and never retried.
import { casIdentityFields, checkTicketSyntax, MAX_CAS_RESPONSE_BYTES, parseCasResponse, casFailure } from './cas-response.ts';
import { LoginError } from './errors.ts';
import { compact, type UpstreamIdentity } from '../identity/identity.ts';
import { fetchCapped, type UpstreamLimits } from './upstream-http.ts';
import { msg } from '../web/i18n.ts';

export class CasConnector {
  constructor(
    private readonly limits: UpstreamLimits,
    private readonly format: 'XML' | 'JSON' = 'XML',
  ) {}

  loginUrl(baseUrl: string, service: string): string {
    return `${baseUrl}/api/v1/cas/login?service=${encodeURIComponent(service)}`;
  }

  async validate(baseUrl: string, service: string, ticket: unknown, tenantId: string): Promise<UpstreamIdentity> {
    const st = checkTicketSyntax(ticket);
    const url = `${baseUrl}/api/v1/cas/p3/serviceValidate?${new URLSearchParams({ service, ticket: st, format: this.format })}`;
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

  logoutUrl(baseUrl: string, service: string): string {
    return `${baseUrl}/api/v1/cas/logout?service=${encodeURIComponent(service)}`;
  }
}

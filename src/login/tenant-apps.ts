// A tenant's OneAccess client, as the verified syncs left it: the one place that turns directory
// records into connector settings (and opens the sealed client secret).
import type { Directory } from '../directory/directory.ts';
import { appAad, type TenantRecord } from '../directory/model.ts';
import type { SecretBox } from '../directory/secret-box.ts';
import { LoginError } from './errors.ts';
import type { OAuthClientInfo } from './oauth-connector.ts';
import { idpBaseUrl } from './tenant.ts';
import { msg } from '../web/i18n.ts';

export class TenantApps {
  constructor(
    private readonly directory: Directory,
    private readonly atRest: SecretBox,
    private readonly opts: { appId: string; allowInsecureIdp: boolean },
  ) {}

  async activeTenant(tenantId: string): Promise<TenantRecord> {
    const t = await this.directory.getTenant('prod', tenantId);
    if (!t) throw new LoginError('tenant_inactive', msg('refusal.tenantInactive'));
    return t;
  }

  async clientFor(tenant: TenantRecord): Promise<OAuthClientInfo & { appId: string }> {
    const app = await this.directory.findApp('prod', tenant.tenantId, this.opts.appId || undefined);
    if (!app) {
      throw new LoginError('app_not_bound', msg('refusal.appNotBound'));
    }
    return {
      key: `${tenant.version}|${tenant.tenantId}|${app.appId}|${app.version}`,
      tenantId: tenant.tenantId,
      appId: app.appId,
      baseUrl: idpBaseUrl(tenant, this.opts.allowInsecureIdp),
      clientId: app.clientId,
      clientSecret: this.atRest.open(app.clientSecretSealed, appAad('prod', tenant.tenantId, app.appId)),
    };
  }
}

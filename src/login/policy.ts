// The one decision: may this person, vouched for by their company's OneAccess, sign in here?
// The marketplace's authorization (authSync) decides; OneAccess only proves who they are.
// Pure: over the directory's records, so the console asks the very same question.
import type { AppRecord, UserRecord, TenantRecord } from '../directory/model.ts';
import { LoginError } from './errors.ts';
import { compact, type IdentityClaims, type UpstreamIdentity } from '../identity/identity.ts';
import { idpBaseUrl } from './tenants.ts';
import { msg } from '../web/i18n.ts';

export interface SignInPolicy {
  /** let in people OneAccess vouches for though no authSync listed them */
  justInTimeAccounts: boolean;
}

export function decideSignIn(
  tenant: TenantRecord,
  user: UserRecord | null,
  id: UpstreamIdentity,
  accountId: (userName: string) => string,
  policy: SignInPolicy,
): IdentityClaims {
  const idp = id.protocol === 'oauth' ? ('oneaccess-oauth' as const) : ('oneaccess-cas' as const);
  if (!user) {
    if (!policy.justInTimeAccounts) {
      throw new LoginError('not_authorized', msg('refusal.notAuthorized', { user: id.userName }));
    }
    return compact({
      sub: accountId(id.userName),
      tenant: tenant.tenantId,
      tenant_code: tenant.tenantCode,
      tenant_name: tenant.name,
      user_name: id.userName,
      name: id.name,
      email: id.email,
      mobile: id.mobile,
      role: 'user' as const,
      org_code: id.orgCode,
      idp,
    });
  }
  if (user.cancelled) throw new LoginError('authorization_cancelled', msg('refusal.authorizationCancelled'));
  if (!user.enabled) throw new LoginError('user_disabled', msg('refusal.userDisabled'));
  return compact({
    sub: user.sub,
    tenant: tenant.tenantId,
    tenant_code: tenant.tenantCode,
    tenant_name: tenant.name,
    user_name: user.userName,
    name: user.name || id.name,
    email: user.email || id.email,
    mobile: user.mobile || id.mobile,
    // the marketplace's role wins: it is what the buyer's administrator granted
    role: user.role,
    org_code: user.orgCode || id.orgCode,
    idp,
  });
}

export type Access = { allowed: true; claims: IdentityClaims } | { allowed: false; refusal: LoginError };

/**
 * Would this person be let in if they signed in now? The checks of a sign-in, in its order: the
 * tenant, its bound app and usable OneAccess, then the sign-in decision over what OneAccess said.
 */
export function checkAccess(r: {
  tenant: TenantRecord | null;
  app: AppRecord | null;
  user: UserRecord | null;
  id: UpstreamIdentity;
  accountId: (userName: string) => string;
  policy: SignInPolicy;
  allowInsecureIdp: boolean;
}): Access {
  try {
    if (!r.tenant) throw new LoginError('tenant_inactive', msg('refusal.tenantInactive'));
    if (!r.app) throw new LoginError('app_not_bound', msg('refusal.appNotBound'));
    idpBaseUrl(r.tenant, r.allowInsecureIdp);
    return { allowed: true, claims: decideSignIn(r.tenant, r.user, r.id, r.accountId, r.policy) };
  } catch (e) {
    if (e instanceof LoginError) return { allowed: false, refusal: e };
    throw e;
  }
}

// The contract's identity headers, built from the identity claims and token.
import type { IdentityClaims } from '../login/identity.ts';

export function identityHeaders(claims: IdentityClaims, token: string): Record<string, string> {
  const h: Record<string, string> = {
    'X-Auth-Request-Jwt': token,
    'X-Auth-Request-Subject': claims.sub,
    'X-Auth-Request-Tenant': claims.tenant,
    'X-Auth-Request-User': claims.user_name,
    'X-Auth-Request-Role': claims.role,
  };
  if (claims.email) h['X-Auth-Request-Email'] = claims.email;
  // names are often Chinese: percent-encoded UTF-8 keeps the header ASCII
  if (claims.name) h['X-Auth-Request-Name'] = encodeURIComponent(claims.name);
  return h;
}

// The identity headers of the contract: on /auth/verify answers and on proxied requests. Every
// header of the family a client sends is removed first (delivery/proxy.ts), so the names live here
// once, for the builder, the proxy, forward-auth and the log's redaction.

export const IDENTITY_HEADER = {
  jwt: 'X-Auth-Request-Jwt',
  subject: 'X-Auth-Request-Subject',
  tenant: 'X-Auth-Request-Tenant',
  user: 'X-Auth-Request-User',
  email: 'X-Auth-Request-Email',
  name: 'X-Auth-Request-Name',
  role: 'X-Auth-Request-Role',
} as const;

/** on a 401: the absolute /login URL, for proxies that redirect */
export const LOGIN_URL_HEADER = 'X-Auth-Request-Login-Url';

/** the family's common start (lower case, as node hands header names over) */
export const IDENTITY_HEADER_PREFIX = 'x-auth-request-';

// The configuration reference: one line per setting (or per small group of settings), with its
// environment variable and its default taken from the schema itself. README's table is generated
// from this (`npm run docs:config`) and a test fails when the two disagree or a setting is missing.
import { configSchema } from './schema.ts';
import { ENV_MAP } from './env.ts';

/** what each setting means; a key may name a group (its row shows the group's defaults) */
export const DESCRIPTIONS: Record<string, string> = {
  port: 'TCP port to listen on',
  publicUrl: 'the external base URL; every redirect URI, CAS `service` and token `iss` is built from it (empty: `http://localhost:$PORT`; production needs https and a non-loopback host)',
  store: '`embedded:<directory>` (durable, one node), `memory` (tests), `redis://` / `rediss://` URL, `redis-sentinel://…`, `redis-cluster://…`',
  'redis.waitReplicas': 'a write is acknowledged only after this many Redis replicas have it (`WAIT`)',
  'redis.waitTimeoutMs': 'how long to wait for those replicas',
  logLevel: '`fatal` … `trace`, or `silent`',
  logFormat: '`auto` (readable lines on a terminal, JSON otherwise), `json`, `pretty`',
  sessionSecret: 'cookie signing and encryption at rest, at least 32 characters (empty: generated and kept in the store; required in production)',
  'marketplace.kitAccessKey': 'the seller’s access key: HMAC key of `x-sign` (empty: every sync answers `000001`; required in production)',
  'marketplace.clientSecretKey': 'RSA private key that decrypts `applicationSync.clientSecret`: Base64 PKCS#8 DER or PEM (empty: applicationSync answers `000101`; required in production)',
  'marketplace.clientSecretKeyFile': 'the same key, read from a file',
  'marketplace.syncPathPrefix': 'path before `/produceAPI/v2/...`, to match the production address registered in Seller Center',
  'marketplace.maxBodyBytes': 'largest push body read',
  'marketplace.replayWindowMs': 'how old `x-timestamp` may be',
  'marketplace.maxFutureSkewMs': 'how far in the future `x-timestamp` may be (clock skew)',
  'marketplace.allowFrom': 'CIDRs pushes may come from, refused before the body is read (empty: any)',
  'marketplace.maxJsonNodes': 'most JSON values in one push body',
  'login.appId': 'the seller’s appId, for the KooGallery unified login page',
  'login.unifiedLoginUrl': 'the KooGallery unified login page',
  'login.allowInsecureIdp': 'let tenant domains use `http://` (local sandboxes and tests; refused in production)',
  'login.allowUnsolicited': 'accept `code` + `tenant` callbacks no sign-in here started (unified login page, enterprise workbench)',
  'login.justInTimeAccounts': 'let in people OneAccess vouches for even when no authSync listed them',
  'login.tenantHosts': 'host patterns that name the tenant, e.g. `{tenantCode}.app.example.com`',
  'login.casFormat': '`XML` or `JSON`, asked of `/api/v1/cas/p3/serviceValidate`',
  'login.casSingleLogout': 'a CAS 3.0 `logoutRequest` POSTed to `/cas/callback` ends the session of its service ticket',
  'login.upstreamTimeoutMs': 'deadline of every OneAccess call',
  'login.transactionTtlSec': 'how long a started sign-in may take',
  'login.maxUpstreamBodyBytes': 'largest OneAccess answer read',
  'session.idleTimeoutSec': 'a session ends after this long without use',
  'session.absoluteTimeoutSec': '… and this long after sign-in in any case',
  'session.refreshSkewSec': 'refresh the OneAccess access token this long before it expires',
  'app.url': 'the app behind the gateway: landing page after sign-in (empty: the gateway’s own signed-in page), upstream of proxy mode',
  'app.allowedReturnUrls': 'origins (or origin + path prefixes) `return_to` may point at besides the gateway and `app.url`',
  'app.proxy': 'reverse-proxy mode: every request that is not the gateway’s goes to `app.url` with identity headers',
  'tokens.audience': '`aud` of identity tokens (empty: `app.url`, else `publicUrl`)',
  'tokens.alg': '`ES256`, `RS256` or `EdDSA`',
  'tokens.ttlSec': 'identity token lifetime',
  'tokens.rotateAfterDays': 'signing keys are rotated this often',
  'access.rules': 'per-path rules for `/auth/verify` and proxy mode: `{pathPrefix, role?, tenants?}`, first match decides',
  'access.caseSensitivePaths': 'compare rule prefixes case-sensitively',
  'access.cacheTtlMs': 'how long forward-auth may answer from its in-process session snapshot',
  'oidc.clients': 'OpenID Connect clients (`client_id`, `client_secret`, `redirect_uris`, …); the provider under `/oidc` is off while empty',
  'oidc.accessTokenTtlSec': 'OIDC access token lifetime',
  'oidc.refreshTokenTtlSec': 'OIDC refresh token lifetime (never beyond the gateway session)',
  'oidc.backchannelSweepMs': 'how often ended gateway sessions are looked for (timeouts end silently) and pending back-channel logouts are sent',
  'oidc.backchannelTimeoutMs': 'deadline of one back-channel logout call',
  'ui.defaultLanguage': 'page language (`zh-CN` or `en`) when neither `?lang=` nor `Accept-Language` decides',
  'ops.metricsFrom': 'addresses that may read `/metrics` (others get 404)',
  'ops.accessLog': 'one `info` line per request: method, path (secret query values redacted), status, ms, tenant',
  'admin.token': 'operator console: a bearer token for scripts and the console’s token sign-in, at least 32 characters (empty: no token sign-in)',
  'admin.operatorTenants': 'operator console: tenantIds whose `admin` users may operate it after the normal sign-in (console off while this and the token are empty)',
  'admin.perClient': 'operator console requests (pages and API) per client address',
  'admin.sessionIdleSec': 'a console token sign-in ends after this long without use',
  'limits.enabled': 'rate limits on (tests turn them off)',
  'limits.login.perClient': '`GET /login` per client address: `points` per `durationSec`',
  'limits.login.perTenant': '`GET /login` per tenant',
  'limits.transactionsPerClient': 'open sign-in transactions per client address',
  'limits.callback.perClient': 'OAuth/CAS callbacks per client address',
  'limits.callback.perTenant': 'OAuth/CAS callbacks per tenant',
  'limits.oidc.perClient': 'OIDC browser endpoints per client address',
  'limits.pushFailures': 'failed push verifications per address before its pushes are refused unread',
  'limits.largePush': 'pushes above `bytes` are verified at most `concurrency` at a time, `queue` waiting',
  'limits.http': 'HTTP server: header and request deadlines, keep-alive, connection cap',
  trustedProxies: 'CIDRs whose `X-Forwarded-*` headers are believed',
};

export interface ConfigRow {
  path: string;
  env?: string;
  default: unknown;
  description: string;
}

const isGroup = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** every documented setting, in schema order; throws naming any setting without a description */
export function configReference(): ConfigRow[] {
  const envOf = new Map(Object.entries(ENV_MAP).map(([name, [path]]) => [path, name]));
  const rows: ConfigRow[] = [];
  const missing: string[] = [];
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const description = DESCRIPTIONS[path];
      if (description !== undefined) rows.push({ path, ...(envOf.has(path) ? { env: envOf.get(path)! } : {}), default: v, description });
      else if (isGroup(v)) walk(v, path);
      else missing.push(path);
    }
  };
  walk(configSchema.parse({}) as Record<string, unknown>, '');
  if (missing.length) throw new Error(`settings without a description in src/config/reference.ts: ${missing.join(', ')}`);
  return rows;
}

function showDefault(v: unknown): string {
  if (v === '') return 'empty';
  if (Array.isArray(v) && v.length === 0) return '`[]`';
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

export const TABLE_START = '<!-- config-table:start (generated by npm run docs:config from src/config) -->';
export const TABLE_END = '<!-- config-table:end -->';

export function configTableMarkdown(): string {
  const lines = ['| setting | environment variable | default | meaning |', '|---|---|---|---|'];
  for (const r of configReference()) lines.push(`| \`${r.path}\` | ${r.env ? `\`${r.env}\`` : ''} | ${showDefault(r.default).replace(/\|/g, '\\|')} | ${r.description.replace(/\|/g, '\\|')} |`);
  return lines.join('\n');
}

/** the README with its table replaced by the generated one */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end < start) throw new Error('README.md has no config-table markers');
  return `${readme.slice(0, start + TABLE_START.length)}\n${configTableMarkdown()}\n${readme.slice(end)}`;
}

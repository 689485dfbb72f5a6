// One schema for every setting. YAML keys are camelCase; the contract's environment variables
// map onto them in env.ts. Defaults here are the development defaults of config/default.yaml.
import { z } from 'zod';
import { LANGUAGES } from '../web/i18n.ts';
import { canonicalPath } from '../web/canonical-path.ts';
import { SIGNING_ALGS } from '../identity/signing.ts';

const httpUrl = z
  .string()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && !u.hash && !u.search;
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without credentials, query or fragment');

/** strict boolean: true/false (also as the strings "true"/"false"/"1"/"0", since env values are text) */
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const t = v.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  return v;
}, z.boolean());

const cidr = z.string().refine((s) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s), 'must be an IP address or CIDR such as 10.0.0.0/8');

const storeSpec = z
  .string()
  .refine(
    (s) => s === 'memory' || /^embedded:.+/.test(s) || /^(rediss?|redis-sentinel|redis-cluster):\/\/.+/.test(s),
    'must be embedded:<directory>, memory, a redis:// / rediss:// URL, redis-sentinel://host:port,…/<masterName>[/<db>] or redis-cluster://host:port,…',
  );

/** a rate: `points` per `durationSec` */
const rate = (points: number, durationSec: number) =>
  z
    .object({
      points: z.coerce.number().int().min(1).max(10_000_000).default(points),
      durationSec: z.coerce.number().int().min(1).max(86400).default(durationSec),
    })
    .prefault({});

export const configSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** external base URL; empty = http://localhost:$PORT */
  publicUrl: z.union([z.literal(''), httpUrl]).default(''),
  store: storeSpec.default('embedded:./data'),
  /** Redis stores only (single server, Sentinel, Cluster) */
  redis: z
    .object({
      /** a change is acknowledged only once this many replicas have it (WAIT) */
      waitReplicas: z.coerce.number().int().min(0).max(16).default(0),
      /** how long WAIT waits for them before the change is answered "retry" */
      waitTimeoutMs: z.coerce.number().int().min(10).max(10_000).default(1000),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: readable lines on a terminal, JSON otherwise */
  logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** secret for cookie signing and encryption at rest; empty = generated and kept in the store (development only) */
  sessionSecret: z.string().default('').refine((s) => s === '' || s.length >= 32, 'must be at least 32 characters'),

  marketplace: z
    .object({
      kitAccessKey: z.string().default(''),
      /** Base64 PKCS#8 DER or PEM */
      clientSecretKey: z.string().default(''),
      clientSecretKeyFile: z.string().default(''),
      syncPathPrefix: z
        .string()
        .default('')
        .refine((s) => s === '' || (/^\/[A-Za-z0-9._~\-/]*$/.test(s) && !s.endsWith('/')), 'must be empty or a path such as /isv/produce (no trailing slash)'),
      maxBodyBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
      /** how old x-timestamp may be */
      replayWindowMs: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
      /** how far in the future x-timestamp may be (clock skew) */
      maxFutureSkewMs: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
      /** sources that may push (CIDRs); others are refused before the body is read. Empty: any */
      allowFrom: z.array(cidr).default([]),
      /** JSON values (objects, arrays, scalars) a push may hold; a 500-user authSync has ~10,000 */
      maxJsonNodes: z.coerce.number().int().min(1000).max(10_000_000).default(100_000),
    })
    .prefault({}),

  login: z
    .object({
      appId: z.string().default(''),
      /** may carry a fragment: the real page reads its parameters from it */
      unifiedLoginUrl: z
        .string()
        .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an absolute http(s) URL')
        .default('https://macroverse.huaweicloud.com/unified-login/#/portal-login'),
      allowInsecureIdp: bool.default(false),
      /** accept code + tenant callbacks that no login here started (unified login page, enterprise workbench) */
      allowUnsolicited: bool.default(true),
      /** let in users OneAccess vouches for even when no authSync listed them */
      justInTimeAccounts: bool.default(false),
      /** host patterns that name the tenant, e.g. "{tenantCode}.app.example.com" */
      tenantHosts: z.array(z.string().regex(/^[a-z0-9.\-]*\{tenant(Code|Id)\}[a-z0-9.\-:]*$/i, 'must contain {tenantCode} or {tenantId}')).default([]),
      /** format asked of /api/v1/cas/p3/serviceValidate (always sent explicitly) */
      casFormat: z.enum(['XML', 'JSON']).default('XML'),
      /** CAS single logout: a logoutRequest POSTed to /cas/callback ends the session of its ticket */
      casSingleLogout: bool.default(false),
      upstreamTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(5_000),
      transactionTtlSec: z.coerce.number().int().min(30).max(3600).default(600),
      maxUpstreamBodyBytes: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
    })
    .prefault({}),

  session: z
    .object({
      idleTimeoutSec: z.coerce.number().int().min(1).max(30 * 86400).default(8 * 3600),
      absoluteTimeoutSec: z.coerce.number().int().min(1).max(90 * 86400).default(24 * 3600),
      /** refresh the upstream access token this long before it expires */
      refreshSkewSec: z.coerce.number().int().min(0).max(3600).default(60),
    })
    .prefault({}),

  app: z
    .object({
      url: z.union([z.literal(''), httpUrl]).default(''),
      allowedReturnUrls: z.array(httpUrl).default([]),
      /** proxy every non-gateway request to app.url */
      proxy: bool.default(false),
    })
    .prefault({}),

  tokens: z
    .object({
      audience: z.string().default(''),
      alg: z.enum(SIGNING_ALGS).default('ES256'),
      ttlSec: z.coerce.number().int().min(30).max(300).default(300),
      rotateAfterDays: z.coerce.number().int().min(1).max(365).default(30),
    })
    .prefault({}),

  /** optional per-path rules for /auth/verify and proxy mode: the first rule whose prefix matches decides */
  access: z
    .object({
      rules: z
        .array(
          z.object({
            pathPrefix: z
              .string()
              .startsWith('/', 'must start with /')
              .superRefine((p, ctx) => {
                const c = canonicalPath(p);
                if (!c.ok) ctx.addIssue({ code: 'custom', message: `cannot be matched: ${c.reason}` });
              }),
            role: z.enum(['admin', 'user']).optional(),
            tenants: z.array(z.string().min(1)).optional(),
          }),
        )
        .default([]),
      /** rules compare canonical paths case-insensitively unless this is true */
      caseSensitivePaths: bool.default(false),
      /** how long a forward-auth instance may answer from its in-process session snapshot */
      cacheTtlMs: z.coerce.number().int().min(0).max(60_000).default(5_000),
    })
    .prefault({}),

  /** the embedded OpenID Connect provider under /oidc; off while no client is configured */
  oidc: z
    .object({
      clients: z
        .array(
          z
            .object({
              client_id: z.string().min(1).max(128),
              /** absent: a public client (PKCE required, no client authentication) */
              client_secret: z.string().min(1).optional(),
              redirect_uris: z.array(z.string().url()).min(1),
              post_logout_redirect_uris: z.array(z.string().url()).default([]),
              /** default: client_secret_basic with a secret, none without */
              token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
              /** refresh_token: the client may refresh (and is granted offline_access) */
              grant_types: z
                .array(z.enum(['authorization_code', 'refresh_token']))
                .default(['authorization_code', 'refresh_token'])
                .refine((g) => g.includes('authorization_code'), 'authorization_code is the only way to sign in'),
              /** RS256 unless the client chooses (tokens.alg or RS256: what the key set signs with) */
              id_token_signed_response_alg: z.enum(SIGNING_ALGS).optional(),
              /** OIDC Back-Channel Logout 1.0: where the gateway POSTs a logout token when the session ends */
              backchannel_logout_uri: z.string().url().optional(),
              backchannel_logout_session_required: bool.default(false),
            })
            .refine((c) => (c.token_endpoint_auth_method === 'none' ? !c.client_secret : c.token_endpoint_auth_method === undefined || !!c.client_secret), {
              message: 'none goes without a client_secret; client_secret_basic and client_secret_post need one',
              path: ['token_endpoint_auth_method'],
            }),
        )
        .default([])
        .refine((cs) => new Set(cs.map((c) => c.client_id)).size === cs.length, 'client_id values must be unique'),
      accessTokenTtlSec: z.coerce.number().int().min(30).max(86400).default(600),
      /** refresh tokens never outlive the gateway session they came from, whatever this says */
      refreshTokenTtlSec: z.coerce.number().int().min(60).max(90 * 86400).default(86400),
      /** how often ended gateway sessions are looked for (idle and absolute timeouts end silently) */
      backchannelSweepMs: z.coerce.number().int().min(50).max(600_000).default(30_000),
      /** one back-channel logout POST's deadline; failures are retried with backoff for a day */
      backchannelTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(5_000),
    })
    .prefault({}),

  /** the people-facing pages */
  ui: z
    .object({
      /** page language when neither ?lang= nor Accept-Language names zh-CN or en */
      defaultLanguage: z.enum(LANGUAGES).default('zh-CN'),
    })
    .prefault({}),

  ops: z
    .object({
      /** addresses that may read /metrics (others get 404) */
      metricsFrom: z.array(cidr).default(['127.0.0.1/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']),
      /** one info line per request: method, path (secret query values redacted), status, ms, tenant */
      accessLog: bool.default(true),
    })
    .prefault({}),

  /** the operator console under /admin: off (404) unless a token or operator tenants are set */
  admin: z
    .object({
      /** BRIDGE_ADMIN_TOKEN: a bearer token for scripts and the console's token sign-in */
      token: z
        .string()
        .default('')
        .refine((s) => s === '' || s.length >= 32, 'must be at least 32 characters (or empty: no token sign-in)'),
      /** tenantIds whose admin-role users may operate the console after the normal sign-in */
      operatorTenants: z.array(z.string().min(1).max(64)).default([]),
      /** console requests per client address (pages and API alike) */
      perClient: rate(300, 60),
      /** a token sign-in, once past its CSRF check, lasts this long without use */
      sessionIdleSec: z.coerce.number().int().min(60).max(86400).default(1800),
    })
    .prefault({}),

  /** abuse limits: rate limits per client address and tenant, pre-auth cost of pushes, slow clients */
  limits: z
    .object({
      /** false turns the rate limits off (tests only); the HTTP timeouts and connection cap stay */
      enabled: bool.default(true),
      /** GET /login: each start may store a sign-in transaction */
      login: z.object({ perClient: rate(60, 60), perTenant: rate(600, 60) }).prefault({}),
      /** sign-in transactions one client may hold at once (they live login.transactionTtlSec) */
      transactionsPerClient: z.coerce.number().int().min(1).max(100_000).default(300),
      /** /oauth/callback and /cas/callback; perTenant counts callbacks without `state` (unsolicited), each a OneAccess call */
      callback: z.object({ perClient: rate(60, 60), perTenant: rate(300, 60) }).prefault({}),
      /** /oidc/auth, /oidc/session/end and interactions (each may store provider state) */
      oidc: z.object({ perClient: rate(120, 60) }).prefault({}),
      /** marketplace pushes that fail verification: after `points` of them within `durationSec` the address is refused, before its bodies are read, until that window ends */
      pushFailures: rate(20, 600),
      /** pushes over this size are verified off the main thread, `concurrency` at a time; `queue` more may wait */
      largePush: z
        .object({
          bytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(64 * 1024),
          concurrency: z.coerce.number().int().min(1).max(16).default(1),
          queue: z.coerce.number().int().min(0).max(1000).default(16),
        })
        .prefault({}),
      http: z
        .object({
          /** a client must have sent its headers within this (trickling clients are dropped) */
          headersTimeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
          /** the whole request, body included */
          requestTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(30_000),
          keepAliveTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(65_000),
          /** open connections; past it new ones are closed at once */
          maxConnections: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
        })
        .prefault({}),
    })
    .prefault({}),

  /** proxies whose X-Forwarded-* headers are believed */
  trustedProxies: z.array(cidr).default(['127.0.0.1/8', '::1/128']),
});
// rules across settings (proxy mode needs an app, timeouts, OIDC clients' algorithms) are in
// load.ts crossFieldProblems: they run even when the schema finds problems elsewhere

export type Config = z.infer<typeof configSchema>;
/** input shape: what YAML and env may provide */
export type ConfigInput = z.input<typeof configSchema>;

// The environment variables of the contract (§1), plus a few of our own, mapped onto settings.

type Kind = 'string' | 'list';

/** env name -> [settings path, kind] */
export const ENV_MAP: Record<string, [string, Kind]> = {
  PORT: ['port', 'string'],
  BRIDGE_PUBLIC_URL: ['publicUrl', 'string'],
  BRIDGE_STORE: ['store', 'string'],
  BRIDGE_REDIS_WAIT_REPLICAS: ['redis.waitReplicas', 'string'],
  BRIDGE_LOG_LEVEL: ['logLevel', 'string'],
  BRIDGE_LOG_FORMAT: ['logFormat', 'string'],
  BRIDGE_UI_LANGUAGE: ['ui.defaultLanguage', 'string'],
  BRIDGE_SESSION_SECRET: ['sessionSecret', 'string'],
  BRIDGE_KIT_ACCESS_KEY: ['marketplace.kitAccessKey', 'string'],
  BRIDGE_CLIENT_SECRET_KEY: ['marketplace.clientSecretKey', 'string'],
  BRIDGE_CLIENT_SECRET_KEY_FILE: ['marketplace.clientSecretKeyFile', 'string'],
  BRIDGE_SYNC_PATH_PREFIX: ['marketplace.syncPathPrefix', 'string'],
  BRIDGE_MARKETPLACE_ALLOW_FROM: ['marketplace.allowFrom', 'list'],
  BRIDGE_LIMITS_ENABLED: ['limits.enabled', 'string'],
  BRIDGE_APP_ID: ['login.appId', 'string'],
  BRIDGE_UNIFIED_LOGIN_URL: ['login.unifiedLoginUrl', 'string'],
  BRIDGE_ALLOW_INSECURE_IDP: ['login.allowInsecureIdp', 'string'],
  BRIDGE_ALLOW_UNSOLICITED_LOGIN: ['login.allowUnsolicited', 'string'],
  BRIDGE_APP_URL: ['app.url', 'string'],
  BRIDGE_ALLOWED_RETURN_URLS: ['app.allowedReturnUrls', 'list'],
  BRIDGE_PROXY: ['app.proxy', 'string'],
  BRIDGE_TOKEN_AUDIENCE: ['tokens.audience', 'string'],
  BRIDGE_TOKEN_ALG: ['tokens.alg', 'string'],
  BRIDGE_TRUSTED_PROXIES: ['trustedProxies', 'list'],
  BRIDGE_ADMIN_TOKEN: ['admin.token', 'string'],
  BRIDGE_ADMIN_OPERATOR_TENANTS: ['admin.operatorTenants', 'list'],
};

/** settings paths whose values never appear in logs or error messages */
export const SECRET_PATHS = new Set(['sessionSecret', 'marketplace.kitAccessKey', 'marketplace.clientSecretKey', 'admin.token']);

export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, [path, kind]] of Object.entries(ENV_MAP)) {
    const raw = env[name];
    if (raw === undefined) continue;
    const value =
      kind === 'list'
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : raw.trim();
    const keys = path.split('.');
    let cur = out;
    for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
    cur[keys.at(-1)!] = value;
  }
  return out;
}

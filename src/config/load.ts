// Settings = config/default.yaml, then the file named by --config / BRIDGE_CONFIG, then the
// environment. Every problem is collected and reported together (path, value, why).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.ts';
import { envOverrides, SECRET_PATHS } from './env.ts';

export interface ConfigProblem {
  path: string;
  value: string;
  reason: string;
}

export interface Settings extends Config {
  /** publicUrl with the default applied, without a trailing slash */
  publicUrl: string;
  /** settings left at development defaults that production must change */
  developmentDefaults: string[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid settings:\n${problems.map((p) => `  - ${p.path} = ${p.value}: ${p.reason}`).join('\n')}`);
  }
}

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_CONFIG_FILE = resolve(PROJECT_ROOT, 'config/default.yaml');

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** deep merge of plain objects; arrays and scalars are replaced */
export function mergeSettings(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? mergeSettings(out[k] as Json, v) : v;
  }
  return out;
}

function showValue(path: string, value: unknown): string {
  if (SECRET_PATHS.has(path)) return value === undefined || value === '' ? '(empty)' : '(secret, hidden)';
  if (value === undefined) return '(missing)';
  const s = JSON.stringify(value);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (!isObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function readYaml(file: string, problems: ConfigProblem[], label: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    problems.push({ path: label, value: JSON.stringify(file), reason: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
    return {};
  }
  try {
    const doc: unknown = parseYaml(text) ?? {};
    if (!isObject(doc)) {
      problems.push({ path: label, value: JSON.stringify(file), reason: 'the file must hold a YAML mapping' });
      return {};
    }
    return doc;
  } catch (e) {
    problems.push({ path: label, value: JSON.stringify(file), reason: `not valid YAML: ${(e as Error).message.split('\n')[0]}` });
    return {};
  }
}

const LOOPBACK_HOST = /^(localhost|.*\.localhost|127(\.\d{1,3}){3}|\[::1\]|\[::\]|0\.0\.0\.0|\[::ffff:127(\.\d{1,3}){3}\])$/i;

const filled = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';
const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && ['true', '1', 'yes'].includes(v.trim().toLowerCase()));

/**
 * What NODE_ENV=production refuses (contract §4). Works on the merged raw settings as well as on
 * parsed ones, so it can run even when the schema already found problems.
 */
export function productionProblems(raw: Json | Config): ConfigProblem[] {
  const at = (path: string) => valueAt(raw, path.split('.'));
  const out: ConfigProblem[] = [];
  if (!filled(at('sessionSecret'))) out.push({ path: 'sessionSecret', value: '(empty)', reason: 'required when NODE_ENV=production (BRIDGE_SESSION_SECRET, at least 32 characters)' });
  if (!filled(at('marketplace.kitAccessKey'))) out.push({ path: 'marketplace.kitAccessKey', value: '(empty)', reason: 'required when NODE_ENV=production (BRIDGE_KIT_ACCESS_KEY): without it every sync push is refused' });
  if (!filled(at('marketplace.clientSecretKey')) && !filled(at('marketplace.clientSecretKeyFile'))) {
    out.push({ path: 'marketplace.clientSecretKey', value: '(empty)', reason: 'required when NODE_ENV=production (BRIDGE_CLIENT_SECRET_KEY or BRIDGE_CLIENT_SECRET_KEY_FILE): without it applicationSync is refused' });
  }
  const publicUrl = at('publicUrl');
  if (!filled(publicUrl)) {
    out.push({ path: 'publicUrl', value: '(empty)', reason: 'required when NODE_ENV=production (BRIDGE_PUBLIC_URL): the https address people and OneAccess reach the gateway at' });
  } else if (typeof publicUrl === 'string' && URL.canParse(publicUrl)) {
    const u = new URL(publicUrl);
    if (u.protocol !== 'https:') out.push({ path: 'publicUrl', value: JSON.stringify(publicUrl), reason: 'must be https:// when NODE_ENV=production (cookies are Secure, OneAccess redirects there)' });
    else if (LOOPBACK_HOST.test(u.hostname)) out.push({ path: 'publicUrl', value: JSON.stringify(publicUrl), reason: 'must not be a loopback or localhost address when NODE_ENV=production: browsers and OneAccess cannot reach it' });
  }
  if (truthy(at('login.allowInsecureIdp'))) out.push({ path: 'login.allowInsecureIdp', value: 'true', reason: 'refused when NODE_ENV=production: tenant domains must use https' });
  if (at('store') === 'memory') out.push({ path: 'store', value: '"memory"', reason: 'the memory store loses everything on exit; not allowed when NODE_ENV=production' });
  return out;
}

/**
 * Rules across settings. Work on the merged raw settings as well as on parsed ones (numbers may
 * still be text from the environment; a value the schema refuses is left to the schema's
 * problem), so they run in the same pass as the schema.
 */
export function crossFieldProblems(raw: Json | Config): ConfigProblem[] {
  const at = (path: string) => valueAt(raw, path.split('.'));
  const num = (path: string, fallback: number): number => {
    const v = at(path);
    return v === undefined ? fallback : typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  };
  const out: ConfigProblem[] = [];
  if (truthy(at('app.proxy')) && !filled(at('app.url'))) {
    out.push({ path: 'app.proxy', value: 'true', reason: 'proxy mode needs app.url (BRIDGE_APP_URL)' });
  }
  const { idleTimeoutSec, absoluteTimeoutSec } = configDefaults().session;
  const absolute = num('session.absoluteTimeoutSec', absoluteTimeoutSec);
  if (absolute < num('session.idleTimeoutSec', idleTimeoutSec)) {
    out.push({ path: 'session.absoluteTimeoutSec', value: String(absolute), reason: 'must not be shorter than session.idleTimeoutSec' });
  }
  // the key set signs with tokens.alg and RS256 only (delivery/keys.ts keySetAlgs)
  const tokensAlg = at('tokens.alg') ?? configDefaults().tokens.alg;
  const clients = at('oidc.clients');
  if (Array.isArray(clients)) {
    clients.forEach((client: unknown, i) => {
      const alg = isObject(client) ? client['id_token_signed_response_alg'] : undefined;
      if (typeof alg === 'string' && alg !== '' && alg !== 'RS256' && alg !== tokensAlg) {
        out.push({ path: `oidc.clients.${i}.id_token_signed_response_alg`, value: JSON.stringify(alg), reason: `the gateway signs with RS256 and tokens.alg (${String(tokensAlg)}) only` });
      }
    });
  }
  return out;
}

let defaults: Config | undefined;
/** the settings with nothing set: every default of the schema */
function configDefaults(): Config {
  return (defaults ??= configSchema.parse({}));
}

/** A check of the settings that needs more than the schema (the client-secret key): problems, or none. */
export type SettingsCheck = (settings: Json | Config) => ConfigProblem[];

export interface LoadOptions {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** extra settings merged last (tests) */
  overrides?: Json;
  /** skip config/default.yaml (tests) */
  skipDefaultFile?: boolean;
  /** further checks, run in the same pass (src/bootstrap.ts: the client-secret key) */
  checks?: readonly SettingsCheck[];
}

function configFileFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return env.BRIDGE_CONFIG || undefined;
}

/** Builds the settings or throws ConfigError listing every problem. Reads files, starts nothing. */
export function loadSettings(opts: LoadOptions = {}): Settings {
  const env = opts.env ?? process.env;
  const argv = opts.argv ?? process.argv.slice(2);
  const problems: ConfigProblem[] = [];

  let raw: Json = opts.skipDefaultFile ? {} : readYaml(DEFAULT_CONFIG_FILE, problems, 'config/default.yaml');
  const file = configFileFromArgs(argv, env);
  if (file !== undefined) raw = mergeSettings(raw, readYaml(resolve(file), problems, '--config'));
  raw = mergeSettings(raw, envOverrides(env));
  if (opts.overrides) raw = mergeSettings(raw, opts.overrides);

  // the key file first: the key's own checks read what it holds
  const keyFile = valueAt(raw, ['marketplace', 'clientSecretKeyFile']);
  if (typeof keyFile === 'string' && keyFile !== '') {
    try {
      raw = mergeSettings(raw, { marketplace: { clientSecretKey: readFileSync(resolve(keyFile), 'utf8').trim() } });
    } catch (e) {
      problems.push({ path: 'marketplace.clientSecretKeyFile', value: JSON.stringify(keyFile), reason: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
    }
  }

  // every rule in one pass: the schema's, then those across settings, production's and the
  // caller's (on the parsed settings, or on the raw ones where the schema refused something), so
  // one run lists everything to fix, one problem per setting
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join('.');
      problems.push({ path, value: showValue(path, valueAt(raw, issue.path)), reason: issue.message });
    }
  }
  const view = parsed.success ? parsed.data : raw;
  const further = [crossFieldProblems(view), env.NODE_ENV === 'production' ? productionProblems(view) : [], ...(opts.checks ?? []).map((check) => check(view))];
  for (const p of further.flat()) if (!problems.some((q) => q.path === p.path)) problems.push(p);
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  const c = parsed.data;

  const publicUrl = (c.publicUrl || `http://localhost:${c.port}`).replace(/\/+$/, '');
  const developmentDefaults: string[] = [];
  if (!c.sessionSecret) developmentDefaults.push('sessionSecret (BRIDGE_SESSION_SECRET): generated and kept in the store');
  if (!c.marketplace.kitAccessKey) developmentDefaults.push('marketplace.kitAccessKey (BRIDGE_KIT_ACCESS_KEY): unset, every sync answers 000001');
  if (!c.marketplace.clientSecretKey) developmentDefaults.push('marketplace.clientSecretKey (BRIDGE_CLIENT_SECRET_KEY): unset, applicationSync answers 000101');
  if (!c.publicUrl) developmentDefaults.push(`publicUrl (BRIDGE_PUBLIC_URL): ${publicUrl}`);
  if (c.login.allowInsecureIdp) developmentDefaults.push('login.allowInsecureIdp (BRIDGE_ALLOW_INSECURE_IDP): true, tenant domains may use http://');
  return { ...c, publicUrl, developmentDefaults };
}

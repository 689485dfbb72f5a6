// Builds the same gateway main.ts serves, on a chosen store, with test settings.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { createGateway, type Gateway } from '../../src/app.ts';
import { loadSettings, type Settings } from '../../src/config/load.ts';
import { loadSecrets } from '../../src/bootstrap.ts';
import type { Store } from '../../src/store/store.ts';
import { loadClientSecretKey } from '../../src/marketplace/client-secret.ts';
import { signKitBody } from '../../src/marketplace/signature.ts';

export const KIT_KEY = 'test-kit-access-key-0123456789abcdef';

interface RsaVectors {
  keys: Array<{ modulus_bits: number; private_key_pkcs8_b64: string; public_key_spki_b64?: string; vectors: Array<Record<string, unknown>> }>;
}
export const rsaVectors = JSON.parse(readFileSync(new URL('../fixtures/vectors/clientsecret-rsa-oaep.json', import.meta.url), 'utf8')) as RsaVectors;
export const RSA_PRIVATE_B64 = rsaVectors.keys.find((k) => k.modulus_bits === 3072)!.private_key_pkcs8_b64;

export interface TestGateway extends Gateway {
  settings: Settings;
  store: Store;
}

export async function buildGateway(store: Store, overrides: Record<string, unknown> = {}, opts: { now?: () => number; log?: Logger; anchorTicks?: boolean } = {}): Promise<TestGateway> {
  const settings = loadSettings({
    env: {},
    argv: [],
    overrides: mergeDeep(
      {
        store: 'memory',
        logLevel: 'silent',
        sessionSecret: 'test-session-secret-0123456789abcdefghij',
        marketplace: { kitAccessKey: KIT_KEY, clientSecretKey: RSA_PRIVATE_B64 },
        login: { allowInsecureIdp: true },
        // the suites read English page texts; test/web/ checks the zh-CN default
        ui: { defaultLanguage: 'en' },
        // suites hammer endpoints from one address; test/attacks/ turn the limits on
        limits: { enabled: false },
      },
      overrides,
    ),
  });
  const secrets = await loadSecrets(store, settings.sessionSecret);
  const clientSecretKey = settings.marketplace.clientSecretKey ? loadClientSecretKey(settings.marketplace.clientSecretKey) : null;
  const gw = await createGateway({ settings, store, log: opts.log ?? pino({ level: 'silent' }), secrets, clientSecretKey, ...(opts.now ? { now: opts.now } : {}), ...(opts.anchorTicks === false ? { anchorTicks: false } : {}) });
  return { ...gw, settings, store };
}

function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? mergeDeep(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** headers exactly as the marketplace would send them for this raw body */
export function signedHeaders(body: string | Buffer, opts: { key?: string; timestamp?: string; nonce?: string } = {}): Record<string, string> {
  const timestamp = opts.timestamp ?? String(Date.now());
  const nonce = opts.nonce ?? randomBytes(32).toString('hex').toUpperCase();
  return {
    'content-type': 'application/json',
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    'x-sign': signKitBody(opts.key ?? KIT_KEY, nonce, timestamp, body),
  };
}

/** yyyyMMddHHmmssSSS in UTC+8 for a given instant */
export function timeStampAt(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}`;
}

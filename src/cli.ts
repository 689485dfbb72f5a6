// Seller and operator tools: `keygen` (the RSA pair registered in Seller Center) and
// `sync:send` (sign a JSON file like the marketplace does and POST it, or print a curl line).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSellerKeyPair } from './marketplace/client-secret.ts';
import { signKitBody } from './marketplace/signature.ts';
import { ConfigError, loadSettings } from './config/load.ts';
import { rotateKeysCommand } from './delivery/keys-cli.ts';

const SYNC_KINDS = ['tenantSync', 'applicationSync', 'authSync', 'singleOrgSync', 'allOrgSync'];

function usage(): never {
  process.stderr.write(`usage:
  npm run keygen -- [--bits 3072] [--out client-secret-key.pem] [--force]
      Generates the RSA key pair for Seller Center. Prints the public key (Base64 X.509/SPKI, the
      form Seller Center asks for); writes the private key (PEM, PKCS#8) with mode 0600 and
      never prints it. Point BRIDGE_CLIENT_SECRET_KEY_FILE at that file.
  npm run sync:send -- <${SYNC_KINDS.join('|')}> <body.json> [--url http://localhost:8080] [--prefix /path] [--curl]
      Signs the file's exact bytes with BRIDGE_KIT_ACCESS_KEY (x-sign, x-timestamp, x-nonce) and
      POSTs them to the gateway, or with --curl prints a curl command that does.
  npm run bridge -- rotate-keys [--config FILE]
      Adds a new identity-token signing key to the store's key set: published in the JWKS at once,
      signing 10 minutes later; the old key stays published until its tokens have expired.
`);
  process.exit(64);
}

function keygen(args: string[]): void {
  const { values } = parseArgs({ args, options: { bits: { type: 'string', default: '3072' }, out: { type: 'string', default: 'client-secret-key.pem' }, force: { type: 'boolean', default: false } } });
  const bits = Number(values.bits);
  if (!Number.isInteger(bits) || bits < 3072 || bits > 8192) {
    process.stderr.write('keygen: --bits must be an integer from 3072 to 8192 (Seller Center asks for at least 3072)\n');
    process.exit(64);
  }
  const out = resolve(values.out);
  if (existsSync(out) && !values.force) {
    process.stderr.write(`keygen: ${out} exists; refusing to overwrite a private key (use --force)\n`);
    process.exit(73);
  }
  const pair = generateSellerKeyPair(bits);
  writeFileSync(out, pair.privateKeyPem, { mode: 0o600, flag: values.force ? 'w' : 'wx' });
  process.stdout.write(
    `Public key for Seller Center (RSA ${bits}, OAEP), Base64 X.509:\n\n${pair.publicKeySpkiB64}\n\n` +
      `Private key written to ${out} (mode 0600). Start the gateway with\n  BRIDGE_CLIENT_SECRET_KEY_FILE=${out}\n`,
  );
}

async function syncSend(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { url: { type: 'string', default: process.env.BRIDGE_PUBLIC_URL ?? `http://localhost:${process.env.PORT ?? 8080}` }, prefix: { type: 'string', default: process.env.BRIDGE_SYNC_PATH_PREFIX ?? '' }, curl: { type: 'boolean', default: false } },
  });
  const [kind, file] = positionals;
  if (!kind || !file || !SYNC_KINDS.includes(kind)) usage();
  const key = process.env.BRIDGE_KIT_ACCESS_KEY;
  if (!key) {
    process.stderr.write('sync:send: set BRIDGE_KIT_ACCESS_KEY to the access key the gateway uses\n');
    process.exit(64);
  }
  const body = readFileSync(file);
  const timestamp = String(Date.now());
  const nonce = randomBytes(32).toString('hex').toUpperCase();
  const sign = signKitBody(key, nonce, timestamp, body);
  const url = `${values.url.replace(/\/+$/, '')}${values.prefix}/produceAPI/v2/${kind}`;
  const headers = { 'content-type': 'application/json', 'x-sign': sign, 'x-timestamp': timestamp, 'x-nonce': nonce };
  if (values.curl) {
    const h = Object.entries(headers).map(([k, v]) => `-H '${k}: ${v}'`).join(' ');
    process.stdout.write(`curl -sS -X POST ${h} --data-binary @${file} '${url}'\n# valid for 60 s (x-timestamp) and once (x-nonce)\n`);
    return;
  }
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  process.stdout.write(`HTTP ${res.status} ${text}\n`);
  const ok = res.ok && (JSON.parse(text) as { resultCode?: string }).resultCode === '000000';
  process.exit(ok ? 0 : 1);
}

async function rotateKeys(args: string[]): Promise<void> {
  let settings;
  try {
    settings = loadSettings({ argv: args });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`rotate-keys: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  await rotateKeysCommand({
    storeSpec: settings.store,
    sessionSecret: settings.sessionSecret,
    alg: settings.tokens.alg,
    tokenTtlSec: settings.tokens.ttlSec,
    rotateAfterDays: settings.tokens.rotateAfterDays,
  });
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'keygen') keygen(rest);
else if (command === 'sync:send') await syncSend(rest);
else if (command === 'rotate-keys') await rotateKeys(rest);
else usage();

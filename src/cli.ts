// Seller and operator tools: `keygen` (the RSA pair registered in Seller Center) and
// `sync:send` (sign a JSON file like the marketplace does and POST it, or print a curl line).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { encryptClientSecret, generateSellerKeyPair, loadClientSecretKey } from './marketplace/client-secret.ts';
import { marketplaceTimeStamp } from './marketplace/timestamp.ts';
import { signKitBody } from './marketplace/signature.ts';
import { ConfigError, loadSettings } from './config/load.ts';
import { rotateKeysCommand } from './keys-cli.ts';

const SYNC_KINDS = ['tenantSync', 'applicationSync', 'authSync', 'singleOrgSync', 'allOrgSync'];

function usage(): never {
  process.stderr.write(`usage:
  npm run keygen -- [--bits 3072] [--out client-secret-key.pem] [--force]
      Generates the RSA key pair for Seller Center. Prints the public key (Base64 X.509/SPKI, the
      form Seller Center asks for); writes the private key (PEM, PKCS#8) with mode 0600 and
      never prints it. Point BRIDGE_CLIENT_SECRET_KEY_FILE at that file.
  npm run sync:send -- <${SYNC_KINDS.join('|')}> <body.json> [--url http://localhost:8080] [--prefix /path] [--curl]
                       [--encrypt-client-secret FILE|-] [--public-key FILE]
      Signs the body with BRIDGE_KIT_ACCESS_KEY (x-sign, x-timestamp, x-nonce) and POSTs it to the
      gateway, or with --curl prints a curl command that does. A body without "timeStamp" gets the
      current one (yyyyMMddHHmmssSSS, UTC+8); otherwise the file's exact bytes are sent.
      --encrypt-client-secret puts the secret read from FILE (or stdin: -) into "clientSecret",
      encrypted as the marketplace does (RSA-OAEP) with --public-key (Base64 X.509 as keygen prints
      it, or PEM), else with the public half of BRIDGE_CLIENT_SECRET_KEY(_FILE).
  npm run bridge -- encrypt-secret [--public-key FILE] [FILE|-]
      Prints the marketplace's ciphertext of a client secret (read from FILE or stdin).
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

function die(command: string, message: string, code = 64): never {
  process.stderr.write(`${command}: ${message}\n`);
  process.exit(code);
}

function readInput(command: string, file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    die(command, `cannot read ${file === '-' ? 'stdin' : file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 66);
  }
}

/** --public-key FILE, else the public half of the gateway's own key (BRIDGE_CLIENT_SECRET_KEY, _FILE) */
function sellerPublicKey(command: string, file: string | undefined): KeyObject | string {
  if (file) return readInput(command, file).trim();
  const own = process.env.BRIDGE_CLIENT_SECRET_KEY || (process.env.BRIDGE_CLIENT_SECRET_KEY_FILE ? readInput(command, process.env.BRIDGE_CLIENT_SECRET_KEY_FILE) : '');
  if (!own) die(command, 'give --public-key FILE (the public key registered in Seller Center), or set BRIDGE_CLIENT_SECRET_KEY / BRIDGE_CLIENT_SECRET_KEY_FILE');
  try {
    return createPublicKey(loadClientSecretKey(own.trim()));
  } catch (e) {
    die(command, (e as Error).message);
  }
}

function encrypt(command: string, keyFile: string | undefined, secretFile: string): string {
  const secret = readInput(command, secretFile).replace(/\r?\n$/, '');
  if (!secret) die(command, 'the client secret is empty');
  try {
    return encryptClientSecret(sellerPublicKey(command, keyFile), secret);
  } catch (e) {
    die(command, (e as Error).message);
  }
}

function encryptSecret(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'public-key': { type: 'string' } } });
  process.stdout.write(`${encrypt('encrypt-secret', values['public-key'], positionals[0] ?? '-')}\n`);
}

async function syncSend(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.BRIDGE_PUBLIC_URL ?? `http://localhost:${process.env.PORT ?? 8080}` },
      prefix: { type: 'string', default: process.env.BRIDGE_SYNC_PATH_PREFIX ?? '' },
      curl: { type: 'boolean', default: false },
      'encrypt-client-secret': { type: 'string' },
      'public-key': { type: 'string' },
    },
  });
  const [kind, file] = positionals;
  if (!kind || !file || !SYNC_KINDS.includes(kind)) usage();
  const key = process.env.BRIDGE_KIT_ACCESS_KEY;
  if (!key) die('sync:send', 'set BRIDGE_KIT_ACCESS_KEY to the access key the gateway uses');
  let body: Buffer | string = readFileSync(file);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    die('sync:send', `${file} is not JSON: ${(e as Error).message}`, 65);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) die('sync:send', `${file} must hold a JSON object`, 65);
  const secretFile = values['encrypt-client-secret'];
  if (secretFile !== undefined && kind !== 'applicationSync') die('sync:send', '--encrypt-client-secret is for applicationSync bodies');
  const fill: Record<string, unknown> = {};
  if (secretFile !== undefined) fill.clientSecret = encrypt('sync:send', values['public-key'], secretFile);
  if (parsed.timeStamp === undefined || parsed.timeStamp === '') fill.timeStamp = marketplaceTimeStamp(Date.now());
  // the exact bytes of the file when nothing is filled in, so what was reviewed is what is signed
  if (Object.keys(fill).length) body = JSON.stringify({ ...parsed, ...fill });
  const timestamp = String(Date.now());
  const nonce = randomBytes(32).toString('hex').toUpperCase();
  const sign = signKitBody(key, nonce, timestamp, body);
  const url = `${values.url.replace(/\/+$/, '')}${values.prefix}/produceAPI/v2/${kind}`;
  const headers = { 'content-type': 'application/json', 'x-sign': sign, 'x-timestamp': timestamp, 'x-nonce': nonce };
  if (values.curl) {
    const h = Object.entries(headers).map(([k, v]) => `-H '${k}: ${v}'`).join(' ');
    // a filled-in body is no longer the file: pass the signed bytes themselves
    const data = typeof body === 'string' ? `--data-binary '${body.replace(/'/g, `'\\''`)}'` : `--data-binary @${file}`;
    process.stdout.write(`curl -sS -X POST ${h} ${data} '${url}'\n# valid for 60 s (x-timestamp) and once (x-nonce)\n`);
    return;
  }
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    die('sync:send', `cannot reach ${url} (${cause}); is the gateway running there? (--url)`, 69);
  }
  const text = await res.text();
  process.stdout.write(`HTTP ${res.status} ${text}\n`);
  let resultCode: unknown;
  try {
    resultCode = (JSON.parse(text) as { resultCode?: unknown }).resultCode;
  } catch {
    // not the gateway's answer
  }
  process.exit(res.ok && resultCode === '000000' ? 0 : 1);
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
else if (command === 'encrypt-secret') encryptSecret(rest);
else usage();

// The gateway process: settings, store, app, signals. The only file that knows every module.
import { ConfigError, loadSettings, type Settings } from './config/load.ts';
import { createLogger } from './ops/logger.ts';
import { openStore, describeStore } from './store/index.ts';
import { clientSecretKeyCheck, loadSecrets } from './bootstrap.ts';
import { createGateway } from './app.ts';
import { loadClientSecretKey, keyBits } from './marketplace/client-secret.ts';
import { DirectoryHeldError, holdDirectory, type DirectoryLock } from './ops/directory-lock.ts';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createGatewayServer } from './limits/http-server.ts';

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

let settings: Settings;
try {
  // a bad client-secret key is listed with every other problem, in the same run
  settings = loadSettings({ checks: [clientSecretKeyCheck] });
} catch (e) {
  if (e instanceof ConfigError) fail(`oneaccess-bridge: ${e.message}`, 2);
  throw e;
}

// loads: clientSecretKeyCheck passed
const clientSecretKey = settings.marketplace.clientSecretKey ? loadClientSecretKey(settings.marketplace.clientSecretKey) : null;

const log = createLogger(settings.logLevel, undefined, settings.logFormat);
if (clientSecretKey && keyBits(clientSecretKey) < 3072) log.warn({ bits: keyBits(clientSecretKey) }, 'the client-secret key is shorter than the 3072 bits Seller Center asks for');

// one gateway per embedded directory, taken before the store is opened
let lock: DirectoryLock | null = null;
if (settings.store.startsWith('embedded:')) {
  const dir = resolve(settings.store.slice('embedded:'.length));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    lock = holdDirectory(dir);
  } catch (e) {
    fail(`oneaccess-bridge: ${e instanceof DirectoryHeldError ? e.message : `cannot use the store directory ${dir}: ${(e as Error).message}`}`, 1);
  }
  process.on('exit', () => lock?.release());
}

const store = await openStore(settings.store, { redis: settings.redis }).catch((e: unknown) => {
  log.fatal({ err: e, store: describeStore(settings.store) }, 'cannot open the store');
  process.exit(1);
});
// what the Redis servers' settings mean for an acknowledged change (README, "Deployment")
for (const warning of (await store.durabilityWarnings?.().catch((e: unknown) => [`cannot check the store's durability: ${(e as Error).message}`])) ?? []) {
  log.warn({ store: describeStore(settings.store) }, warning);
}
const secrets = await loadSecrets(store, settings.sessionSecret).catch((e: unknown) => {
  // e.g. BRIDGE_REDIS_WAIT_REPLICAS set and the replicas missing: the start-up secrets cannot be kept
  log.fatal({ err: e, store: describeStore(settings.store) }, 'cannot keep the gateway secrets in the store');
  process.exit(1);
});
const gateway = await createGateway({ settings, store, log, secrets, clientSecretKey });

const server = createGatewayServer(gateway, settings.limits.http);
server.once('error', (e: NodeJS.ErrnoException) => {
  const why =
    e.code === 'EADDRINUSE'
      ? `port ${settings.port} is already in use (another gateway or program listens there); stop it or set PORT to a free port`
      : e.code === 'EACCES'
        ? `port ${settings.port} needs privileges this process does not have; use a port above 1023 (PORT)`
        : `cannot listen on port ${settings.port}: ${e.message}`;
  fail(`oneaccess-bridge: ${why}`, 1);
});
server.listen(settings.port, () => {
  // the first big push must not wait for its threads to start
  gateway.warm();
  log.info({ port: settings.port, publicUrl: settings.publicUrl, store: describeStore(settings.store), syncPath: `${settings.marketplace.syncPathPrefix}/produceAPI/v2/*` }, 'oneaccess-bridge is listening');
  if (settings.developmentDefaults.length) {
    log.warn({ settings: settings.developmentDefaults }, 'development defaults in use: change these for production');
  }
});

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => process.exit(1), 10_000).unref();
  // stop accepting, let in-flight requests finish, then close what they use
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await drained;
  await gateway.close();
  await store.close();
  clearTimeout(force);
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

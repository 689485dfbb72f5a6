// npm run demo [-- --port N] [--store embedded:<dir>|redis://…]
// Starts the demo, prints the URL to open, and stops everything it started on Ctrl-C / SIGTERM.
import { parseArgs } from 'node:util';
import { DemoStartError, startDemo } from './demo.ts';
import { DirectoryHeldError } from '../ops/directory-lock.ts';
import { StoreUnavailableError } from '../store/store.ts';

function fail(message: string, code: number): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(code);
}

let values: { port: string; store?: string };
try {
  ({ values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, store: { type: 'string' } } }));
} catch (e) {
  fail(`${(e as Error).message}\nusage: npm run demo -- [--port 8080] [--store embedded:<dir>|redis://host:6379/0]`, 64);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a TCP port number, not ${JSON.stringify(values.port)}`, 64);

const demo = await startDemo({ port, ...(values.store ? { store: values.store } : {}) }).catch((e: unknown) => {
  if (e instanceof DemoStartError || e instanceof DirectoryHeldError) fail(e.message, 1);
  if (e instanceof StoreUnavailableError) fail(`cannot open the store ${values.store ?? ''}: ${(e as Error).message}`, 1);
  throw e;
});

process.stdout.write(`
  oneaccess-bridge demo is running. Open:

      ${demo.landingUrl}

  gateway ${demo.gatewayUrl} · tenants ${demo.tenants.map((t) => `${t.tenantCode} ${t.domainName}`).join(', ')} · app behind the gateway ${demo.appUrl}
  Ctrl-C stops everything.

`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    void demo.close().then(() => {
      clearTimeout(force);
      process.exit(0);
    });
  });
}

// Runs the OneAccess sandbox for a developer's browser or the demo:
//   tsx src/sandbox/oneaccess-cli.ts --port 9000 --tenants tenants.json
// The unified login page listens on --port, tenants on the following ports in file order
// (unless a tenant sets its own "port"). tenants.json: {"tenants": [TenantInput…], "apps": [{appId, callbackUrl}…]}
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startOneAccessSandbox } from './oneaccess.ts';

const user = z.object({
  userName: z.string(),
  name: z.string(),
  email: z.string().optional(),
  mobile: z.string().optional(),
  role: z.enum(['user', 'admin']).optional(),
  organizationCode: z.string().optional(),
  organizationName: z.string().optional(),
  id: z.string().optional(),
});
const client = z.object({
  clientId: z.string(),
  clientSecret: z.string(),
  redirectUris: z.array(z.string()),
  casServices: z.array(z.string()).optional(),
});
const file = z.object({
  tenants: z.array(
    z.object({
      tenantId: z.string(),
      tenantCode: z.string().optional(),
      name: z.string().optional(),
      port: z.number().int().optional(),
      clients: z.array(client),
      users: z.array(user),
    }),
  ),
  apps: z.array(z.object({ appId: z.string(), callbackUrl: z.string() })).default([]),
});

const { values } = parseArgs({
  options: { port: { type: 'string', default: '9000' }, host: { type: 'string', default: '127.0.0.1' }, tenants: { type: 'string' } },
});
if (values.tenants === undefined) {
  console.error('usage: tsx src/sandbox/oneaccess-cli.ts --port 9000 --tenants tenants.json');
  process.exit(2);
}
const parsed = file.safeParse(JSON.parse(readFileSync(values.tenants, 'utf8')) as unknown);
if (!parsed.success) {
  console.error(`invalid ${values.tenants}:\n${z.prettifyError(parsed.error)}`);
  process.exit(2);
}
const basePort = Number(values.port);
const sandbox = await startOneAccessSandbox({ host: values.host, unifiedLoginPort: basePort });
for (const app of parsed.data.apps) sandbox.registerApp(app);
for (const [i, tenant] of parsed.data.tenants.entries()) {
  const info = await sandbox.addTenant({ ...tenant, port: tenant.port ?? basePort + 1 + i });
  console.log(`tenant ${info.tenantId}: ${info.origin}`);
}
console.log(`unified login: ${sandbox.unifiedLoginUrl}?ind=UNOP&appId=…`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void sandbox.close());

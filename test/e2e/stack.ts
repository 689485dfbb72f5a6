// The recommended deployment on one machine: nginx (the guide's config) in front of the gateway
// and the sample app on ONE origin, BRIDGE_PUBLIC_URL = that origin, and the OneAccess sandbox on
// its own ports with the nginx origin registered as redirect URI and CAS service.
import { encryptClientSecret } from '../../src/marketplace/client-secret.ts';
import type { SandboxUser } from '../../src/sandbox/oneaccess.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { nextTimeStamp, PUBLIC_KEY_PEM, startLoginEnv, type LoginEnv } from '../helpers/login-env.ts';
import { renderSite, startNginx, type Nginx } from '../helpers/nginx.ts';
import { renderCaddyfile, startCaddy } from '../helpers/caddy.ts';
import { freePort } from '../helpers/redis-server.ts';
import { startSampleApp } from './sample-app.ts';

export interface Stack {
  /** the public origin: nginx */
  origin: string;
  /** where the app lands after sign-in without return_to, and the token audience */
  appUrl: string;
  env: LoginEnv;
  /** the proxy in front: nginx, or Caddy in the same shape (errorLog = its output) */
  nginx: Nginx;
  addTenant(tenantId: string, tenantCode: string, users: SandboxUser[]): Promise<void>;
  /** stops everything that was started, in reverse order, even after a failure */
  close(): Promise<void>;
}

/** `front`: nginx with examples/nginx/bridge.conf.template (default), or Caddy with docs/caddy.md's Caddyfile */
export async function startStack(gatewayOverrides: Record<string, unknown> = {}, front: 'nginx' | 'caddy' = 'nginx'): Promise<Stack> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const appUrl = `${origin}/app/`;
    const env = await startLoginEnv(new MemoryStore(), { publicUrl: origin, app: { url: appUrl }, ...gatewayOverrides });
    closers.push(() => env.close());
    const app = await startSampleApp({ jwksUrl: `${origin}/.well-known/jwks.json`, issuer: origin, audience: appUrl });
    closers.push(() => app.close());
    let nginx: Nginx;
    if (front === 'caddy') {
      const caddy = await startCaddy(renderCaddyfile({ port, gateway: new URL(env.base).host, app: app.address }), port);
      closers.push(() => caddy.stop());
      nginx = { origin: caddy.origin, port, errorLog: caddy.output, stop: caddy.stop };
    } else {
      const site = renderSite({ listen: `    listen 127.0.0.1:${port};`, server_name: '127.0.0.1', gateway: new URL(env.base).host, app: app.address });
      nginx = await startNginx(site, port);
      closers.push(() => nginx.stop());
    }

    async function addTenant(tenantId: string, tenantCode: string, users: SandboxUser[]): Promise<void> {
      const clientId = `client-${tenantId}`;
      const clientSecret = `secret-${tenantId}-0123456789abcdef`;
      const info = await env.sandbox.addTenant({
        tenantId,
        tenantCode,
        name: `${tenantCode} Ltd`,
        clients: [{ clientId, clientSecret, redirectUris: [`${origin}/oauth/callback`], casServices: [`${origin}/cas/callback?tenant=${encodeURIComponent(tenantId)}`] }],
        users,
      });
      const common = { instanceId: `inst-${tenantId}`, tenantId, flag: 1, testFlag: 0 };
      await env.sync('tenantSync', { ...common, orderId: 'CS1', tenantCode, name: `${tenantCode} Ltd`, domainName: info.origin, timeStamp: nextTimeStamp() });
      await env.sync('applicationSync', { ...common, appId: 'app-1', clientId, clientSecret: encryptClientSecret(PUBLIC_KEY_PEM, clientSecret), timeStamp: nextTimeStamp() });
      const userList = users.map((u) => ({ userName: u.userName, name: u.name, orgCode: '10', role: u.role ?? 'user', enable: 'true', ...(u.email ? { email: u.email } : {}) }));
      await env.sync('authSync', { ...common, appId: 'app-1', userList, currentSyncTime: nextTimeStamp(), timeStamp: nextTimeStamp() });
    }

    return { origin, appUrl, env, nginx, addTenant, close };
  } catch (e) {
    await close();
    throw e;
  }
}

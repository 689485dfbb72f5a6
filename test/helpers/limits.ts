// Helpers for the abuse-limit attack tests: a tenant with app credentials in the directory (no
// OneAccess needed to start a sign-in), a look at what the store holds, and per-address requests.
import request from 'supertest';
import type Database from 'better-sqlite3';
import type { RedisClientType } from 'redis';
import { encryptClientSecret } from '../../src/marketplace/client-secret.ts';
import type { Store } from '../../src/store/store.ts';
import { signedHeaders, type TestGateway } from './gateway.ts';
import { nextTimeStamp, PUBLIC_KEY_PEM } from './login-env.ts';

/** the limits of a test: everything on, generous unless the test narrows it */
export const LIMITS_ON = {
  enabled: true,
  login: { perClient: { points: 1000 }, perTenant: { points: 1000 } },
  transactionsPerClient: 1000,
  callback: { perClient: { points: 1000 }, perTenant: { points: 1000 } },
  oidc: { perClient: { points: 1000 } },
};

export async function seedTenant(gw: TestGateway, tenantId: string, tenantCode: string, domainName = 'http://127.0.0.1:9'): Promise<void> {
  const push = async (kind: string, body: Record<string, unknown>) => {
    const raw = JSON.stringify(body);
    const res = await request(gw.app).post(`/produceAPI/v2/${kind}`).set(signedHeaders(raw)).send(raw);
    if (res.body.resultCode !== '000000') throw new Error(`${kind}: ${res.body.resultCode} ${res.body.resultMsg}`);
  };
  await push('tenantSync', { instanceId: `i-${tenantId}`, orderId: 'CS1', tenantId, tenantCode, name: `${tenantCode} Ltd`, domainName, flag: 1, testFlag: 0, timeStamp: nextTimeStamp() });
  await push('applicationSync', {
    instanceId: `i-${tenantId}`,
    tenantId,
    appId: 'app-1',
    clientId: `client-${tenantId}`,
    clientSecret: encryptClientSecret(PUBLIC_KEY_PEM, `secret-${tenantId}-0123456789abcdef`),
    flag: 1,
    testFlag: 0,
    timeStamp: nextTimeStamp(),
  });
}

/** temps whose key starts with `prefix`, with their remaining time to live, on any adapter */
export async function tempKeys(store: Store, prefix: string): Promise<Array<{ key: string; ttlMs: number }>> {
  const now = Date.now();
  if (store.kind === 'embedded') {
    const db = (store as unknown as { db: Database.Database }).db;
    return db
      .prepare<[{ prefix: string; now: number }], { key: string; expires_at: number }>('SELECT key, expires_at FROM temps WHERE substr(key, 1, length(@prefix)) = @prefix AND expires_at > @now')
      .all({ prefix, now })
      .map((r) => ({ key: r.key, ttlMs: r.expires_at - now }));
  }
  if (store.kind === 'redis') {
    const { commands: client, prefix: p } = store as unknown as { commands: RedisClientType; prefix: string };
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${p}temp:${prefix}*`, COUNT: 1000 })) keys.push(...batch);
    return Promise.all(keys.map(async (k) => ({ key: k.slice(`${p}temp:`.length), ttlMs: await client.pTTL(k) })));
  }
  const temps = (store as unknown as { temps: Map<string, { expiresAt: number }> }).temps;
  return [...temps].filter(([k, t]) => k.startsWith(prefix) && t.expiresAt > now).map(([key, t]) => ({ key, ttlMs: t.expiresAt - now }));
}

/** rows in the audit log, on any adapter */
export async function auditCount(store: Store): Promise<number> {
  if (store.kind === 'embedded') return (store as unknown as { db: Database.Database }).db.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit').get()!.n;
  if (store.kind === 'redis') {
    const { commands: client, durablePrefix } = store as unknown as { commands: RedisClientType; durablePrefix: string };
    return client.xLen(`${durablePrefix}audit`);
  }
  return (store as unknown as { audit: unknown[] }).audit.length;
}

/** a request as if from `ip`: the gateway believes X-Forwarded-For from its trusted loopback peer */
export function from(ip: string): Record<string, string> {
  return { 'x-forwarded-for': ip };
}

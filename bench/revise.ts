// What a directory change costs the push that carries it: a tenantSync that renames a tenant with
// N live sessions, answered only after every session has its new identity (login/live-identity.ts).
//
//   npx tsx bench/revise.ts              1,000 and 5,000 sessions, embedded and Redis
//   npx tsx bench/revise.ts --sessions N
//
// Sessions are real session records written through the gateway's own session store, indexed as a
// sign-in indexes them; the rename is a signed tenantSync over the gateway's express app. Printed:
// the push's round trip, and how many sessions it revised. One private redis-server (test helper,
// stopped by its PID).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { openEmbeddedStore } from '../src/store/embedded.ts';
import { openRedisStore } from '../src/store/redis.ts';
import type { Store } from '../src/store/store.ts';
import { buildGateway, signedHeaders, timeStampAt } from '../test/helpers/gateway.ts';
import { startRedis } from '../test/helpers/redis-server.ts';

const arg = process.argv.indexOf('--sessions');
const sizes = arg > 0 ? [Number(process.argv[arg + 1])] : [1000, 5000];
let clock = Date.UTC(2026, 0, 1);

async function run(kind: 'embedded' | 'redis', n: number, redisUrl: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-revise-'));
  const store: Store = kind === 'embedded' ? openEmbeddedStore(dir) : await openRedisStore(redisUrl, { keyPrefix: `revise:${randomUUID()}:` });
  // just-in-time accounts: the bench's people are not in an authSync
  const gw = await buildGateway(store, { login: { justInTimeAccounts: true } });
  try {
    const push = async (name: string) => {
      const raw = JSON.stringify({ instanceId: 'i', orderId: 'o', tenantId: 't1', tenantCode: 'acme', name, domainName: 'https://idp.example.com', flag: 1, testFlag: 0, timeStamp: timeStampAt((clock += 1000)) });
      const t0 = performance.now();
      const res = await request(gw.app).post('/produceAPI/v2/tenantSync').set(signedHeaders(raw)).send(raw);
      if (res.body.resultCode !== '000000') throw new Error(`tenantSync: ${JSON.stringify(res.body)}`);
      return performance.now() - t0;
    };
    await push('Acme Ltd');
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const userName = `u${i}`;
      const sid = `bench-${i}-${randomUUID()}`;
      const claims = { sub: gw.directory.accountId('prod', 't1', userName), tenant: 't1', tenant_code: 'acme', tenant_name: 'Acme Ltd', user_name: userName, role: 'user' as const, idp: 'oneaccess-oauth' as const };
      const record = { cookie: { originalMaxAge: 3_600_000, expires: new Date(now + 3_600_000).toISOString(), httpOnly: true, path: '/' }, identity: { ns: 'prod' as const, claims }, upstream: { protocol: 'oauth' as const, tenantId: 't1', profile: {} }, createdAt: now };
      await new Promise<void>((resolve, reject) => gw.sessions.sessionStore.set(sid, record as never, (e) => (e ? reject(e) : resolve())));
      await store.addMember('idx:tenant:prod:t1', sid, 3_600_000);
    }
    const ms = await push('Acme Renamed Ltd');
    const sample = await gw.sessions.sessionIds('prod', 't1');
    const renamed = (await gw.sessions.load(sample[0]!))?.identity.claims.tenant_name;
    if (renamed !== 'Acme Renamed Ltd') throw new Error(`the rename did not reach the sessions (${renamed})`);
    return `| ${kind} | ${n} | ${ms.toFixed(0)} | ${(ms / n).toFixed(2)} |`;
  } finally {
    await gw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const redis = await startRedis();
if (!redis) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
try {
  const before = loadavg().map((l) => l.toFixed(2)).join(' ');
  const rows: string[] = [];
  for (const n of sizes) for (const kind of ['embedded', 'redis'] as const) rows.push(await run(kind, n, redis.url));
  console.log(`\n- date: ${new Date().toISOString().slice(0, 10)}; ${cpus().length} cores (${cpus()[0]?.model}); Node ${process.version}`);
  console.log(`- load average before: ${before}, after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log('| Store | Live sessions of the tenant | tenantSync round trip ms | ms per session |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
} finally {
  await redis.stop();
}

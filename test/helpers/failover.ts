// The failover scenario shared by the chaos tests: two gateways on one Redis deployment, each
// with its tenant and OneAccess sandbox, under a stream of signed pushes and full OAuth
// sign-ins; `kill` (kill -9 of a primary) happens mid-stream. Afterwards a third gateway, with
// cold caches, checks that every acknowledged push and every session handed out is in the store.
import request from 'supertest';
import { openRedisStore, type RedisStore, type RedisStoreOptions } from '../../src/store/redis.ts';
import type { Store } from '../../src/store/store.ts';
import { Browser, hiddenInput } from './browser.ts';
import { buildGateway, signedHeaders, timeStampAt } from './gateway.ts';
import { startLoginEnv, type LoginEnv } from './login-env.ts';

export interface FailoverFigures {
  pushesAcknowledged: number;
  pushesRefused: number;
  pushesLost: number;
  signInsCompleted: number;
  signInsRefused: number;
  sessionsLost: number;
  /** answers (one push, one hop of a sign-in) that took longer than HUNG_MS, or none at all */
  hung: number;
  slowestMs: number;
  /** from the kill to the first acknowledged push after it, on the slower of the two gateways */
  recoveryMs: number;
  /** from the kill to the first message published by one gateway's store and received by the other's (session-ended invalidations travel this way) */
  pubsubRecoveryMs: number;
  /** what was lost, for the failure message */
  lost: string[];
}

// a request makes several store calls one after another, each bounded by its own deadline (2 s, 3 s with WAIT), so during a failover one answer can take a few of them; hung is beyond the 10 s recovery bound
export const HUNG_MS = 10_000;

/** a browser that remembers its slowest single answer: "hung" is about one request, not a four-hop sign-in */
class TimedBrowser extends Browser {
  slowestMs = 0;
  override async request(url: string, init: RequestInit = {}) {
    const t0 = Date.now();
    try {
      return await super.request(url, init);
    } finally {
      this.slowestMs = Math.max(this.slowestMs, Date.now() - t0);
    }
  }
}

interface Outcome {
  ok: boolean;
  ms: number;
  at: number;
}

export async function runFailover(opts: {
  spec: string;
  store: RedisStoreOptions;
  /** kill -9 something; resolves once done */
  kill: () => Promise<void> | void;
  /** stream this long before the kill */
  beforeMs?: number;
  /** and until the recovery plus this much after */
  afterRecoveryMs?: number;
  /** give up waiting for recovery after this long */
  maxRecoveryMs?: number;
  /** for traces (bench/failover-trace.ts): each store as it is opened, each push's answer */
  onStore?: (store: RedisStore, index: number) => void;
  onPush?: (push: { gateway: number; at: number; ms: number; resultCode?: string; resultMsg?: string }) => void;
}): Promise<FailoverFigures> {
  const stores: Store[] = [];
  const open = async () => {
    const s = await openRedisStore(opts.spec, opts.store);
    opts.onStore?.(s, stores.length);
    stores.push(s);
    return s;
  };
  const envs: LoginEnv[] = [];
  try {
    for (const [i, code] of ['alpha', 'bravo'].entries()) {
      const env = await startLoginEnv(await open());
      envs.push(env);
      await env.addTenant(`t-${code}`, code, [{ userName: `user${i}`, name: `User ${i}` }]);
    }
    const pushes: Array<Outcome & { tenantId: string; gateway: number }> = [];
    const signIns: Array<Outcome & { cookie?: string; gateway: number }> = [];
    let seq = 0;
    let stop = false;
    let killedAt = 0;

    async function timed<T>(fn: () => Promise<T>): Promise<{ value?: T; ms: number; at: number }> {
      const at = Date.now();
      try {
        const value = await fn();
        return { value, ms: Date.now() - at, at };
      } catch {
        return { ms: Date.now() - at, at };
      }
    }

    async function pushLoop(env: LoginEnv, gateway: number): Promise<void> {
      while (!stop) {
        const tenantId = `chaos-${++seq}`;
        const raw = JSON.stringify({ instanceId: 'i', tenantId, tenantCode: tenantId, name: 'n', domainName: 'https://x.example.com', flag: 1, testFlag: 0, timeStamp: timeStampAt(Date.UTC(2026, 0, 1) + seq) });
        const r = await timed(async () => {
          const res = await fetch(`${env.base}/produceAPI/v2/tenantSync`, { method: 'POST', headers: signedHeaders(raw), body: raw, signal: AbortSignal.timeout(15_000) });
          return (await res.json()) as { resultCode: string; resultMsg?: string };
        });
        opts.onPush?.({ gateway, at: r.at, ms: r.ms, ...r.value });
        const ok = r.value?.resultCode === '000000';
        pushes.push({ tenantId, gateway, ok, ms: r.ms, at: r.at });
        if (!ok) await sleep(20);
      }
    }

    async function signInLoop(env: LoginEnv, gateway: number): Promise<void> {
      while (!stop) {
        const b = new TimedBrowser();
        const r = await timed(async () => {
          const toForm = await b.follow(`${env.base}/login?tenant=${gateway === 0 ? 'alpha' : 'bravo'}`);
          const form = toForm.at(-1)!;
          const cont = hiddenInput(form.body, 'continue');
          if (form.status !== 200 || !cont) return undefined;
          const hops = await b.submit(`${new URL(form.url).origin}/sandbox/login`, { userName: `user${gateway}`, continue: cont });
          const cb = hops.find((h) => h.url.includes('/oauth/callback'));
          return cb?.status === 303 ? b.cookie(env.base, 'bridge.sid') : undefined;
        });
        signIns.push({ ok: !!r.value, ms: b.slowestMs, at: r.at, gateway, ...(r.value ? { cookie: r.value } : {}) });
        if (!r.value) await sleep(20);
      }
    }

    // pub/sub across the two gateways' stores, subscribed before the kill
    const heard: number[] = [];
    await stores[1]!.subscribe('chaos-probe', (m) => heard.push(Number(m)));
    const loops = envs.flatMap((env, i) => [pushLoop(env, i), signInLoop(env, i)]);
    await sleep(opts.beforeMs ?? 1500);
    killedAt = Date.now();
    await opts.kill();
    const maxRecovery = opts.maxRecoveryMs ?? 20_000;
    // recovered: each gateway has acknowledged a push started after the kill
    const recoveredAt = async (): Promise<number | null> => {
      while (Date.now() - killedAt < maxRecovery) {
        const firsts = envs.map((_, g) => pushes.find((p) => p.gateway === g && p.ok && p.at > killedAt));
        if (firsts.every(Boolean)) return Math.max(...firsts.map((p) => p!.at + p!.ms));
        await sleep(50);
      }
      return null;
    };
    const recovered = await recoveredAt();
    let pubsubRecovered: number | null = null;
    while (pubsubRecovered === null && Date.now() - killedAt < maxRecovery) {
      await stores[0]!.publish('chaos-probe', String(Date.now())).catch(() => undefined);
      await sleep(100);
      const first = heard.find((at) => at > killedAt);
      if (first !== undefined) pubsubRecovered = first;
    }
    await sleep(opts.afterRecoveryMs ?? 1000);
    stop = true;
    await Promise.all(loops);

    // a third gateway with cold caches reads what was acknowledged
    const checker = await buildGateway(await open());
    try {
      let pushesLost = 0;
      const lost: string[] = [];
      for (const p of pushes.filter((x) => x.ok)) {
        if (!(await checker.directory.getTenant('prod', p.tenantId))) {
          pushesLost++;
          lost.push(`push ${p.tenantId} on gateway ${p.gateway}, started ${p.at - killedAt} ms after the kill, took ${p.ms} ms`);
        }
      }
      let sessionsLost = 0;
      for (const s of signIns.filter((x) => x.cookie)) {
        const res = await request(checker.app).get('/auth/session').set('accept', 'application/json').set('cookie', `bridge.sid=${s.cookie}`);
        if (res.status !== 200) {
          sessionsLost++;
          lost.push(`session from gateway ${s.gateway}, sign-in started ${s.at - killedAt} ms after the kill, slowest hop ${s.ms} ms: ${res.status} ${res.text.slice(0, 80)}`);
        }
      }
      const all = [...pushes, ...signIns];
      return {
        pushesAcknowledged: pushes.filter((p) => p.ok).length,
        pushesRefused: pushes.filter((p) => !p.ok).length,
        pushesLost,
        signInsCompleted: signIns.filter((s) => s.ok).length,
        signInsRefused: signIns.filter((s) => !s.ok).length,
        sessionsLost,
        hung: all.filter((x) => x.ms > HUNG_MS).length,
        slowestMs: Math.max(...all.map((x) => x.ms)),
        recoveryMs: recovered === null ? Number.POSITIVE_INFINITY : recovered - killedAt,
        pubsubRecoveryMs: pubsubRecovered === null ? Number.POSITIVE_INFINITY : pubsubRecovered - killedAt,
        lost,
      };
    } finally {
      await checker.close();
    }
  } finally {
    for (const env of envs) await env.close();
    for (const s of stores) await s.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

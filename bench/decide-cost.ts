// The CPU cost of one forward-auth decision, this checkout next to another (a `git worktree` of an
// earlier commit, its node_modules in place), in ONE process, alternating in short slices, so a
// busy host slows both alike (the HTTP benchmarks cannot separate the two on a loaded machine).
//
//   npx tsx bench/decide-cost.ts <baseline-checkout> [--slices 20] [--per-slice 4000]
//
// Each side is its own gateway (test/helpers/gateway.ts of its own checkout) on its own embedded
// store (a temp dir, removed after), with the snapshot cache on (the default) and off
// (access.cacheTtlMs = 0: every decision reads the session record from the store). 16 sessions
// per gateway, written through that gateway's own session storage in the record layout of a
// real OAuth sign-in; decisions cycle over them. A decision is the verifier's decide() with the
// session's cookie: session (snapshot or store read), absolute timeout, refresh check, access
// rules, identity token (cached) — no HTTP. Reported: µs per decision, median over the slices.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import signature from 'cookie-signature';
import { loadAvg, median } from './lib.ts';

type Verdict = { ok: boolean };
interface Side {
  label: string;
  decide(i: number): Verdict | Promise<Verdict>;
  close(): Promise<void>;
}

const argv = process.argv.slice(2);
const option = (name: string, d: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const SLICES = option('--slices', 20);
const PER_SLICE = option('--per-slice', 4000);
const SESSIONS = 16;
const SECRET = 'test-session-secret-0123456789abcdefghij';

async function side(root: string, label: string, overrides: Record<string, unknown>): Promise<Side> {
  const imp = (p: string) => import(pathToFileURL(join(root, p)).href);
  const { buildGateway } = await imp('test/helpers/gateway.ts');
  const { openEmbeddedStore } = await imp('src/store/embedded.ts');
  const { deriveKey } = await imp('src/directory/secret-box.ts');
  const dir = mkdtempSync(join(tmpdir(), 'decide-cost-'));
  const store = openEmbeddedStore(dir);
  const gw = await buildGateway(store, { publicUrl: 'http://127.0.0.1:1', sessionSecret: SECRET, ...overrides });
  const cookieSecret = (deriveKey(SECRET, 'cookie') as Buffer).toString('base64url');
  const cookies: string[] = [];
  const sids: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const sid = `decide-cost-session-${i}-${'x'.repeat(12)}`;
    const record = {
      cookie: { originalMaxAge: 28_800_000, expires: new Date(Date.now() + 28_800_000).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
      identity: { ns: 'prod', claims: { sub: `u_${String(i).padStart(22, '0')}`, tenant: 't-1', tenant_code: 'acme', tenant_name: 'Acme Ltd', user_name: `user${i}`, name: '李四', email: `user${i}@acme.example.com`, role: i % 2 ? 'admin' : 'user', org_code: '10', idp: 'oneaccess-oauth' } },
      upstream: { protocol: 'oauth', tenantId: 't-1', appId: 'app-1', tokens: { accessToken: 'AT-'.padEnd(46, 'x'), refreshToken: 'RT-'.padEnd(46, 'y'), expiresAt: Date.now() + 7_200_000 }, profile: { name: '李四', email: `user${i}@acme.example.com` } },
      createdAt: Date.now(),
    };
    await new Promise<void>((resolve, reject) => gw.sessions.sessionStore.set(sid, record, (e: unknown) => (e ? reject(e) : resolve())));
    sids.push(sid);
    cookies.push(`_ga=GA1.2.3; bridge.sid=${encodeURIComponent(`s:${signature.sign(sid, cookieSecret)}`)}; lang=en`);
  }
  const path = () => ({ ok: true, path: '/' });
  const loginUrl = () => 'http://127.0.0.1:1/login';
  // this checkout's decide() takes the session id (one cookie parse by the caller); earlier ones took the cookie
  const takesSid = gw.verifier.decide.length === 1 && typeof gw.sessions.sidOf === 'function';
  const cache = (gw as unknown as { sessions: { cookie?: { sessionId(c: string): string | null } } }).sessions.cookie;
  const decide = takesSid
    ? (i: number) => gw.verifier.decide({ sid: cache!.sessionId(cookies[i % SESSIONS]!), path, loginUrl })
    : (i: number) => gw.verifier.decide({ cookie: cookies[i % SESSIONS], path, loginUrl });
  for (let i = 0; i < SESSIONS; i++) {
    const v = await decide(i);
    if (!v.ok) throw new Error(`${label}: the session ${sids[i]} was not accepted: ${JSON.stringify(v)}`);
  }
  return {
    label,
    decide,
    async close() {
      await gw.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function slice(s: Side): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < PER_SLICE; i++) {
    let v = s.decide(i);
    if (typeof (v as Promise<Verdict>).then === 'function') v = await v;
    if (!(v as Verdict).ok) throw new Error(`${s.label}: refused`);
  }
  return ((performance.now() - t0) * 1000) / PER_SLICE;
}

async function main(): Promise<void> {
  const baseline = argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  if (!baseline) throw new Error('usage: bench/decide-cost.ts <baseline-checkout>');
  const here = realpathSync(new URL('..', import.meta.url).pathname);
  const there = realpathSync(baseline);
  const head = (d: string) => spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: d, encoding: 'utf8' }).stdout.trim();
  const loadBefore = loadAvg();
  const rows: string[] = [];
  for (const [name, overrides] of [
    ['snapshot cache on (default)', {}],
    ['no snapshot cache (every decision reads the store)', { access: { cacheTtlMs: 0 } }],
  ] as const) {
    const a = await side(here, `this checkout (${head(here)})`, overrides);
    const b = await side(there, `baseline (${head(there)})`, overrides);
    const times: Record<string, number[]> = { [a.label]: [], [b.label]: [] };
    for (let k = 0; k < 3; k++) for (const s of [a, b]) await slice(s); // warm-up (JIT, token caches)
    for (let k = 0; k < SLICES; k++) {
      for (const s of k % 2 ? [b, a] : [a, b]) times[s.label]!.push(await slice(s));
    }
    const ma = median(times[a.label]!);
    const mb = median(times[b.label]!);
    rows.push(`| ${name} | ${ma.toFixed(2)} | ${mb.toFixed(2)} | ${(mb / ma).toFixed(2)}× |`);
    process.stderr.write(`  ${name}: ${a.label} ${ma.toFixed(2)} µs, ${b.label} ${mb.toFixed(2)} µs, load ${loadAvg()}\n`);
    await a.close();
    await b.close();
  }
  console.log(`host load average (1/5/15 min): ${loadBefore} before, ${loadAvg()} after; ${SLICES} slices of ${PER_SLICE} decisions per side, alternating\n`);
  console.log(`| Decision | this checkout µs (median) | baseline ${head(there)} µs (median) | baseline / this |`);
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
}

await main();

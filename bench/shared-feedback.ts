// What the rest of a process costs the same /auth/verify answer: one fixed 200 with a gateway's
// answer headers (identity token and headers, cache-control), answered by the same few lines of
// plain node:http in every variant, measured side by side with wrk. The variants differ only in
// what else the process has served before the window:
//
//   bare             nothing else (bench/cost.ts's headers' ceiling)
//   node routes      plain node:http routes of other shapes (JSON via setHeader, a redirect, a
//                    404 via writeHead, a POST whose body is read), after --requests of them
//   express routes   the same routes through a minimal express app, after --requests of them
//   gateway, idle    the gateway built in the process (buildGateway, embedded store, what
//                    main.ts serves), nothing served through it
//   gateway, served  the same after --requests through the gateway: /healthz, /readyz, /login,
//                    /auth/session, an unknown path, a refused marketplace push
//
// The other routes' requests come from this driver process, so only the server side of Node's
// HTTP code sees them. V8 keeps one set of type feedback per function: once express has handed
// Node's request and response objects of other shapes (its own prototypes, its added properties)
// to Node's HTTP functions, their property accesses stop being monomorphic for every request,
// the verify answer's included. This is what bench/cost.ts's "fixed 200 (no decision)" rows show
// inside the gateway; here it is taken apart.
//
//   npx tsx bench/shared-feedback.ts [--rounds 3] [--seconds 5] [--requests 8000] [--connections 32]
//
// Servers pinned to CPU 0 and wrk to CPU 1 when taskset exists (as bench/cost.ts does).
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkRole, hasTaskset, loadAvg, machineFacts, markdownTable, median, pinProcess, serveRole, WindowMeter, wrk, wrkScript, type RoleHandle, type WindowUsage } from './lib.ts';
import { codeState } from './login.ts';

const SELF = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};

const VARIANTS = {
  bare: { name: 'bare node:http', other: null },
  'node-routes': { name: 'node:http, after other plain node:http routes', other: ['GET /json?x=1', 'GET /redirect', 'GET /missing', 'POST /form'] },
  'express-routes': { name: 'node:http, after the same routes through express', other: ['GET /json?x=1', 'GET /redirect', 'GET /missing', 'POST /form'] },
  'gateway-idle': { name: 'the gateway built in the process, nothing served through it', other: null },
  'gateway-served': { name: 'the gateway built in the process, after requests through it', other: ['GET /healthz', 'GET /readyz', 'GET /login', 'GET /auth/session', 'GET /missing', 'POST /produceAPI/v2/tenantSync'] },
} as const;
type Variant = keyof typeof VARIANTS;

/** a gateway's 200 answer: the contract's identity headers with an ES256 token's length */
const ANSWER: Record<string, string> = {
  'cache-control': 'no-store',
  'X-Auth-Request-Jwt': `eyJ${'x'.repeat(790)}`,
  'X-Auth-Request-Subject': 'b0d3c4a5e6f7081920a1b2c3d4e5f607',
  'X-Auth-Request-Tenant': 'tenant-7f3a9c',
  'X-Auth-Request-User': 'zhangsan01',
  'X-Auth-Request-Email': 'zhangsan01@example.com',
  'X-Auth-Request-Name': '%E5%BC%A0%E4%B8%89',
  'X-Auth-Request-Role': 'member',
  'content-length': '0',
};

interface Ready {
  port: number;
  pid: number;
}

/** the other routes of the node and express variants: the same four shapes both ways */
function plainRoutes(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url?.startsWith('/json')) {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify({ ok: true, url: req.url }));
  } else if (req.url === '/redirect') {
    res.statusCode = 302;
    res.setHeader('location', '/elsewhere?from=redirect');
    res.end();
  } else if (req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      res.statusCode = 201;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<p>${body.length}</p>`);
    });
  } else {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
  }
}

async function expressRoutes(): Promise<http.RequestListener> {
  const { default: express } = await import('express');
  const app = express();
  app.get('/json', (req, res) => void res.set('cache-control', 'no-store').json({ ok: true, url: req.url }));
  app.get('/redirect', (_req, res) => res.redirect(302, '/elsewhere?from=redirect'));
  app.post('/form', express.urlencoded({ extended: false }), (req, res) => void res.status(201).send(`<p>${JSON.stringify(req.body).length}</p>`));
  app.use((_req, res) => void res.status(404).json({ error: 'not_found' }));
  return app as unknown as http.RequestListener;
}

async function serve(variant: Variant): Promise<void> {
  await serveRole(async () => {
    let other: http.RequestListener = (_req, res) => void res.writeHead(404).end();
    let close = async () => {};
    let dir: string | null = null;
    if (variant === 'node-routes') other = plainRoutes;
    if (variant === 'express-routes') other = await expressRoutes();
    if (variant === 'gateway-idle' || variant === 'gateway-served') {
      const { openEmbeddedStore } = await import('../src/store/embedded.ts');
      const { buildGateway } = await import('../test/helpers/gateway.ts');
      const store = openEmbeddedStore((dir = mkdtempSync(join(tmpdir(), 'bench-feedback-'))));
      const gw = await buildGateway(store, { publicUrl: 'http://127.0.0.1:9', port: 9 });
      other = gw.listener;
      close = async () => {
        await gw.close();
        await store.close();
      };
    }
    const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
      if (req.url?.startsWith('/auth/verify')) res.writeHead(200, ANSWER).end();
      else other(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const meter = new WindowMeter();
    return {
      ready: { port: (server.address() as { port: number }).port, pid: process.pid } satisfies Ready,
      handlers: {
        reset: () => {
          meter.start();
          return true;
        },
        stats: () => meter.stop(),
      },
      stop: async () => {
        server.closeAllConnections();
        server.close();
        await close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

/** `requests` requests over 8 keep-alive connections, cycling through `routes` ("METHOD /path") */
async function sendOther(port: number, routes: readonly string[], requests: number): Promise<Map<number, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const statuses = new Map<number, number>();
  const one = (route: string) =>
    new Promise<void>((resolve, reject) => {
      const [method, path] = route.split(' ') as [string, string];
      const body = method === 'POST' ? (path === '/form' ? 'a=1&b=2' : '{"tenantId":"t-1","timeStamp":"1"}') : undefined;
      const type = path === '/form' ? 'application/x-www-form-urlencoded' : 'application/json';
      const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers: body ? { 'content-type': type, 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < requests; i += 8) await Promise.all(Array.from({ length: Math.min(8, requests - i) }, (_, j) => one(routes[(i + j) % routes.length]!)));
  agent.destroy();
  return statuses;
}

async function main(): Promise<void> {
  const rounds = Number(option('--rounds', '3'));
  const seconds = Number(option('--seconds', '5'));
  const requests = Number(option('--requests', '8000'));
  const connections = Number(option('--connections', '32'));
  const pin = !argv.includes('--no-pin') && availableParallelism() >= 2 && hasTaskset();
  const loadBefore = loadAvg();
  const work = mkdtempSync(join(tmpdir(), 'bench-feedback-drv-'));
  const script = wrkScript(work, 'verify', ['bridge.sid=s%3Aabcdefghijklmnopqrstuvwxyz0123456789.signature']);
  const roles: Array<{ variant: Variant; role: RoleHandle<Ready>; other: string }> = [];
  const out: string[] = [];
  try {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const role = await forkRole<Ready>(SELF, ['--serve', variant]);
      const routes = VARIANTS[variant].other;
      let other = '–';
      if (routes) {
        const statuses = await sendOther(role.ready.port, routes, requests);
        other = `${requests} (${routes.join(', ')}): ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}`;
      }
      roles.push({ variant, role, other });
      process.stderr.write(`${variant} ready; other requests: ${other}\n`);
    }
    if (pin) for (const r of roles) pinProcess(r.role.child.pid!, '0');
    const results = new Map<Variant, Array<{ rps: number; cpuUs: number; p99: string; non2xx: number; usage: WindowUsage }>>();
    for (let round = 1; round <= rounds; round++) {
      for (const r of roles) {
        await wrk(r.role.ready.port, script, 1, connections, pin);
        await r.role.ask('reset');
        const m = await wrk(r.role.ready.port, script, seconds, connections, pin);
        const usage = await r.role.ask<WindowUsage>('stats');
        const row = { rps: m.rps, cpuUs: (usage.cpuMs * 1000) / m.requests, p99: m.p99, non2xx: m.non2xx, usage };
        results.set(r.variant, [...(results.get(r.variant) ?? []), row]);
        process.stderr.write(`round ${round} ${r.variant}: ${m.rps.toFixed(0)} req/s, ${row.cpuUs.toFixed(1)} µs CPU per request; load ${loadAvg()}\n`);
      }
    }
    const bare = results.get('bare')!;
    const rows = roles.map((r) => {
      const rs = results.get(r.variant)!;
      const ratios = rs.map((x, i) => x.rps / bare[i]!.rps);
      return [
        VARIANTS[r.variant].name,
        r.other,
        median(rs.map((x) => x.rps)).toFixed(0),
        r.variant === 'bare' ? '100%' : `${Math.round(median(ratios) * 100)}% (${ratios.map((x) => `${Math.round(x * 100)}%`).join(', ')})`,
        median(rs.map((x) => x.cpuUs)).toFixed(1),
        String(rs.reduce((a, x) => a + x.non2xx, 0)),
      ];
    });
    const f = machineFacts();
    out.push('## What the rest of a process costs the same verify answer (bench/shared-feedback.ts)', '');
    out.push(`- date: ${new Date().toISOString().slice(0, 16)} UTC; ${f.cpu}, ${f.cores} cores, ${f.memGiB} GiB, ${f.platform}; Node ${f.node}`);
    out.push(`- code: ${codeState()}`);
    out.push(`- load average (1/5/15 min): ${loadBefore} before, ${loadAvg()} after`);
    out.push(`- wrk -t1 -c${connections}, ${rounds} round(s) × ${seconds} s per process, interleaved; ${pin ? 'servers pinned to CPU 0, wrk to CPU 1' : 'not pinned'}`, '');
    out.push(markdownTable(['Process answering the fixed 200', 'Other requests before the windows (answers)', 'Req/s (median)', 'of bare (median; per round)', 'Server CPU µs per request (median)', 'Non-2xx'], rows, [false, false, true, true, true, true]));
  } finally {
    for (const r of roles.reverse()) await r.role.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(out.join('\n'));
}

if (argv[0] === '--serve') await serve(argv[1] as Variant);
else await main();

// /admin: the operator console's pages and its JSON API (/admin/api/…), behind one gate — its own
// rate limit, the page headers, who the operator is, and CSRF on every state-changing call made
// with a session. Mounted only when the console is configured (off: /admin answers 404).
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../ops/logger.ts';
import { StoreUnavailableError, type Store } from '../store/store.ts';
import type { Limit } from '../limits/rate-limits.ts';
import { clientAddress } from '../limits/browser-limits.ts';
import { SECURITY_HEADERS } from '../web/security-headers.ts';
import type { Console } from './console.ts';
import { auditFilter, BadRequest, isApi, limitOf, nsOf, str, syncFilter } from './params.ts';
import type { Operator, OperatorAuth } from './operator.ts';
import { consolePages } from './pages.ts';

export interface AdminDeps {
  console: Console;
  auth: OperatorAuth;
  store: Store;
  limit: Limit;
  publicUrl: string;
  log: Logger;
}

/** the headers of every gateway page, and never cached: the console shows who is signed in */
const HEADERS = { ...SECURITY_HEADERS, 'Cache-Control': 'no-store' };

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function adminRouter(d: AdminDeps): express.Router {
  const r = express.Router();
  const { console: c } = d;
  const audit = async (op: Operator, action: string, target: string, detail: Record<string, string | number | boolean | null> = {}) => {
    await d.store.write([], [{ at: new Date().toISOString(), actor: op.actor, action, target, detail }]).catch((e: unknown) => d.log.warn({ err: e, action }, 'could not write audit record'));
  };
  const refuseJson = (res: Response, status: number, error: string, description: string) => res.status(status).json({ error, error_description: description });
  const pages = consolePages({ console: c, auth: d.auth, publicUrl: d.publicUrl });

  r.use((req, res, next) => {
    res.set(HEADERS);
    void d.limit
      .take(clientAddress(req))
      .then((v) => {
        if (v.ok) return next();
        d.log.warn({ refusal: 'rate_limited', limit: 'admin', client: clientAddress(req), path: req.originalUrl.split('?')[0] }, 'request refused');
        res.set('Retry-After', String(v.retryAfterSec));
        if (isApi(req)) refuseJson(res, 429, 'rate_limited', `too many console requests; retry after ${v.retryAfterSec} s`);
        else pages.tooMany(req, res, v.retryAfterSec);
      })
      .catch(next);
  });
  r.use(express.urlencoded({ extended: false, limit: '8kb' }), express.json({ limit: '8kb' }));

  // ---- signing in: the token form (the normal sign-in covers operator tenants' admins) ----
  r.get('/login', (req, res) => pages.login(req, res));
  r.post('/login', async (req, res, next) => {
    try {
      // this form is only ever posted from the console's own page
      const origin = req.headers.origin;
      const site = req.headers['sec-fetch-site'];
      if ((origin !== undefined && origin !== new URL(d.publicUrl).origin) || (site !== undefined && site !== 'same-origin')) return pages.login(req, res, 403, 'admin.login.otherSite');
      const given = str((req.body as Record<string, unknown> | undefined)?.token, 1024) ?? '';
      if (await d.auth.signInWithToken(res, given)) {
        await audit({ kind: 'token', actor: 'operator:token', label: 'token', csrf: null }, 'admin.login', 'console', { method: 'token', client: clientAddress(req) });
        res.redirect(303, `${d.publicUrl}/admin`);
        return;
      }
      await d.store.write([], [{ at: new Date().toISOString(), actor: 'browser', action: 'admin.login.refused', target: 'console', detail: { reason: 'wrong_token', client: clientAddress(req) } }]).catch(() => undefined);
      pages.login(req, res, 401, 'admin.login.wrong');
    } catch (e) {
      next(e);
    }
  });

  // ---- the gate ----
  r.use(async (req, res, next) => {
    try {
      const who = await d.auth.identify(req);
      if ('status' in who) {
        if (isApi(req)) {
          if (who.status === 403) return refuseJson(res, 403, 'forbidden', `${who.who} is not an operator: an admin of an operator tenant, or the admin token, is needed`);
          return refuseJson(res, 401, who.error, who.error === 'invalid_token' ? 'the bearer token is not the admin token' : 'sign in, or send Authorization: Bearer <BRIDGE_ADMIN_TOKEN>');
        }
        if (who.status === 403) return pages.notOperator(req, res, who.who);
        return res.redirect(303, `${d.publicUrl}/admin/login`);
      }
      if (STATE_CHANGING.has(req.method) && !d.auth.csrfOk(req, who)) {
        d.log.warn({ refusal: 'csrf', path: req.originalUrl.split('?')[0], actor: who.actor }, 'console call refused');
        if (isApi(req)) return refuseJson(res, 403, 'csrf', 'a state-changing call with a session needs the console CSRF token (X-CSRF-Token)');
        return pages.csrfRefused(req, res);
      }
      res.locals.operator = who;
      next();
    } catch (e) {
      next(e);
    }
  });

  const op = (res: Response) => res.locals.operator as Operator;
  type H = (req: Request, res: Response) => Promise<void>;
  const h = (fn: H) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch((e: unknown) => {
      if (e instanceof BadRequest) return refuseJson(res, 400, 'bad_request', e.message);
      next(e);
    });
  };
  const tenantParam = (req: Request) => {
    const t = str(req.params.tenantId, 64);
    if (!t) throw new BadRequest('tenantId must be 1 to 64 characters');
    return t;
  };
  const userParam = (req: Request) => {
    const u = str(req.params.userName, 256);
    if (!u) throw new BadRequest('userName must be 1 to 256 characters');
    return u;
  };

  // ---- JSON API ----
  r.get('/api/whoami', (_req, res) => {
    const o = op(res);
    res.json({ kind: o.kind, actor: o.actor, label: o.label, ...(o.csrf ? { csrf: o.csrf } : {}) });
  });
  r.get('/api/tenants', h(async (_req, res) => void res.json({ tenants: await c.tenants() })));
  r.get(
    '/api/tenants/:tenantId',
    h(async (req, res) => {
      const ns = nsOf(req.query.ns);
      const t = await c.tenant(ns, tenantParam(req));
      if (!t) return void refuseJson(res, 404, 'not_found', 'no such tenant');
      res.json({ tenant: (await c.tenants()).find((x) => x.tenantId === t.tenantId && x.ns === ns), orgs: await c.orgs(ns, t.tenantId) });
    }),
  );
  r.get('/api/tenants/:tenantId/users', h(async (req, res) => void res.json({ users: await c.users(nsOf(req.query.ns), tenantParam(req)) })));
  r.get('/api/tenants/:tenantId/orgs', h(async (req, res) => void res.json({ orgs: await c.orgs(nsOf(req.query.ns), tenantParam(req)) })));
  r.get(
    '/api/tenants/:tenantId/users/:userName/decision',
    h(async (req, res) => void res.json(await c.decide(nsOf(req.query.ns), tenantParam(req), userParam(req), 'en'))),
  );
  r.post(
    '/api/tenants/:tenantId/users/:userName/end-sessions',
    h(async (req, res) => {
      const ns = nsOf(req.query.ns);
      const tenantId = tenantParam(req);
      const userName = userParam(req);
      const ended = await c.endSessions(ns, tenantId, userName);
      await audit(op(res), 'admin.sessions.end-user', `${ns}/user/${tenantId}/${userName}`, { ended });
      res.json({ ended });
    }),
  );
  r.post(
    '/api/tenants/:tenantId/end-sessions',
    h(async (req, res) => {
      const ns = nsOf(req.query.ns);
      const tenantId = tenantParam(req);
      const ended = await c.endSessions(ns, tenantId);
      await audit(op(res), 'admin.sessions.end-tenant', `${ns}/tenant/${tenantId}`, { ended });
      res.json({ ended });
    }),
  );
  r.get(
    '/api/sessions',
    h(async (req, res) => {
      const tenantId = str(req.query.tenant, 64);
      const userName = str(req.query.user, 256);
      if (userName && !tenantId) throw new BadRequest('user needs tenant');
      res.json({ sessions: await c.sessions({ ...(req.query.ns ? { ns: nsOf(req.query.ns) } : {}), ...(tenantId ? { tenantId } : {}), ...(userName ? { userName } : {}) }) });
    }),
  );
  r.delete(
    '/api/sessions/:id',
    h(async (req, res) => {
      const { ended, session } = await c.endSession(String(req.params.id));
      if (!ended || !session) return void refuseJson(res, 404, 'not_found', 'no live session has this id');
      await audit(op(res), 'admin.sessions.end', `${session.ns}/user/${session.tenantId}/${session.userName}`, {});
      res.status(204).end();
    }),
  );
  r.get(
    '/api/syncs',
    h(async (req, res) => {
      const f = syncFilter(req);
      res.json({ syncs: await c.syncs(f, limitOf(req.query.limit, 100)) });
    }),
  );
  r.get(
    '/api/audit',
    h(async (req, res) => {
      res.json({ audit: await c.audit(auditFilter(req), limitOf(req.query.limit, 100)) });
    }),
  );
  r.get('/api/keys', (_req, res) => void res.json({ keys: c.keys() }));
  r.post(
    '/api/keys/rotate',
    h(async (_req, res) => {
      const key = await c.rotateKey();
      await audit(op(res), 'admin.keys.rotate', `key/${key.kid}`, { alg: key.alg, signsFrom: key.signsFrom });
      res.status(200).json({ key, keys: c.keys() });
    }),
  );
  r.get('/api/health', h(async (_req, res) => void res.json(await c.health())));
  r.all(['/api', '/api/*rest'], (req, res) => void refuseJson(res, 404, 'not_found', `no console route for ${req.method} ${req.path}`));

  // ---- pages ----
  r.post('/logout', async (req, res, next) => {
    try {
      await d.auth.signOut(req, res);
      await audit(op(res), 'admin.logout', 'console', {});
      // an operator tenant's admin is signed in to the gateway itself: that sign-out is /logout's
      res.redirect(303, op(res).kind === 'tenant-admin' ? `${d.publicUrl}/logout` : `${d.publicUrl}/admin/login`);
    } catch (e) {
      next(e);
    }
  });
  pages.mount(r, { audit, op });
  // a store that does not answer is a 503 that says so, never a 500
  r.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!(err instanceof StoreUnavailableError) || res.headersSent) return next(err);
    d.log.warn({ err, path: req.originalUrl.split('?')[0] }, 'console: the store does not answer');
    if (isApi(req)) return refuseJson(res, 503, 'store_unavailable', 'the store does not answer; retry in a moment');
    pages.unavailable(req, res);
  });
  return r;
}

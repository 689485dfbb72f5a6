// The console's pages, server-rendered in the reader's language from the catalogues, in the
// gateway's stylesheet. Tables are built here (the view templates have no loops); every value is
// HTML-escaped. State-changing forms carry the session's CSRF token and answer with a redirect
// back to the page they came from.
import type { Request, Response, Router } from 'express';
import type { Namespace } from '../identity/identity.ts';
import { documentHtml, escapeHtml, pageLanguage } from '../web/pages.ts';
import { translate, type Lang, type MessageKey } from '../web/i18n.ts';
import type { Console, SessionSummary } from './console.ts';
import type { Operator, OperatorAuth } from './operator.ts';
import { INTERFACES } from './console.ts';
import { auditFilter, BadRequest, limitOf, nsOf, str, syncFilter } from './params.ts';

interface PagesDeps {
  console: Console;
  auth: OperatorAuth;
  publicUrl: string;
}

type Audit = (op: Operator, action: string, target: string, detail?: Record<string, string | number | boolean | null>) => Promise<void>;

const NAV: Array<[string, MessageKey]> = [
  ['tenants', 'admin.nav.tenants'],
  ['sessions', 'admin.nav.sessions'],
  ['syncs', 'admin.nav.syncs'],
  ['audit', 'admin.nav.audit'],
  ['keys', 'admin.nav.keys'],
  ['health', 'admin.nav.health'],
];

const e = escapeHtml;

export function consolePages(d: PagesDeps) {
  const base = `${d.publicUrl}/admin`;
  const c = d.console;

  function ctx(req: Request) {
    const lang = pageLanguage(req);
    const t = (key: MessageKey, params: Record<string, string | number> = {}) => e(translate(lang, key, params));
    const time = (iso: string | undefined) =>
      iso ? `<time datetime="${e(iso)}">${e(new Date(iso).toLocaleString(lang, { timeZone: 'Asia/Shanghai', dateStyle: 'medium', timeStyle: 'medium' }))}</time>` : '—';
    return { lang, t, time };
  }

  /** `heading`: the page's own name (a tenant's, a person's) instead of the title */
  function send(req: Request, res: Response, status: number, titleKey: MessageKey, body: string, op?: Operator, active?: string, heading?: string): void {
    const { lang, t } = ctx(req);
    const other: Lang = lang === 'en' ? 'zh-CN' : 'en';
    const here = new URL(req.originalUrl, 'http://x');
    here.searchParams.set('lang', other);
    const switchTo = `${base}${req.path === '/' ? '' : req.path}${here.search}`;
    const nav = op
      ? `<nav class="console">${NAV.map(([p, k]) => `<a href="${base}/${p}"${p === active ? ' aria-current="page"' : ''}>${t(k)}</a>`).join(' ')}
<span class="muted" id="operator">${t('admin.signedInAs', { who: op.label })}</span>
<form method="post" action="${base}/logout">${csrfField(op)}<button type="submit" class="secondary" id="console-signout">${t('admin.signOut')}</button></form>
<a href="${e(switchTo)}" lang="${other}" id="lang-switch">${other === 'en' ? 'English' : '中文'}</a></nav>`
      : `<nav class="console"><a href="${e(switchTo)}" lang="${other}" id="lang-switch">${other === 'en' ? 'English' : '中文'}</a></nav>`;
    const title = translate(lang, titleKey);
    const h1 = heading ?? title;
    res.status(status).set('Content-Language', lang).type('html').send(documentHtml(lang, `${h1} · ${translate(lang, 'admin.title')}`, `${nav}\n<h1>${e(h1)}</h1>\n${body}`, { wide: true }));
  }

  const csrfField = (op: Operator) => (op.csrf ? `<input type="hidden" name="csrf" value="${e(op.csrf)}">` : '');
  const button = (op: Operator, action: string, label: string, fields: Record<string, string> = {}, id?: string) =>
    `<form method="post" action="${e(action)}">${csrfField(op)}${Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v)}">`)
      .join('')}<button type="submit"${id ? ` id="${e(id)}"` : ''}>${label}</button></form>`;
  const table = (head: string[], rows: string[][], id?: string) =>
    rows.length ? `<table${id ? ` id="${id}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((x) => `<td>${x}</td>`).join('')}</tr>`).join('')}</tbody></table>` : '';
  const nsQuery = (ns: Namespace) => (ns === 'debug' ? '?ns=debug' : '');
  const tenantUrl = (ns: Namespace, tenantId: string) => `${base}/tenants/${encodeURIComponent(tenantId)}${nsQuery(ns)}`;
  const userUrl = (ns: Namespace, tenantId: string, userName: string) => `${base}/tenants/${encodeURIComponent(tenantId)}/users/${encodeURIComponent(userName)}${nsQuery(ns)}`;
  const resultCell = (code: string) => `<span class="${code === '000000' ? 'ok' : 'bad'}">${e(code)}</span>`;
  /** a redirect target inside the console only */
  const back = (req: Request, fallback: string) => {
    const b = str((req.body as Record<string, unknown> | undefined)?.back, 512);
    return b && b.startsWith('/admin') && !b.startsWith('//') ? `${d.publicUrl}${b}` : fallback;
  };
  const notice = (req: Request) => {
    const { t } = ctx(req);
    const n = Number(req.query.ended);
    if (Number.isInteger(n) && n >= 0 && req.query.ended !== undefined) return `<p class="notice" id="notice">${t('admin.notice.ended', { n })}</p>`;
    if (req.query.rotated !== undefined) return `<p class="notice" id="notice">${t('admin.notice.rotated')}</p>`;
    return '';
  };
  const withQuery = (url: string, q: string) => `${url}${url.includes('?') ? '&' : '?'}${q}`;

  function sessionRows(req: Request, op: Operator, sessions: SessionSummary[], backTo: string): string[][] {
    const { t, time } = ctx(req);
    return sessions.map((s) => [
      `<a href="${e(userUrl(s.ns, s.tenantId, s.userName))}">${e(s.userName)}</a>${s.name ? ` <span class="muted">${e(s.name)}</span>` : ''}`,
      `<a class="nw" href="${e(tenantUrl(s.ns, s.tenantId))}">${e(s.tenantId)}</a>`,
      t(s.role === 'admin' ? 'role.admin' : 'role.user'),
      e(s.protocol),
      time(s.createdAt),
      time(s.lastSeenAt),
      time(s.expiresAt),
      button(op, `${base}/sessions/end`, t('admin.sessions.end'), { id: s.id, back: backTo }),
    ]);
  }

  function sessionHead(req: Request): string[] {
    const { t } = ctx(req);
    return [t('admin.col.user'), t('admin.col.tenant'), t('admin.col.role'), t('admin.col.protocol'), t('admin.col.signedInAt'), t('admin.col.lastSeen'), t('admin.col.expires'), ''];
  }

  return {
    login(req: Request, res: Response, status = 200, error?: MessageKey): void {
      const { t } = ctx(req);
      const parts = [`<p>${t('admin.login.intro')}</p>`];
      if (error) parts.push(`<p class="notice" id="message">${t(error)}</p>`);
      if (d.auth.tokenEnabled) {
        parts.push(`<form method="post" action="${base}/login"><label for="token">${t('admin.login.token')}</label><input id="token" name="token" type="password" autocomplete="off" required><button type="submit" id="token-signin">${t('admin.login.submit')}</button></form>`);
      }
      if (d.auth.tenantAdminsEnabled) {
        parts.push(`<p><a class="button secondary" id="tenant-signin" href="${e(`${d.publicUrl}/login?return_to=${encodeURIComponent(`${base}/tenants`)}`)}">${t('admin.login.tenantAdmin')}</a></p>`);
      }
      send(req, res, status, 'admin.login.title', parts.join('\n'));
    },

    tooMany(req: Request, res: Response, seconds: number): void {
      const { t } = ctx(req);
      send(req, res, 429, 'error.title.tooMany', `<p id="message">${t('refusal.rateLimited', { seconds })}</p>`);
    },

    notOperator(req: Request, res: Response, who: string): void {
      const { t } = ctx(req);
      send(req, res, 403, 'admin.denied.title', `<p id="message">${t('admin.denied.body', { who })}</p><p><a href="${d.publicUrl}/logout">${t('signed-in.signOut')}</a> · <a href="${base}/login">${t('admin.login.title')}</a></p>`);
    },

    unavailable(req: Request, res: Response): void {
      const { t } = ctx(req);
      send(req, res, 503, 'error.title.service', `<p id="message">${t('refusal.serviceTrouble')}</p>`);
    },

    csrfRefused(req: Request, res: Response): void {
      const { t } = ctx(req);
      send(req, res, 403, 'admin.csrf.title', `<p id="message">${t('admin.csrf.body')}</p><p><a href="${base}/tenants">${t('admin.nav.tenants')}</a></p>`);
    },

    mount(r: Router, x: { audit: Audit; op: (res: Response) => Operator }): void {
      const page = (fn: (req: Request, res: Response, op: Operator) => Promise<void>) => (req: Request, res: Response, next: (e?: unknown) => void) => {
        fn(req, res, x.op(res)).catch((err: unknown) => {
          if (err instanceof BadRequest) {
            const { t } = ctx(req);
            return send(req, res, 400, 'admin.bad.title', `<p id="message">${e(err.message)}</p><p><a href="${base}/tenants">${t('admin.nav.tenants')}</a></p>`, x.op(res));
          }
          next(err);
        });
      };

      r.get('/', (_req, res) => res.redirect(303, `${base}/tenants`));

      r.get(
        '/tenants',
        page(async (req, res, op) => {
          const { t, time } = ctx(req);
          const tenants = await c.tenants();
          const rows = tenants.map((x) => [
            `<span class="${x.status === 'active' ? 'ok' : 'bad'}">${t(`admin.status.${x.status}`)}</span>`,
            x.status === 'deleted' ? e(x.tenantId) : `<a href="${e(tenantUrl(x.ns, x.tenantId))}">${e(x.tenantCode ?? x.tenantId)}</a>`,
            e(x.name ?? ''),
            e(x.domainName ?? ''),
            x.appId ? `${e(x.appId)}<br><span class="muted">${e(x.clientId ?? '')}</span>` : '—',
            t(x.ns === 'debug' ? 'admin.ns.debug' : 'admin.ns.prod'),
            String(x.users),
            String(x.sessions),
            INTERFACES.filter((i) => x.lastPush[i])
              .map((i) => `${e(i)}: ${resultCell(x.lastPush[i]!.resultCode)} ${time(x.lastPush[i]!.at)}`)
              .join('<br>') || '—',
          ]);
          const head = ['admin.col.status', 'admin.col.tenantCode', 'admin.col.name', 'admin.col.domain', 'admin.col.app', 'admin.col.data', 'admin.col.users', 'admin.col.sessions', 'admin.col.lastPush'].map((k) => t(k as MessageKey));
          send(req, res, 200, 'admin.tenants.title', rows.length ? table(head, rows, 'tenants') : `<p>${t('admin.tenants.none')}</p>`, op, 'tenants');
        }),
      );

      r.get(
        '/tenants/:tenantId',
        page(async (req, res, op) => {
          const { t, time } = ctx(req);
          const ns = nsOf(req.query.ns);
          const tenantId = str(req.params.tenantId, 64) ?? '';
          const tenant = await c.tenant(ns, tenantId);
          if (!tenant) return send(req, res, 404, 'admin.tenant.missing', `<p>${t('admin.tenant.missingBody', { tenant: tenantId })}</p>`, op, 'tenants');
          const q = (str(req.query.q, 128) ?? '').toLowerCase();
          const users = (await c.users(ns, tenantId)).filter((u) => !q || u.userName.toLowerCase().includes(q) || u.name.toLowerCase().includes(q));
          const summary = (await c.tenants()).find((x) => x.tenantId === tenantId && x.ns === ns);
          const orgs = await c.orgs(ns, tenantId);
          const sessions = await c.liveSessions(ns, tenantId);
          const here = req.originalUrl.replace(/[?&](ended|lang)=[^&]*/g, '');
          const userRows = users.map((u) => [
            `<a href="${e(userUrl(ns, tenantId, u.userName))}">${e(u.userName)}</a>`,
            e(u.name),
            t(u.role === 'admin' ? 'role.admin' : 'role.user'),
            `<span class="${u.status === 'enabled' ? 'ok' : 'bad'}">${t(`admin.user.${u.status}`)}</span>`,
            t(u.authorized ? 'admin.yes' : 'admin.no'),
            time(u.lastSignInAt),
            String(u.sessions),
          ]);
          const body = [
            notice(req),
            `<dl><dt>${t('admin.col.tenantCode')}</dt><dd>${e(tenant.tenantCode)}</dd><dt>tenantId</dt><dd>${e(tenant.tenantId)}</dd><dt>${t('admin.col.name')}</dt><dd id="tenant-name">${e(tenant.name)}</dd><dt>${t('admin.col.domain')}</dt><dd>${e(tenant.domainName)}</dd><dt>${t('admin.col.app')}</dt><dd>${e(summary?.appId ?? '—')} ${summary?.clientId ? `(client id ${e(summary.clientId)})` : ''}</dd><dt>${t('admin.col.data')}</dt><dd>${t(ns === 'debug' ? 'admin.ns.debug' : 'admin.ns.prod')}</dd><dt>instanceId</dt><dd>${e(tenant.instanceId)}</dd></dl>`,
            `<p><a href="${e(`${base}/syncs?tenant=${encodeURIComponent(tenantId)}`)}">${t('admin.tenant.syncs')}</a> · <a href="${e(`${base}/audit?tenant=${encodeURIComponent(tenantId)}`)}">${t('admin.tenant.audit')}</a></p>`,
            `<h2>${t('admin.tenant.users')}</h2>`,
            `<form method="get" action="${e(tenantUrl(ns, tenantId).split('?')[0]!)}" class="search">${ns === 'debug' ? '<input type="hidden" name="ns" value="debug">' : ''}<label for="q">${t('admin.tenant.find')}</label><input id="q" name="q" value="${e(q)}"><button type="submit" id="find">${t('admin.tenant.findButton')}</button></form>`,
            userRows.length ? table([t('admin.col.userName'), t('admin.col.name'), t('admin.col.role'), t('admin.col.status'), t('admin.col.authorized'), t('admin.col.lastSignIn'), t('admin.col.sessions')], userRows, 'users') : `<p>${t('admin.tenant.noUsers')}</p>`,
            `<h2>${t('admin.tenant.sessions')}</h2>`,
            sessions.length ? table(sessionHead(req), sessionRows(req, op, sessions, here), 'sessions') + button(op, `${base}/tenants/${encodeURIComponent(tenantId)}/end-sessions${nsQuery(ns)}`, t('admin.sessions.endTenant'), { back: here }, 'end-tenant') : `<p>${t('admin.sessions.none')}</p>`,
            `<h2>${t('admin.tenant.orgs')}</h2>`,
            orgs.length ? orgTree(orgs) : `<p>${t('admin.tenant.noOrgs')}</p>`,
          ];
          send(req, res, 200, 'admin.tenant.title', body.join('\n'), op, 'tenants', `${tenant.name} (${tenant.tenantCode})`);
        }),
      );

      r.get(
        '/tenants/:tenantId/users/:userName',
        page(async (req, res, op) => {
          const { lang, t, time } = ctx(req);
          const ns = nsOf(req.query.ns);
          const tenantId = str(req.params.tenantId, 64) ?? '';
          const userName = str(req.params.userName, 256) ?? '';
          const user = await c.user(ns, tenantId, userName);
          const decision = await c.decide(ns, tenantId, userName, lang);
          const sessions = await c.liveSessions(ns, tenantId, userName);
          const last = (await c.users(ns, tenantId)).find((u) => u.userName === userName)?.lastSignInAt;
          const org = user ? (await c.orgs(ns, tenantId)).find((o) => o.orgCode === user.orgCode) : undefined;
          const refusals = (await c.audit({ action: 'login.refused', tenantId }, 20)).filter((a) => a.target === `${ns}/user/${tenantId}/${userName}`);
          const here = req.originalUrl.replace(/[?&](ended|lang)=[^&]*/g, '');
          const body = [
            notice(req),
            `<p><a href="${e(tenantUrl(ns, tenantId))}">← ${e(tenantId)}</a></p>`,
            `<div class="panel" id="decision"><strong class="${decision.allowed ? 'ok' : 'bad'}">${t(decision.allowed ? 'admin.decision.yes' : 'admin.decision.no')}</strong><p id="decision-message">${e(decision.message)}</p>${decision.code ? `<p class="code">${e(decision.code)}</p>` : ''}<p class="muted">${t('admin.decision.how')}</p></div>`,
            user
              ? `<dl><dt>${t('admin.col.userName')}</dt><dd>${e(user.userName)}</dd><dt>${t('admin.col.name')}</dt><dd>${e(user.name)}</dd><dt>${t('admin.col.role')}</dt><dd>${t(user.role === 'admin' ? 'role.admin' : 'role.user')}</dd><dt>${t('admin.col.status')}</dt><dd>${t(`admin.user.${user.cancelled ? 'cancelled' : user.enabled ? 'enabled' : 'disabled'}`)}</dd><dt>${t('admin.col.org')}</dt><dd>${e(org ? `${org.orgName} (${user.orgCode})` : user.orgCode)}</dd><dt>${t('signed-in.email')}</dt><dd>${e(user.email ?? '—')}</dd><dt>${t('admin.col.lastSignIn')}</dt><dd>${time(last)}</dd></dl>`
              : `<p>${t('admin.user.unknown')}</p>`,
            refusals.length ? `<h2>${t('admin.user.refusals')}</h2>${table([t('admin.col.time'), t('admin.col.reason')], refusals.map((a) => [time(a.at), e(String(a.detail?.code ?? ''))]), 'refusals')}` : '',
            `<h2>${t('admin.tenant.sessions')}</h2>`,
            sessions.length ? table(sessionHead(req), sessionRows(req, op, sessions, here), 'sessions') + button(op, `${base}/tenants/${encodeURIComponent(tenantId)}/users/${encodeURIComponent(userName)}/end-sessions${nsQuery(ns)}`, t('admin.sessions.endUser'), { back: here }, 'end-user') : `<p>${t('admin.sessions.none')}</p>`,
          ];
          send(req, res, 200, 'admin.user.title', body.join('\n'), op, 'tenants', user ? `${user.name || user.userName} (${user.userName})` : userName);
        }),
      );

      r.get(
        '/sessions',
        page(async (req, res, op) => {
          const { t } = ctx(req);
          const tenantId = str(req.query.tenant, 64);
          const userName = str(req.query.user, 256);
          const sessions = await c.sessions({ ...(tenantId ? { tenantId } : {}), ...(tenantId && userName ? { userName } : {}) });
          const here = req.originalUrl.replace(/[?&](ended|lang)=[^&]*/g, '');
          const form = `<form method="get" action="${base}/sessions" class="search"><label for="tenant">tenantId</label><input id="tenant" name="tenant" value="${e(tenantId ?? '')}"><label for="user">${t('admin.col.userName')}</label><input id="user" name="user" value="${e(userName ?? '')}"><button type="submit">${t('admin.tenant.findButton')}</button></form>`;
          send(req, res, 200, 'admin.sessions.title', [notice(req), form, sessions.length ? table(sessionHead(req), sessionRows(req, op, sessions, here), 'sessions') : `<p>${t('admin.sessions.none')}</p>`].join('\n'), op, 'sessions');
        }),
      );

      r.post(
        '/sessions/end',
        page(async (req, res, op) => {
          const id = str((req.body as Record<string, unknown>).id, 400);
          if (!id) throw new BadRequest('id is missing');
          const { ended, session } = await c.endSession(id);
          if (ended && session) await x.audit(op, 'admin.sessions.end', `${session.ns}/user/${session.tenantId}/${session.userName}`, {});
          res.redirect(303, withQuery(back(req, `${base}/sessions`), `ended=${ended ? 1 : 0}`));
        }),
      );

      r.post(
        '/tenants/:tenantId/users/:userName/end-sessions',
        page(async (req, res, op) => {
          const ns = nsOf(req.query.ns);
          const tenantId = str(req.params.tenantId, 64) ?? '';
          const userName = str(req.params.userName, 256) ?? '';
          const ended = await c.endSessions(ns, tenantId, userName);
          await x.audit(op, 'admin.sessions.end-user', `${ns}/user/${tenantId}/${userName}`, { ended });
          res.redirect(303, withQuery(back(req, userUrl(ns, tenantId, userName)), `ended=${ended}`));
        }),
      );

      r.post(
        '/tenants/:tenantId/end-sessions',
        page(async (req, res, op) => {
          const ns = nsOf(req.query.ns);
          const tenantId = str(req.params.tenantId, 64) ?? '';
          const ended = await c.endSessions(ns, tenantId);
          await x.audit(op, 'admin.sessions.end-tenant', `${ns}/tenant/${tenantId}`, { ended });
          res.redirect(303, withQuery(back(req, tenantUrl(ns, tenantId)), `ended=${ended}`));
        }),
      );

      r.get(
        '/syncs',
        page(async (req, res, op) => {
          const { t, time } = ctx(req);
          const f = syncFilter(req);
          const limit = limitOf(req.query.limit, 200);
          const all = await c.syncs(f, limit);
          // the last failures first: what an operator looks for when "the push did not arrive"
          const failures = f.resultCode === undefined && !f.failed ? all.filter((s) => s.resultCode !== '000000').slice(0, 20) : [];
          const head = [t('admin.col.time'), t('admin.col.interface'), t('admin.col.tenant'), t('admin.col.result'), t('admin.col.reason'), t('admin.col.size'), t('admin.col.duration')];
          const rows = (list: typeof all) =>
            list.map((s) => [time(s.at), e(s.interface), s.tenantId ? `<a class="nw" href="${e(tenantUrl(s.ns ?? 'prod', s.tenantId))}">${e(s.tenantId)}</a>${s.ns === 'debug' ? ` <span class="muted">${t('admin.ns.debug')}</span>` : ''}` : '—', resultCell(s.resultCode), e(s.resultMsg), `<span class="nw">${s.bytes} B</span>`, `<span class="nw">${s.ms} ms</span>`]);
          const option = (v: string, label: string, cur: string | undefined) => `<option value="${e(v)}"${v === (cur ?? '') ? ' selected' : ''}>${label}</option>`;
          const form = `<form method="get" action="${base}/syncs" class="search"><label for="tenant">tenantId</label><input id="tenant" name="tenant" value="${e(f.tenantId ?? '')}"><label for="interface">${t('admin.col.interface')}</label><select id="interface" name="interface">${option('', t('admin.filter.any'), f.interface)}${INTERFACES.map((i) => option(i, e(i), f.interface)).join('')}</select><label for="result">${t('admin.col.result')}</label><select id="result" name="result">${option('', t('admin.filter.any'), f.failed ? 'failed' : f.resultCode)}${option('failed', t('admin.filter.failed'), f.failed ? 'failed' : f.resultCode)}${['000000', '000001', '000002', '000005', '000101'].map((code) => option(code, code, f.failed ? 'failed' : f.resultCode)).join('')}</select><button type="submit">${t('admin.filter.apply')}</button></form>`;
          const body = [
            `<p class="muted">${t('admin.syncs.intro')}</p>`,
            form,
            failures.length ? `<h2>${t('admin.syncs.failures')}</h2>${table(head, rows(failures), 'sync-failures')}` : '',
            `<h2>${t('admin.syncs.all')}</h2>`,
            all.length ? table(head, rows(all), 'syncs') : `<p>${t('admin.syncs.none')}</p>`,
          ];
          send(req, res, 200, 'admin.syncs.title', body.join('\n'), op, 'syncs');
        }),
      );

      r.get(
        '/audit',
        page(async (req, res, op) => {
          const { t, time } = ctx(req);
          const f = auditFilter(req);
          const list = await c.audit(f, limitOf(req.query.limit, 200));
          const form = `<form method="get" action="${base}/audit" class="search"><label for="action">${t('admin.col.action')}</label><select id="action" name="action">${['', 'login.success', 'login.refused', 'logout', 'login.switch', 'users.apply', 'tenant.', 'app.', 'org', 'admin.'].map((a) => `<option value="${e(a)}"${a === (f.action ?? '') ? ' selected' : ''}>${a ? e(a) : t('admin.filter.any')}</option>`).join('')}</select><label for="tenant">tenantId</label><input id="tenant" name="tenant" value="${e(f.tenantId ?? '')}"><label for="actor">${t('admin.col.actor')}</label><input id="actor" name="actor" value="${e(f.actor ?? '')}"><button type="submit">${t('admin.filter.apply')}</button></form>`;
          const rows = list.map((a) => [time(a.at), e(a.actor), e(a.action), e(a.target), e(a.detail ? Object.entries(a.detail).map(([k, v]) => `${k}=${String(v)}`).join(' ') : '')]);
          send(req, res, 200, 'admin.audit.title', [`<p class="muted">${t('admin.audit.intro')}</p>`, form, rows.length ? table([t('admin.col.time'), t('admin.col.actor'), t('admin.col.action'), t('admin.col.target'), t('admin.col.detail')], rows, 'audit') : `<p>${t('admin.audit.none')}</p>`].join('\n'), op, 'audit');
        }),
      );

      r.get(
        '/keys',
        page(async (req, res, op) => {
          const { t, time } = ctx(req);
          const rows = c.keys().map((k) => [`<code>${e(k.kid)}</code>`, e(k.alg), `<span class="${k.state === 'signing' ? 'ok' : ''}">${t(`admin.key.${k.state}`)}</span>`, time(k.createdAt), time(k.signsFrom), time(k.signsUntil), time(k.publishedUntil)]);
          const body = [
            notice(req),
            `<p class="muted">${t('admin.keys.intro')}</p>`,
            table([t('admin.col.kid'), t('admin.col.alg'), t('admin.col.state'), t('admin.col.created'), t('admin.col.signsFrom'), t('admin.col.signsUntil'), t('admin.col.publishedUntil')], rows, 'keys'),
            button(op, `${base}/keys/rotate`, t('admin.keys.rotate'), {}, 'rotate'),
          ];
          send(req, res, 200, 'admin.keys.title', body.join('\n'), op, 'keys');
        }),
      );

      r.post(
        '/keys/rotate',
        page(async (_req, res, op) => {
          const key = await c.rotateKey();
          await x.audit(op, 'admin.keys.rotate', `key/${key.kid}`, { alg: key.alg, signsFrom: key.signsFrom });
          res.redirect(303, `${base}/keys?rotated=1`);
        }),
      );

      r.get(
        '/health',
        page(async (req, res, op) => {
          const { t } = ctx(req);
          const h = await c.health();
          const rows = h.figures.map((f) => [e(t(figureKey(f.metric))), `<code>${e(f.metric)}</code>`, e(f.label ?? ''), e(formatFigure(f.metric, f.value))]);
          const body = [
            `<p id="store" class="${h.ready ? 'ok' : 'bad'}">${t(h.ready ? 'admin.health.ready' : 'admin.health.down', { store: h.store, reason: h.reason ?? '' })}</p>`,
            `<h2>${t('admin.health.figures')}</h2>`,
            table([t('admin.col.meaning'), t('admin.col.metric'), t('admin.col.labels'), t('admin.col.value')], rows, 'figures'),
          ];
          send(req, res, h.ready ? 200 : 503, 'admin.health.title', body.join('\n'), op, 'health');
        }),
      );
    },
  };
}

const FIGURES: Record<string, MessageKey> = {
  bridge_sync_calls_total: 'admin.figure.syncCalls',
  bridge_sync_duration_seconds_count: 'admin.figure.syncSeconds',
  bridge_logins_total: 'admin.figure.logins',
  bridge_upstream_duration_seconds_count: 'admin.figure.upstream',
  bridge_verify_total: 'admin.figure.verify',
  bridge_rate_limited_total: 'admin.figure.rateLimited',
  bridge_sync_refused_total: 'admin.figure.refused',
  bridge_uptime_seconds: 'admin.figure.uptime',
};

function figureKey(metric: string): MessageKey {
  return FIGURES[metric] ?? 'admin.figure.other';
}

function formatFigure(metric: string, v: number): string {
  return metric === 'bridge_uptime_seconds' ? `${Math.round(v)} s` : String(v);
}

/** departments as nested lists; ones whose parent is unknown are roots */
function orgTree(orgs: Array<{ orgCode: string; orgName: string; parentCode: string }>): string {
  const codes = new Set(orgs.map((o) => o.orgCode));
  const children = new Map<string, typeof orgs>();
  for (const o of orgs) {
    const p = o.parentCode && codes.has(o.parentCode) && o.parentCode !== o.orgCode ? o.parentCode : '';
    children.set(p, [...(children.get(p) ?? []), o]);
  }
  const seen = new Set<string>();
  const list = (parent: string): string => {
    const kids = (children.get(parent) ?? []).filter((o) => !seen.has(o.orgCode));
    if (!kids.length) return '';
    return `<ul>${kids
      .map((o) => {
        seen.add(o.orgCode);
        return `<li>${escapeHtml(o.orgName)} <span class="muted">${escapeHtml(o.orgCode)}</span>${list(o.orgCode)}</li>`;
      })
      .join('')}</ul>`;
  };
  return `<div id="orgs">${list('')}</div>`;
}

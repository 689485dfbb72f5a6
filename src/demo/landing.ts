// The demo's landing page, played by "KooGallery": the journey (buy -> bind -> authorize -> sign
// in) with the pushes that made it, the ways to sign in, and the marketplace panel whose buttons
// send the same signed pushes the marketplace would (grant, revoke, disable, change role, delete
// the tenant).
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import type { OneAccessSandbox } from '../sandbox/oneaccess.ts';
import { documentHtml, escapeHtml, pageLanguage } from '../web/pages.ts';
import { msg, text, translate, type Lang, type MessageKey } from '../web/i18n.ts';
import type { Marketplace } from './marketplace.ts';
import { openTenant, type DemoPerson, type DemoTenantState } from './demo.ts';

export interface LandingDeps {
  host: string;
  gatewayUrl: string;
  /** where a sign-in lands: the app behind the gateway */
  appUrl: string;
  tenants: DemoTenantState[];
  marketplace: Marketplace;
  sandbox: OneAccessSandbox;
  log: Logger;
  storeLabel: string;
}

export interface Landing {
  url: string;
  close(): Promise<void>;
}

const OPS = ['grant', 'revoke', 'disable', 'enable', 'role', 'delete-tenant', 'restore-tenant'] as const;
type Op = (typeof OPS)[number];

export async function startLanding(d: LandingDeps): Promise<Landing> {
  // the panel changes who may sign in: only forms from this page count
  const csrf = randomBytes(16).toString('base64url');
  const app = express();
  app.disable('x-powered-by');

  function page(lang: Lang): string {
    const t = (k: MessageKey, p?: Record<string, string | number>) => escapeHtml(translate(lang, k, p));
    const gw = d.gatewayUrl;
    const step = (n: number, key: MessageKey, kinds: string[]) => {
      const done = d.marketplace.log.filter((r) => kinds.includes(r.kind) && r.resultCode === '000000').length;
      return `<li><strong>${t(`demo.step${n}` as MessageKey)}</strong> — ${t(key)} <span class="muted">(${kinds.join(', ')}: ${done} × 000000)</span></li>`;
    };
    const button = (tenantId: string, op: Op, label: MessageKey, user?: string, secondary = true) =>
      `<form method="post" action="/marketplace"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="tenant" value="${escapeHtml(tenantId)}">${user ? `<input type="hidden" name="user" value="${escapeHtml(user)}">` : ''}<input type="hidden" name="op" value="${op}"><input type="hidden" name="lang" value="${lang}"><button type="submit"${secondary ? ' class="secondary"' : ''} data-op="${op}" data-tenant="${escapeHtml(tenantId)}"${user ? ` data-user="${escapeHtml(user)}"` : ''}>${t(label)}</button></form>`;
    const status = (p: DemoPerson) => (p.grant === 'granted' ? (p.enabled ? t('demo.status.granted') : t('demo.status.disabled')) : p.grant === 'revoked' ? t('demo.status.revoked') : t('demo.status.none'));
    const tenantPanel = (tn: DemoTenantState) => {
      const signIn =
        tn.protocol === 'oauth'
          ? `<a class="button" id="signin-${tn.tenantCode}" href="${escapeHtml(`${gw}/login?tenant=${tn.tenantCode}`)}">${t('demo.signInOAuth', { tenant: tn.tenantCode })}</a>`
          : `<a class="button" id="signin-${tn.tenantCode}" href="${escapeHtml(`${gw}/login?tenant=${tn.tenantCode}&protocol=cas`)}">${t('demo.signInCas', { tenant: tn.tenantCode })}</a>`;
      const rows = tn.people
        .map((p) => {
          const dept = tn.orgs.find((o) => o.orgCode === p.orgCode)?.orgName ?? p.orgCode;
          const actions = !tn.active
            ? ''
            : p.grant !== 'granted'
              ? button(tn.tenantId, 'grant', 'demo.op.grant', p.userName, false)
              : [
                  button(tn.tenantId, 'revoke', 'demo.op.revoke', p.userName),
                  button(tn.tenantId, p.enabled ? 'disable' : 'enable', p.enabled ? 'demo.op.disable' : 'demo.op.enable', p.userName),
                  button(tn.tenantId, 'role', p.role === 'admin' ? 'demo.op.makeUser' : 'demo.op.makeAdmin', p.userName),
                ].join('');
          const workbench = tn.active && p.grant === 'granted' ? ` · <a href="/workbench?tenant=${encodeURIComponent(tn.tenantId)}&amp;user=${encodeURIComponent(p.userName)}" id="workbench-${escapeHtml(p.userName)}">${t('demo.workbench')}</a>` : '';
          return `<tr id="row-${escapeHtml(p.userName)}"><td>${escapeHtml(p.name)}<br><span class="muted">${escapeHtml(p.userName)}${workbench}</span></td><td>${escapeHtml(dept)}</td><td>${p.role === 'admin' ? t('role.admin') : t('role.user')}</td><td class="status">${status(p)}</td><td>${actions}</td></tr>`;
        })
        .join('\n');
      return `<section class="panel" id="tenant-${tn.tenantCode}">
<h3>${escapeHtml(tn.name)} <span class="muted">(${escapeHtml(tn.tenantCode)} · ${tn.protocol === 'oauth' ? 'OAuth 2.0' : 'CAS 3.0'} · ${escapeHtml(tn.domainName)})</span></h3>
${tn.active ? `<p>${signIn}</p>` : `<p class="notice">${t('demo.tenantDeleted')}</p>`}
<table><thead><tr><th>${t('signed-in.name')}</th><th>${t('demo.app.department')}</th><th>${t('signed-in.role')}</th><th>${t('demo.status')}</th><th></th></tr></thead><tbody>
${rows}
</tbody></table>
<p>${tn.active ? button(tn.tenantId, 'delete-tenant', 'demo.op.deleteTenant') : button(tn.tenantId, 'restore-tenant', 'demo.op.restoreTenant', undefined, false)}</p>
</section>`;
    };
    const log = d.marketplace.log
      .slice(0, 12)
      .map((r) => `<tr><td>${escapeHtml(r.at.slice(11, 19))}</td><td>${escapeHtml(r.kind)}</td><td>${escapeHtml(text(lang, r.summary))}</td><td>${escapeHtml(r.resultCode)}</td></tr>`)
      .join('\n');
    const other = lang === 'en' ? ['zh-CN', '中文'] : ['en', 'English'];
    return documentHtml(
      lang,
      translate(lang, 'demo.title'),
      `<p class="muted"><a href="?lang=${other[0]}" id="lang-switch">${other[1]}</a></p>
<h1>${t('demo.heading')}</h1>
<p>${t('demo.intro')}</p>
<h2>${t('demo.journey')}</h2>
<ol id="journey">
${step(1, 'demo.step1.body', ['tenantSync'])}
${step(2, 'demo.step2.body', ['applicationSync'])}
${step(3, 'demo.step3.body', ['allOrgSync', 'authSync'])}
<li><strong>${t('demo.step4')}</strong> — ${t('demo.step4.body')}</li>
</ol>
<h2>${t('demo.signIn')}</h2>
<ul>
<li>${t('demo.route.oauth')} <code>${escapeHtml(`${gw}/login?tenant=acme`)}</code></li>
<li>${t('demo.route.cas')} <code>${escapeHtml(`${gw}/login?tenant=beta&protocol=cas`)}</code></li>
<li>${t('demo.route.unified')} <a id="signin-unified" href="${escapeHtml(`${gw}/login`)}">${escapeHtml(`${gw}/login`)}</a></li>
<li>${t('demo.route.workbench')}</li>
</ul>
<p class="muted">${t('demo.lands', { app: d.appUrl })}</p>
<p id="console">${t('admin.demo', { who: '张三 (zhangsan)' })} <a href="${escapeHtml(`${gw}/admin`)}">${escapeHtml(`${gw}/admin`)}</a></p>
<h2>${t('demo.marketplace')}</h2>
<p>${t('demo.marketplace.body')}</p>
${d.tenants.map(tenantPanel).join('\n')}
<h2>${t('demo.pushes')}</h2>
<table id="pushes"><thead><tr><th>UTC</th><th>${t('demo.pushes.interface')}</th><th>${t('demo.pushes.what')}</th><th>resultCode</th></tr></thead><tbody>
${log}
</tbody></table>
<p class="muted">${t('demo.footer', { store: d.storeLabel })}</p>`,
      { wide: true },
    );
  }

  app.get('/', (req, res) => {
    const lang = pageLanguage(req);
    res.set('Cache-Control', 'no-store').set('Content-Language', lang).type('html').send(page(lang));
  });

  // the enterprise workbench: OneAccess hands the app a code and the tenant, no state
  app.get('/workbench', (req, res) => {
    const tn = d.tenants.find((t) => t.tenantId === req.query.tenant);
    const p = tn?.people.find((x) => x.userName === req.query.user);
    if (!tn || !p) return void res.status(404).type('text').send('no such tenant or person');
    const code = d.sandbox.issueCode({ tenantId: tn.tenantId, clientId: tn.clientId, userName: p.userName, redirectUri: `${d.gatewayUrl}/oauth/callback` });
    res.redirect(303, `${d.gatewayUrl}/oauth/callback?code=${encodeURIComponent(code)}&tenant=${encodeURIComponent(tn.tenantId)}`);
  });

  app.post('/marketplace', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const back = `/?lang=${form.lang === 'en' ? 'en' : 'zh-CN'}#tenant-${String(form.tenant ?? '').replace(/^t-/, '')}`;
    if (form.csrf !== csrf) return void res.status(403).type('text').send('this form is not from the demo page');
    const tn = d.tenants.find((t) => t.tenantId === form.tenant);
    const op = OPS.find((o) => o === form.op);
    if (!tn || !op) return void res.status(400).type('text').send('unknown tenant or action');
    const p = tn.people.find((x) => x.userName === form.user);
    if (!p && !op.endsWith('-tenant')) return void res.status(400).type('text').send('unknown person');
    act(tn, op, p).then(
      () => res.redirect(303, back),
      (e: unknown) => {
        d.log.error({ err: e, op }, 'demo: the marketplace action failed');
        res.status(502).type('text').send(`the push failed: ${(e as Error).message}`);
      },
    );
  });

  async function act(tn: DemoTenantState, op: Op, p: DemoPerson | undefined): Promise<void> {
    const m = d.marketplace;
    switch (op) {
      case 'grant':
        await m.authorize(tn, 1, [{ ...p!, enabled: true }], msg('demo.log.authorized', { name: p!.name }));
        Object.assign(p!, { grant: 'granted', enabled: true });
        return;
      case 'revoke':
        await m.authorize(tn, 3, [p!], msg('demo.log.revoked', { name: p!.name }));
        p!.grant = 'revoked';
        return;
      case 'disable':
      case 'enable':
        await m.authorize(tn, 2, [{ ...p!, enabled: op === 'enable' }], msg(op === 'enable' ? 'demo.log.enabled' : 'demo.log.disabled', { name: p!.name }));
        p!.enabled = op === 'enable';
        return;
      case 'role': {
        const role = p!.role === 'admin' ? 'user' : 'admin';
        await m.authorize(tn, 2, [{ ...p!, role }], msg('demo.log.role', { name: p!.name, role }));
        p!.role = role;
        return;
      }
      case 'delete-tenant':
        await m.deleteTenant(tn);
        tn.active = false;
        return;
      case 'restore-tenant':
        await openTenant(m, tn);
        return;
    }
  }

  const server: Server = await new Promise((ok, fail) => {
    const s = app.listen(0, d.host, () => ok(s));
    s.once('error', fail);
  });
  return {
    url: `http://${d.host}:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

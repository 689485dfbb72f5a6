// The sandbox's HTML pages, in the gateway's look and the reader's language (?lang=,
// Accept-Language, default zh-CN). The login form is deliberately password-less: a person (or a
// test) picks one of the tenant's users. Stable form contract for scripted clients:
//   POST /sandbox/login   userName=<userName>&continue=<path+query of authorize or cas/login>
import type { Response } from 'express';
import { escapeHtml } from './oneaccess-http.ts';
import type { Tenant } from './oneaccess-state.ts';
import { documentHtml, pageLanguage } from '../web/pages.ts';
import { text, translate, type Lang, type Msg } from '../web/i18n.ts';

export const LOGIN_PATH = '/sandbox/login';

function send(res: Response, status: number, title: (lang: Lang) => string, body: (lang: Lang) => string): void {
  const lang = pageLanguage(res.req);
  res.status(status).set('Content-Language', lang).type('html').send(documentHtml(lang, title(lang), body(lang)));
}

export function sendLoginForm(res: Response, tenant: Tenant, continueUrl: string | undefined, status = 200, notice?: Msg): void {
  const users = [...tenant.users.values()]
    .map((u) => {
      const detail = [u.role ?? 'user', u.organizationName].filter(Boolean).join(', ');
      return `<button class="choice" type="submit" name="userName" value="${escapeHtml(u.userName)}">${escapeHtml(u.name)} (${escapeHtml(u.userName)}; ${escapeHtml(detail)})</button>`;
    })
    .join('\n');
  const hidden = continueUrl === undefined ? '' : `<input type="hidden" name="continue" value="${escapeHtml(continueUrl)}">`;
  send(
    res,
    status,
    (lang) => translate(lang, 'sandbox.login.title', { tenant: tenant.name }),
    (lang) => `<h1>${escapeHtml(translate(lang, 'sandbox.login.heading', { tenant: tenant.name }))}</h1>
${notice === undefined ? '' : `<p class="notice" role="alert">${escapeHtml(text(lang, notice))}</p>`}
<p>${escapeHtml(translate(lang, 'sandbox.login.pick'))}</p>
<form method="post" action="${LOGIN_PATH}">${hidden}
${users || `<p>${escapeHtml(translate(lang, 'sandbox.login.noUsers'))}</p>`}
</form>
<p class="muted">${escapeHtml(translate(lang, 'sandbox.login.hint'))}</p>`,
  );
}

export function sendSignedIn(res: Response, tenant: Tenant, userName: string): void {
  send(
    res,
    200,
    (lang) => translate(lang, 'sandbox.signedIn.title'),
    (lang) => `<h1>${escapeHtml(tenant.name)}</h1><p>${escapeHtml(translate(lang, 'sandbox.signedIn.body', { user: userName }))}</p>`,
  );
}

export function sendErrorPage(res: Response, status: number, title: Msg, message: Msg): void {
  send(
    res,
    status,
    (lang) => text(lang, title),
    (lang) => `<h1>${escapeHtml(text(lang, title))}</h1><p>${escapeHtml(text(lang, message))}</p>`,
  );
}

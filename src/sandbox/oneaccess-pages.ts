// The sandbox's HTML pages. The login form is deliberately password-less: a person (or a test)
// picks one of the tenant's users. Stable form contract for scripted clients:
//   POST /sandbox/login   userName=<userName>&continue=<path+query of authorize or cas/login>
import type { Response } from 'express';
import { escapeHtml } from './oneaccess-http.ts';
import type { Tenant } from './oneaccess-state.ts';

export const LOGIN_PATH = '/sandbox/login';

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}button{display:block;margin:.4rem 0;padding:.5rem 1rem;min-width:18rem;text-align:left}</style>
</head><body>${body}</body></html>`;
}

export function sendLoginForm(res: Response, tenant: Tenant, continueUrl: string | undefined, status = 200, notice?: string): void {
  const users = [...tenant.users.values()]
    .map((u) => {
      const detail = [u.role ?? 'user', u.organizationName].filter(Boolean).join(', ');
      return `<button type="submit" name="userName" value="${escapeHtml(u.userName)}">${escapeHtml(u.name)} (${escapeHtml(u.userName)}; ${escapeHtml(detail)})</button>`;
    })
    .join('\n');
  const hidden = continueUrl === undefined ? '' : `<input type="hidden" name="continue" value="${escapeHtml(continueUrl)}">`;
  const body = `<h1>${escapeHtml(tenant.name)} · OneAccess sandbox</h1>
${notice === undefined ? '' : `<p role="alert">${escapeHtml(notice)}</p>`}
<p>Sign in as:</p>
<form method="post" action="${LOGIN_PATH}">${hidden}
${users || '<p>This tenant has no users.</p>'}
</form>`;
  res.status(status).type('html').send(page(`Sign in · ${tenant.name}`, body));
}

export function sendSignedIn(res: Response, tenant: Tenant, userName: string): void {
  res.type('html').send(page('Signed in', `<h1>${escapeHtml(tenant.name)}</h1><p>Signed in as ${escapeHtml(userName)}.</p>`));
}

export function sendErrorPage(res: Response, status: number, title: string, message: string): void {
  res.status(status).type('html').send(page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`));
}

// Server-rendered pages from views/*.html: {{name}} placeholders, every value HTML-escaped.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Request, Response } from 'express';
import { PROJECT_ROOT } from '../config/load.ts';

const cache = new Map<string, string>();

function template(name: string): string {
  let t = cache.get(name);
  if (t === undefined) {
    t = readFileSync(resolve(PROJECT_ROOT, 'views', `${name}.html`), 'utf8');
    cache.set(name, t);
  }
  return t;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function render(name: string, vars: Record<string, string>): string {
  return template(name).replace(/\{\{(\w+)\}\}/g, (_, k: string) => escapeHtml(vars[k] ?? ''));
}

export function wantsJson(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
}

export interface PageError {
  status: number;
  code: string;
  userMessage: string;
  retry: boolean;
}

export function sendError(req: Request, res: Response, e: PageError, retryUrl?: string): void {
  res.status(e.status).set('Cache-Control', 'no-store');
  if (wantsJson(req)) {
    res.json({ error: e.code, error_description: e.userMessage, ...(e.retry && retryUrl ? { retry: retryUrl } : {}) });
    return;
  }
  res.type('html').send(
    render('error', {
      title: e.status >= 500 ? 'Sign-in service problem' : e.status === 403 ? 'Access not granted' : 'Sign-in could not continue',
      message: e.userMessage,
      code: e.code,
      status: String(e.status),
      retryDisplay: e.retry && retryUrl ? 'block' : 'none',
      retryUrl: retryUrl ?? '',
    }),
  );
}

// The page renderer every HTML page goes through: views/<name>.html body templates in one
// layout (language, title, the shared stylesheet), with every text from the message catalogues.
// Templates know three forms, all HTML-escaped:
//   {{name}}            a value
//   {{t:key}}           a catalogue message; its {placeholders} are filled from the values
//   {{?name}}…{{/name}}  a section shown only when the value `name` is not empty
// Adding a page = views/<name>.html + its keys (at least `<name>.title`) in both catalogues.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { chooseLanguage, text, translate, type Lang, type MessageKey, type Msg } from './i18n.ts';

export const STYLESHEET = readFileSync(new URL('./ui.css', import.meta.url), 'utf8').replace(/\n/g, '');

/** the repository's views/ (web/ sits below config/, so it finds the folder itself) */
const VIEWS = new URL('../../views/', import.meta.url);
const cache = new Map<string, string>();

function template(name: string): string {
  let t = cache.get(name);
  if (t === undefined) {
    t = readFileSync(new URL(`${name}.html`, VIEWS), 'utf8');
    cache.set(name, t);
  }
  return t;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export type PageVars = Record<string, string | Msg | undefined>;

function value(lang: Lang, v: string | Msg | undefined): string {
  return v === undefined ? '' : typeof v === 'string' ? v : text(lang, v);
}

/** a whole document around an already-escaped body; for pages built in code (sandbox, demo) */
export function documentHtml(lang: Lang, title: string, bodyHtml: string, opts: { wide?: boolean } = {}): string {
  return `<!doctype html>
<html lang="${lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${STYLESHEET}</style>
</head>
<body><main${opts.wide ? ' class="wide"' : ''}>
${bodyHtml}
</main></body>
</html>
`;
}

/** a page never shows a raw {placeholder}: one without a value is left empty */
const fill = (message: string, values: Record<string, string>): string => message.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');

/** views/<view>.html in `lang`; the title is `vars.title` or the message `<view>.title` */
export function renderPage(lang: Lang, view: string, vars: PageVars = {}): string {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) values[k] = value(lang, v);
  const body = template(view)
    .replace(/\{\{\?(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g, (_, k: string, inner: string) => (values[k] ? inner : ''))
    .replace(/\{\{t:([\w.-]+)\}\}/g, (_, key: string) => escapeHtml(fill(translate(lang, key as MessageKey), values)))
    .replace(/\{\{(\w+)\}\}/g, (_, k: string) => escapeHtml(values[k] ?? ''));
  const title = values.title || fill(translate(lang, `${view}.title` as MessageKey), values);
  return documentHtml(lang, title, body.trim());
}

/** the configured default page language, kept on the express app (app.locals.uiLanguage) */
function defaultLanguage(req: IncomingMessage): Lang {
  const lang = (req as Partial<Request>).app?.locals?.uiLanguage as Lang | undefined;
  return lang ?? 'zh-CN';
}

/** the language of the page this request gets: ?lang=, Accept-Language, ui.defaultLanguage */
export function pageLanguage(req: IncomingMessage, fallback: Lang = defaultLanguage(req)): Lang {
  const params = new URL(req.url ?? '/', 'http://x').searchParams;
  // OIDC's ui_locales (space-separated, preferred first) counts like ?lang=
  const query = (req as Partial<Request>).query?.lang ?? params.get('lang') ?? params.get('ui_locales')?.split(' ')[0] ?? undefined;
  return chooseLanguage(query, req.headers['accept-language'], fallback);
}

export function sendPage(req: Request, res: Response, view: string, vars: PageVars = {}, status = 200): void {
  const lang = pageLanguage(req);
  res.status(status).set('Content-Language', lang).type('html').send(renderPage(lang, view, vars));
}

export function wantsJson(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
}

export interface PageError {
  status: number;
  /** stable English code, in JSON and on the page */
  code: string;
  /** what went wrong and what to do, in the reader's language */
  message: Msg;
  retry: boolean;
  /** JSON error_description when it should say more than the English message (e.g. a library's own text) */
  description?: string;
}

export function errorTitle(status: number): MessageKey {
  return status >= 500 ? 'error.title.service' : status === 403 ? 'error.title.denied' : status === 429 ? 'error.title.tooMany' : 'error.title.cannotContinue';
}

export function sendError(req: Request, res: Response, e: PageError, retryUrl?: string): void {
  res.status(e.status).set('Cache-Control', 'no-store');
  if (wantsJson(req)) {
    res.json({ error: e.code, error_description: e.description ?? text('en', e.message), ...(e.retry && retryUrl ? { retry: retryUrl } : {}) });
    return;
  }
  sendPage(req, res, 'error', { title: { key: errorTitle(e.status) }, message: e.message, code: e.code, status: String(e.status), retryUrl: e.retry ? retryUrl : undefined }, e.status);
}

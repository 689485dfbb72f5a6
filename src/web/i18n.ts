// The two page languages of the contract (§4) and the choice between them: a `lang` query
// parameter, else Accept-Language, else the configured default (ui.defaultLanguage).
import { en, type MessageKey } from './messages/en.ts';
import { zhCN } from './messages/zh-CN.ts';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGUAGES)[number];
export type { MessageKey };

const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };

/** a message to be shown in the reader's language: a catalogue key and its {placeholders} */
export interface Msg {
  key: MessageKey;
  params?: Record<string, string | number>;
}

export const msg = (key: MessageKey, params?: Msg['params']): Msg => (params ? { key, params } : { key });

/** `zh`, `zh-Hans`, `zh-CN`, `ZH-cn` -> zh-CN; `en`, `en-US` -> en; anything else -> undefined */
export function languageFromTag(tag: string | undefined): Lang | undefined {
  const t = tag?.trim().toLowerCase();
  if (!t) return undefined;
  if (t === 'zh' || t.startsWith('zh-')) return 'zh-CN';
  if (t === 'en' || t.startsWith('en-')) return 'en';
  return undefined;
}

/** the supported language Accept-Language ranks highest (ties: listed first), if any */
export function languageFromAcceptLanguage(header: string | undefined): Lang | undefined {
  if (!header || header.length > 512) return undefined;
  let best: { lang: Lang; q: number } | undefined;
  for (const part of header.split(',')) {
    const [tag, ...params] = part.split(';');
    const lang = languageFromTag(tag);
    if (!lang) continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qp === undefined ? 1 : Number(qp.slice(2));
    if (!(q > 0)) continue;
    if (!best || q > best.q) best = { lang, q };
  }
  return best?.lang;
}

/** `?lang=` (only the exact names zh-CN and en, case-insensitively) > Accept-Language > default */
export function chooseLanguage(query: unknown, acceptLanguage: string | undefined, fallback: Lang): Lang {
  if (typeof query === 'string') {
    const q = LANGUAGES.find((l) => l.toLowerCase() === query.toLowerCase());
    if (q) return q;
  }
  return languageFromAcceptLanguage(acceptLanguage) ?? fallback;
}

export function translate(lang: Lang, key: MessageKey, params: Record<string, string | number> = {}): string {
  return CATALOGUES[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export const text = (lang: Lang, m: Msg): string => translate(lang, m.key, m.params);

/** every key of both catalogues, for the test that they agree */
export const catalogues = CATALOGUES;

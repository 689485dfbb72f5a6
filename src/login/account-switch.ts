// No silent session swap (login CSRF). A sign-in answer this browser did not provably start (code +
// tenant from the unified login page or the workbench; a CAS ticket, which is bound to no browser)
// may carry someone else's sign-in: opened in a browser that holds a session of a different person
// it must not replace that session. The new sign-in waits a few minutes, parked in the store and
// bound to the current session, behind a "continue as …?" page; only a POST from that page in the
// same browser session completes it. Keeping the current session is the default button.
import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { Store } from '../store/store.ts';
import type { IdentityClaims, UpstreamIdentity } from './identity.ts';
import { render } from './pages.ts';

export interface PendingSwitch {
  id: UpstreamIdentity;
  tenantId: string;
  appId?: string;
  returnTo: string;
  /** SHA-256 of the session id it would replace */
  binding: string;
}

const hash = (v: string) => createHash('sha256').update('oneaccess-bridge/switch\0').update(v).digest('base64url');
const key = (handle: string) => `switch:${handle}`;

export class AccountSwitches {
  constructor(
    private readonly store: Store,
    private readonly ttlSec = 300,
  ) {}

  /** parks a sign-in until the person decides; returns the handle the page posts back */
  async park(currentSid: string, p: Omit<PendingSwitch, 'binding'>): Promise<string> {
    const handle = randomBytes(24).toString('base64url');
    await this.store.putTemp(key(handle), JSON.stringify({ ...p, binding: hash(currentSid) }), this.ttlSec * 1000);
    return handle;
  }

  /** takes it once; null when unknown, expired, used, or posted from another session */
  async take(handle: unknown, currentSid: string): Promise<PendingSwitch | null> {
    if (typeof handle !== 'string' || !/^[A-Za-z0-9_-]{32}$/.test(handle)) return null;
    const raw = await this.store.takeTemp(key(handle));
    if (!raw) return null;
    const p = JSON.parse(raw) as PendingSwitch;
    return p.binding === hash(currentSid) ? p : null;
  }
}

type Lang = 'zh-CN' | 'en';

const TEXT: Record<Lang, Record<'title' | 'currentLabel' | 'nextLabel' | 'warning' | 'keep' | 'continue', string>> = {
  en: {
    title: 'Switch account?',
    currentLabel: 'This browser is signed in as:',
    nextLabel: 'A sign-in link was opened for another account:',
    warning: 'If you did not just sign in with that account yourself, someone may be trying to make you work in their account. Stay signed in.',
    keep: 'Stay signed in as {current}',
    continue: 'Continue as {next}',
  },
  'zh-CN': {
    title: '切换账号？',
    currentLabel: '此浏览器当前登录的账号：',
    nextLabel: '刚打开的登录链接属于另一个账号：',
    warning: '如果您刚才没有亲自用该账号登录，可能有人试图让您在他的账号中操作，请保持当前登录。',
    keep: '保持以{current}登录',
    continue: '以{next}继续',
  },
};

/** `lang` query, else the first language Accept-Language names that the page has, else Chinese */
export function pageLanguage(req: Request): Lang {
  const q = req.query.lang;
  if (q === 'en' || q === 'zh-CN') return q;
  for (const part of (req.headers['accept-language'] ?? '').split(',')) {
    const tag = part.split(';')[0]!.trim().toLowerCase();
    if (tag.startsWith('zh')) return 'zh-CN';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh-CN';
}

const who = (c: IdentityClaims) => `${c.name && c.name !== c.user_name ? `${c.name} (${c.user_name})` : c.user_name}${c.tenant_name ? ` · ${c.tenant_name}` : ''}`;

export function switchPage(lang: Lang, current: IdentityClaims, next: IdentityClaims, action: string, handle: string): string {
  const t = TEXT[lang];
  const short = (c: IdentityClaims) => c.name || c.user_name;
  return render('switch-account', {
    lang,
    ...t,
    keep: t.keep.replace('{current}', short(current)),
    continue: t.continue.replace('{next}', short(next)),
    current: who(current),
    next: who(next),
    action,
    id: handle,
  });
}

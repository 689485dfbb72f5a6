// The provider's browser-facing pages, in the gateway's look and in both languages: errors, the
// sign-out question and the signed-out page. Values are HTML-escaped by render(); errors show
// their code and description only, never a stack. The language: `lang` query parameter, else
// Accept-Language, else Simplified Chinese (the contract's default).
import type { KoaContextWithOIDC } from 'oidc-provider';
import { render } from '../login/pages.ts';

export type Lang = 'zh-CN' | 'en';

const TEXT = {
  en: {
    signOutTitle: 'Sign out?',
    signOutAsk: (client: string) => `${client} asks to sign you out. Signing out ends your session at this sign-in gateway.`,
    signOutAskNoApp: 'Do you want to sign out? Signing out ends your session at this sign-in gateway.',
    signOut: 'Sign out',
    stay: 'Stay signed in',
    signedOutTitle: 'You are signed out',
    signedOut: 'You have signed out of the sign-in gateway.',
    signInAgain: 'Sign in again',
    logoutErrorTitle: 'Sign-out could not continue',
    logoutRedirect:
      'The app asked to return to an address after sign-out that is not registered for it. The address must match a registered post_logout_redirect_uri exactly (a trailing slash counts). You are still signed in; please go back to the app.',
    logoutError: 'The app sent a sign-out request that cannot be completed. You are still signed in; please go back to the app.',
    errorTitle: 'Sign-in could not continue',
    serverTitle: 'Sign-in service problem',
    error: 'The app sent a sign-in request that cannot be completed. Please go back to the app and try again.',
    errorWord: 'Error',
  },
  'zh-CN': {
    signOutTitle: '退出登录？',
    signOutAsk: (client: string) => `${client} 请求为您退出登录。退出后，您在本登录网关的会话将结束。`,
    signOutAskNoApp: '确定要退出登录吗？退出后，您在本登录网关的会话将结束。',
    signOut: '退出登录',
    stay: '保持登录',
    signedOutTitle: '您已退出登录',
    signedOut: '您已退出本登录网关。',
    signInAgain: '重新登录',
    logoutErrorTitle: '无法完成退出登录',
    logoutRedirect: '应用请求在退出后返回的地址未为该应用登记。该地址必须与登记的 post_logout_redirect_uri 完全一致（末尾的斜杠也算）。您仍处于登录状态，请返回应用。',
    logoutError: '应用发来的退出请求无法完成。您仍处于登录状态，请返回应用。',
    errorTitle: '无法继续登录',
    serverTitle: '登录服务出现问题',
    error: '应用发来的登录请求无法完成。请返回应用后重试。',
    errorWord: '错误',
  },
} as const;

export function pageLanguage(query: URLSearchParams, acceptLanguage: string | undefined): Lang {
  const asked = query.get('lang') ?? query.get('ui_locales')?.split(' ')[0];
  if (asked === 'en' || asked === 'zh-CN') return asked;
  for (const part of (acceptLanguage ?? '').split(',')) {
    const tag = part.split(';')[0]!.trim().toLowerCase();
    if (tag.startsWith('zh')) return 'zh-CN';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh-CN';
}

const langOf = (ctx: KoaContextWithOIDC): Lang => pageLanguage(new URL(ctx.req.url ?? '/', 'http://x').searchParams, ctx.req.headers['accept-language']);

const LOGOUT_ROUTES = new Set(['end_session', 'end_session_confirm', 'end_session_success']);

/** the sign-out question, with the provider's form action and anti-forgery secret */
export function logoutPage(ctx: KoaContextWithOIDC): string {
  const lang = langOf(ctx);
  const t = TEXT[lang];
  const client = ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;
  return render('oidc-logout', {
    lang,
    title: t.signOutTitle,
    message: client ? t.signOutAsk(client) : t.signOutAskNoApp,
    action: ctx.oidc.urlFor('end_session_confirm'),
    xsrf: ctx.oidc.session?.state?.secret ?? '',
    signOut: t.signOut,
    stay: t.stay,
  });
}

export function providerPages(publicUrl: string) {
  return {
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): Promise<void> {
      const lang = langOf(ctx);
      const t = TEXT[lang];
      const logout = LOGOUT_ROUTES.has(ctx.oidc?.route);
      const message = logout
        ? /post_logout_redirect_uri/.test(out.error_description ?? '')
          ? t.logoutRedirect
          : `${t.logoutError}${out.error_description ? ` (${out.error_description})` : ''}`
        : (out.error_description ?? t.error);
      ctx.type = 'html';
      ctx.body = render('oidc-message', {
        lang,
        title: logout ? t.logoutErrorTitle : ctx.status >= 500 ? t.serverTitle : t.errorTitle,
        message,
        code: out.error,
        status: String(ctx.status),
        errorWord: t.errorWord,
        codeDisplay: 'block',
        linkDisplay: 'none',
        linkUrl: '',
        linkText: '',
      });
    },

    /** the provider's form: only its action and anti-forgery secret are reused, in our own page */
    async logoutSource(ctx: KoaContextWithOIDC): Promise<void> {
      ctx.type = 'html';
      ctx.body = logoutPage(ctx);
    },

    /** end_session without a post_logout_redirect_uri */
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      const lang = langOf(ctx);
      const t = TEXT[lang];
      ctx.type = 'html';
      ctx.body = render('oidc-message', {
        lang,
        title: t.signedOutTitle,
        message: t.signedOut,
        linkDisplay: 'block',
        linkUrl: `${publicUrl}/login`,
        linkText: t.signInAgain,
        codeDisplay: 'none',
        code: '',
        status: '',
        errorWord: '',
      });
    },
  };
}

// The provider's browser-facing pages, in the gateway's look and the reader's language (`lang`,
// else the first of OIDC's `ui_locales`, else Accept-Language, else ui.defaultLanguage): errors,
// the sign-out question and the signed-out page. Values are HTML-escaped by the renderer; errors
// show their code and description only, never a stack.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errorTitle, pageLanguage, renderPage, type PageVars } from '../web/pages.ts';
import { msg, type Lang } from '../web/i18n.ts';

const langOf = (ctx: KoaContextWithOIDC): Lang => pageLanguage(ctx.req);

const LOGOUT_ROUTES = new Set(['end_session', 'end_session_confirm', 'end_session_success']);

function page(ctx: KoaContextWithOIDC, view: string, vars: PageVars): void {
  ctx.type = 'html';
  ctx.body = renderPage(langOf(ctx), view, vars);
}

/** the sign-out question, with the provider's form action and anti-forgery secret */
export function logoutPage(ctx: KoaContextWithOIDC): string {
  const client = ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;
  return renderPage(langOf(ctx), 'oidc-logout', {
    message: client ? msg('oidc-logout.body', { client }) : msg('oidc-logout.bodyNoApp'),
    action: ctx.oidc.urlFor('end_session_confirm'),
    xsrf: ctx.oidc.session?.state?.secret ?? '',
  });
}

export function providerPages(publicUrl: string) {
  return {
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): Promise<void> {
      const logout = LOGOUT_ROUTES.has(ctx.oidc?.route);
      const detail = out.error_description;
      // the provider's own description is English protocol text: shown as the detail
      const message = logout
        ? /post_logout_redirect_uri/.test(detail ?? '')
          ? msg('oidc.logoutRedirect')
          : detail
            ? msg('oidc.logoutErrorDetail', { detail })
            : msg('oidc.logoutError')
        : detail
          ? msg('refusal.oidcDetail', { detail })
          : msg('refusal.oidcRequest');
      page(ctx, 'oidc-message', {
        title: logout ? msg('oidc.logoutErrorTitle') : msg(errorTitle(ctx.status >= 500 ? 500 : 400)),
        message,
        code: out.error,
        status: String(ctx.status),
      });
    },

    /** the provider's form: only its action and anti-forgery secret are reused, in our own page */
    async logoutSource(ctx: KoaContextWithOIDC): Promise<void> {
      ctx.type = 'html';
      ctx.body = logoutPage(ctx);
    },

    /** end_session without a post_logout_redirect_uri */
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      page(ctx, 'oidc-message', { title: msg('signed-out.heading'), message: msg('oidc.signedOut'), linkUrl: `${publicUrl}/login`, linkText: msg('signed-out.signIn') });
    },
  };
}

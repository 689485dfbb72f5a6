// The provider's browser-facing pages, in the gateway's look and the reader's language: errors,
// the sign-out question and the signed-out page. Errors show their code and description only,
// never a stack.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errorTitle, pageLanguage, renderPage } from '../web/pages.ts';
import { msg, translate } from '../web/i18n.ts';

export function providerPages(publicUrl: string) {
  const page = (ctx: KoaContextWithOIDC, view: string, vars: Parameters<typeof renderPage>[2]): void => {
    const lang = pageLanguage(ctx.req);
    ctx.type = 'html';
    ctx.body = renderPage(lang, view, vars);
  };
  return {
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): Promise<void> {
      page(ctx, 'error', {
        title: msg(errorTitle(ctx.status >= 500 ? 500 : 400)),
        // the provider's own description is English protocol text: shown as the detail
        message: out.error_description ? msg('refusal.oidcDetail', { detail: out.error_description }) : msg('refusal.oidcRequest'),
        code: out.error,
        status: String(ctx.status),
      });
    },

    /** the provider's form: only its action and anti-forgery secret are reused, in our own page */
    async logoutSource(ctx: KoaContextWithOIDC): Promise<void> {
      const lang = pageLanguage(ctx.req);
      page(ctx, 'oidc-logout', {
        action: ctx.oidc.urlFor('end_session_confirm'),
        xsrf: ctx.oidc.session?.state?.secret ?? '',
        client: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? translate(lang, 'oidc-logout.theApp'),
      });
    },

    /** end_session without a post_logout_redirect_uri */
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      page(ctx, 'signed-out', { loginUrl: `${publicUrl}/login` });
    },
  };
}

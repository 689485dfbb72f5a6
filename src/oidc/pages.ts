// The provider's browser-facing pages, in the gateway's look: errors, the sign-out question and
// the signed-out page. Values are HTML-escaped by render(); errors show their code and
// description only, never a stack.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { render } from '../login/pages.ts';

export function providerPages(publicUrl: string) {
  return {
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): Promise<void> {
      ctx.type = 'html';
      ctx.body = render('error', {
        title: ctx.status >= 500 ? 'Sign-in service problem' : 'Sign-in could not continue',
        message: out.error_description ?? 'The app sent a sign-in request that cannot be completed. Please go back to the app and try again.',
        code: out.error,
        status: String(ctx.status),
        retryDisplay: 'none',
        retryUrl: '',
      });
    },

    /** the provider's form: only its action and anti-forgery secret are reused, in our own page */
    async logoutSource(ctx: KoaContextWithOIDC): Promise<void> {
      ctx.type = 'html';
      ctx.body = render('oidc-logout', {
        action: ctx.oidc.urlFor('end_session_confirm'),
        xsrf: ctx.oidc.session?.state?.secret ?? '',
        client: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? 'The app',
      });
    },

    /** end_session without a post_logout_redirect_uri */
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      ctx.type = 'html';
      ctx.body = render('signed-out', { loginUrl: `${publicUrl}/login` });
    },
  };
}

// The sandbox's own sign-in page (what OneAccess shows when there is no SSO session). After a
// person is picked it sets the tenant's SSO cookie and finishes the interrupted OAuth or CAS
// request directly, so the browser goes straight back to the client.
import express, { type Router } from 'express';
import { CAS_LOGIN_PATH, completeCasLogin } from './oneaccess-cas.ts';
import { paramsOf, paramsOfSearch, readCookie, setSsoCookie, ssoCookieName, type Route } from './oneaccess-http.ts';
import { AUTHORIZE_PATH, completeAuthorize } from './oneaccess-oauth.ts';
import { LOGIN_PATH, sendLoginForm, sendSignedIn } from './oneaccess-pages.ts';
import type { SandboxState } from './oneaccess-state.ts';
import { msg } from '../web/i18n.ts';

const BASE = 'http://sandbox.invalid';

/** Only same-origin paths to the two interruptible endpoints are followed. */
function continuation(value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith('/') || value.startsWith('//')) return undefined;
  const url = new URL(value, BASE);
  return url.pathname === AUTHORIZE_PATH || url.pathname === CAS_LOGIN_PATH ? `${url.pathname}${url.search}` : undefined;
}

export function loginRoutes(state: SandboxState, route: Route): Router {
  const router = express.Router();
  router.get(
    LOGIN_PATH,
    route('login-form', (tenant, req, res) => {
      const session = state.session(tenant, readCookie(req, ssoCookieName(tenant)));
      if (session) return sendSignedIn(res, tenant, session.userName);
      sendLoginForm(res, tenant, continuation(paramsOf(req.query)('continue')));
    }),
  );
  router.post(
    LOGIN_PATH,
    express.urlencoded({ extended: false, limit: '16kb' }),
    route('login-form', (tenant, req, res) => {
      const form = paramsOf(req.body);
      const userName = form('userName');
      const continueUrl = continuation(form('continue'));
      if (userName === undefined || !tenant.users.has(userName)) {
        return sendLoginForm(res, tenant, continueUrl, 400, msg('sandbox.login.unknownUser', { user: userName ?? '' }));
      }
      const sid = state.startSession(tenant, userName);
      setSsoCookie(res, tenant, sid);
      const session = state.session(tenant, sid);
      if (continueUrl === undefined) return sendSignedIn(res, tenant, userName);
      const next = new URL(continueUrl, BASE);
      const params = paramsOfSearch(next.searchParams);
      if (next.pathname === AUTHORIZE_PATH) return completeAuthorize(state, tenant, params, session, res, continueUrl);
      completeCasLogin(state, tenant, params, session, res, continueUrl, true);
    }),
  );
  return router;
}

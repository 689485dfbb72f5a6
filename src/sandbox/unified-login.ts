// Stand-in for KooGallery's unified login page
//   …/unified-login/#/portal-login?ind=UNOP&appId={appId}
// The real page keeps its parameters in the URL fragment, so this one does too: a tiny script
// reads the fragment and fills the forms; `tenant` and `user` in the fragment pick a person
// automatically (scripted browsers). The server side then ends like the real page (spec §2):
// a redirect to the app's registered callback with ?code=…&tenant=… and no state.
// Scripted clients without a browser POST /unified-login/login  appId, tenant, user.
import express, { type Express } from 'express';
import { appendQuery, escapeHtml, paramsOf } from './oneaccess-http.ts';
import type { SandboxState, Tenant } from './oneaccess-state.ts';
import { SandboxError, type AppRegistration, type SandboxClient } from './oneaccess-types.ts';
import { documentHtml, pageLanguage } from '../web/pages.ts';
import { translate, type Lang } from '../web/i18n.ts';

export const UNIFIED_LOGIN_PATH = '/unified-login/';

/** The tenant's client for this app: the one registered with the app's callback, else the only one. */
function clientForApp(tenant: Tenant, app: AppRegistration): SandboxClient {
  const clients = [...tenant.clients.values()];
  const client = clients.find((c) => c.redirectUris.includes(app.callbackUrl)) ?? (clients.length === 1 ? clients[0] : undefined);
  if (!client) throw new SandboxError('no_client_for_app', `tenant ${tenant.tenantId} has no client for app ${app.appId}`);
  return client;
}

/** Signs `userName` of tenant `tenantRef` (id or code) into app `appId`; returns the callback URL. */
export function signInForApp(state: SandboxState, appId: string, tenantRef: string, userName: string): string {
  const app = state.apps.get(appId);
  if (!app) throw new SandboxError('unknown_app', `no app ${appId} registered`);
  const tenant = state.tenantByRef(tenantRef);
  if (!tenant) throw new SandboxError('unknown_tenant', `no tenant ${tenantRef}`);
  const client = clientForApp(tenant, app);
  const code = state.issueCode({ tenantId: tenant.tenantId, clientId: client.clientId, userName, redirectUri: app.callbackUrl });
  return appendQuery(app.callbackUrl, { code, tenant: tenant.tenantId });
}

// the page's texts come in as JSON (T) in the reader's language
const SCRIPT = `
const hash = location.hash;
const at = hash.indexOf('?');
const q = new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
const appId = q.get('appId');
const forms = [...document.querySelectorAll('form.pick')];
if (!hash.startsWith('#/portal-login') || q.get('ind') !== 'UNOP' || !appId) {
  document.getElementById('msg').textContent = T.expected;
  forms.forEach((f) => f.hidden = true);
} else {
  forms.forEach((f) => f.elements.appId.value = appId);
  const tenant = q.get('tenant'), user = q.get('user');
  if (tenant && user) {
    const f = forms.find((f) => (f.elements.tenant.value === tenant || f.dataset.code === tenant) && f.elements.user.value === user);
    if (f) f.submit(); else document.getElementById('msg').textContent = T.noSuch + tenant + '/' + user;
  }
}`;

function page(state: SandboxState, lang: Lang): string {
  const forms = [...state.tenants.values()]
    .flatMap((t) =>
      [...t.users.values()].map(
        (u) => `<form class="pick" method="post" action="${UNIFIED_LOGIN_PATH}login" data-code="${escapeHtml(t.tenantCode)}">
<input type="hidden" name="appId"><input type="hidden" name="tenant" value="${escapeHtml(t.tenantId)}"><input type="hidden" name="user" value="${escapeHtml(u.userName)}">
<button class="choice" type="submit">${escapeHtml(t.name)} — ${escapeHtml(u.name)} (${escapeHtml(u.userName)})</button></form>`,
      ),
    )
    .join('\n');
  // `<` escaped so no text can close the script element
  const texts = JSON.stringify({ expected: translate(lang, 'sandbox.unified.expected'), noSuch: translate(lang, 'sandbox.unified.noSuch') }).replace(/</g, '\\u003c');
  return documentHtml(
    lang,
    translate(lang, 'sandbox.unified.title'),
    `<h1>${escapeHtml(translate(lang, 'sandbox.unified.heading'))}</h1><p id="msg" class="notice"></p>
${forms || `<p>${escapeHtml(translate(lang, 'sandbox.unified.none'))}</p>`}
<script>const T = ${texts};${SCRIPT}</script>`,
  );
}

export function createUnifiedLoginApp(state: SandboxState): Express {
  const app = express();
  app.get(['/unified-login', UNIFIED_LOGIN_PATH], (req, res) => void res.type('html').send(page(state, pageLanguage(req))));
  app.post(`${UNIFIED_LOGIN_PATH}login`, express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => {
    const form = paramsOf(req.body);
    const appId = form('appId');
    const tenant = form('tenant');
    const user = form('user');
    if (!appId || !tenant || !user) return void res.status(400).type('text').send('appId, tenant and user are required');
    try {
      res.redirect(302, signInForApp(state, appId, tenant, user));
    } catch (err) {
      if (!(err instanceof SandboxError)) throw err;
      res.status(400).type('text').send(err.message);
    }
  });
  return app;
}

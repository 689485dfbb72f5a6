// CAS 3.0 endpoints of one tenant's OneAccess (spec §5): login, p3/serviceValidate, logout.
import express, { type Request, type Response, type Router } from 'express';
import { appendQuery, clearSsoCookie, paramsOf, readCookie, ssoCookieName, type Params, type Route } from './oneaccess-http.ts';
import { LOGIN_PATH, sendErrorPage, sendLoginForm, sendSignedIn } from './oneaccess-pages.ts';
import type { SandboxState, ServiceTicket, SsoSession, Tenant } from './oneaccess-state.ts';
import { msg } from '../web/i18n.ts';

export const CAS_LOGIN_PATH = '/api/v1/cas/login';
const CAS_NS = 'http://www.yale.edu/tp/cas';

/** `service` must equal a registered one byte for byte (after the query string was decoded). */
function serviceAllowed(tenant: Tenant, service: string): boolean {
  for (const client of tenant.clients.values()) if (client.casServices?.includes(service)) return true;
  return false;
}

/** Finishes a CAS login for a signed-in person (or shows the form): 302 to service?ticket=ST-…. */
export function completeCasLogin(
  state: SandboxState,
  tenant: Tenant,
  params: Params,
  session: SsoSession | undefined,
  res: Response,
  continueUrl: string,
  fromNewLogin: boolean,
): void {
  const service = params('service');
  if (service === undefined) {
    return session ? sendSignedIn(res, tenant, session.userName) : sendLoginForm(res, tenant, undefined);
  }
  if (!serviceAllowed(tenant, service)) {
    return sendErrorPage(res, 400, msg('sandbox.error.cas'), msg('sandbox.error.casService', { service }));
  }
  if (!session) return sendLoginForm(res, tenant, continueUrl);
  const ticket = state.issueTicket(tenant, service, session, fromNewLogin);
  res.redirect(302, appendQuery(service, { ticket }));
}

type Failure = { code: 'INVALID_REQUEST' | 'INVALID_TICKET' | 'INVALID_SERVICE'; description: string };
type Outcome = { ok: true; ticket: ServiceTicket; attributes: [string, string | boolean][] } | ({ ok: false } & Failure);

function validate(state: SandboxState, tenant: Tenant, params: Params): Outcome {
  const service = params('service');
  const ticketId = params('ticket');
  // consumed before anything else is checked: one validation attempt per ticket (spec §5.4)
  const ticket = ticketId === undefined ? undefined : state.takeTicket(tenant.tenantId, ticketId);
  if (service === undefined || ticketId === undefined) {
    return { ok: false, code: 'INVALID_REQUEST', description: "'service' and 'ticket' parameters are both required" };
  }
  const user = ticket === undefined ? undefined : tenant.users.get(ticket.userName);
  if (!ticket || !user) return { ok: false, code: 'INVALID_TICKET', description: `Ticket '${ticketId}' not recognized` };
  if (ticket.service !== service) {
    return { ok: false, code: 'INVALID_SERVICE', description: `Ticket '${ticketId}' does not match supplied service` };
  }
  const attributes: [string, string | boolean | undefined][] = [
    ['authenticationDate', new Date(ticket.authTime).toISOString()],
    ['longTermAuthenticationRequestTokenUsed', false],
    ['isFromNewLogin', ticket.fromNewLogin],
    ['userName', user.userName],
    ['name', user.name],
    ['tenant', tenant.tenantId],
    ['role', user.role ?? 'user'],
    ['organizationCode', user.organizationCode],
  ];
  return { ok: true, ticket, attributes: attributes.filter((a): a is [string, string | boolean] => a[1] !== undefined) };
}

const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

function toXml(outcome: Outcome): string {
  if (!outcome.ok) {
    return `<cas:serviceResponse xmlns:cas="${CAS_NS}">
  <cas:authenticationFailure code="${outcome.code}">${escapeXml(outcome.description)}</cas:authenticationFailure>
</cas:serviceResponse>
`;
  }
  const attributes = outcome.attributes.map(([k, v]) => `      <cas:${k}>${escapeXml(String(v))}</cas:${k}>`).join('\n');
  return `<cas:serviceResponse xmlns:cas="${CAS_NS}">
  <cas:authenticationSuccess>
    <cas:user>${escapeXml(outcome.ticket.userName)}</cas:user>
    <cas:attributes>
${attributes}
    </cas:attributes>
  </cas:authenticationSuccess>
</cas:serviceResponse>
`;
}

function toJson(outcome: Outcome): object {
  if (!outcome.ok) {
    return { serviceResponse: { authenticationFailure: { code: outcome.code, description: outcome.description } } };
  }
  const attributes = Object.fromEntries(outcome.attributes);
  return { serviceResponse: { authenticationSuccess: { user: outcome.ticket.userName, attributes } } };
}

function serviceValidate(state: SandboxState, tenant: Tenant, req: Request, res: Response): void {
  const params = paramsOf(req.query);
  const format = (params('format') ?? state.settings.casDefaultFormat).toUpperCase();
  const outcome = validate(state, tenant, params);
  // always 200, success or failure (spec §5)
  if (format === 'JSON') return void res.status(200).json(toJson(outcome));
  res.status(200).type('application/xml; charset=utf-8').send(toXml(outcome));
}

function casLogout(state: SandboxState, tenant: Tenant, req: Request, res: Response): void {
  state.endSession(readCookie(req, ssoCookieName(tenant)));
  clearSsoCookie(res, tenant);
  const service = paramsOf(req.query)('service');
  res.redirect(302, service !== undefined && serviceAllowed(tenant, service) ? service : LOGIN_PATH);
}

export function casRoutes(state: SandboxState, route: Route): Router {
  const router = express.Router();
  router.get(
    CAS_LOGIN_PATH,
    route('cas-login', (tenant, req, res) => {
      const session = state.session(tenant, readCookie(req, ssoCookieName(tenant)));
      completeCasLogin(state, tenant, paramsOf(req.query), session, res, req.originalUrl, false);
    }),
  );
  router.get('/api/v1/cas/p3/serviceValidate', route('cas-validate', (tenant, req, res) => serviceValidate(state, tenant, req, res)));
  router.get('/api/v1/cas/logout', route('cas-logout', (tenant, req, res) => casLogout(state, tenant, req, res)));
  return router;
}

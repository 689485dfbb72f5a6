// The sign-in step: from the identity a connector answered to an established session. The
// policy decides (policy.ts); a sign-in this browser did not provably start does not replace a
// live session of another person without asking (account-switch.ts); a directory push that
// landed meanwhile is applied (live-identity.ts); every outcome is audited. Protocol-blind.
import type { Request, Response } from 'express';
import type { TenantRecord } from '../directory/model.ts';
import type { Directory } from '../directory/directory.ts';
import type { IdentityClaims, UpstreamIdentity } from '../identity/identity.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Sessions } from '../session/sessions.ts';
import type { Store } from '../store/store.ts';
import { switchPage, type AccountSwitches, type PendingSwitch } from './account-switch.ts';
import { LoginError } from './errors.ts';
import { profileOf, settleSignIn } from './live-identity.ts';
import { decideSignIn, type SignInPolicy } from './policy.ts';
import type { Tenants } from './tenants.ts';
import type { Transactions } from './transactions.ts';
import { msg } from '../web/i18n.ts';
import { pageLanguage, wantsJson } from '../web/pages.ts';

export type AuditDetail = Record<string, string | number | boolean | null>;

export interface SignInDeps {
  tenants: Tenants;
  directory: Directory;
  sessions: Sessions;
  transactions: Transactions;
  switches: AccountSwitches;
  policy: SignInPolicy;
  store: Store;
  /** the switch page posts to `${publicUrl}/login` */
  publicUrl: string;
  log: Logger;
  metrics: Metrics;
}

/** what a completed callback hands the sign-in */
export interface Arrival {
  tenant: TenantRecord;
  id: UpstreamIdentity;
  returnTo: string;
  appId?: string | undefined;
  /** this browser provably started it (OAuth state + PKCE, or the person's click on the switch page) */
  bound: boolean;
  /** what must be stored with the new session before the browser is told it is signed in */
  alongside?: ((sid: string) => Promise<unknown>) | undefined;
}

export class SignIn {
  constructor(private readonly d: SignInDeps) {}

  /** an audit record; a store that cannot take it costs a log line, not the answer */
  async audit(action: string, target: string, detail: AuditDetail, actor = 'browser'): Promise<void> {
    await this.d.store.write([], [{ at: new Date().toISOString(), actor, action, target, detail }]).catch((e: unknown) => this.d.log.warn({ err: e, action }, 'could not write audit record'));
  }

  /** `${ns}/user/<tenant>/<userName>`: the audit target of a person */
  userTarget(tenantId: string, userName: string): string {
    return `${this.d.tenants.ns}/user/${tenantId}/${userName}`;
  }

  /** decides, establishes (or parks behind the switch page), settles, audits, and redirects */
  async complete(req: Request, res: Response, a: Arrival): Promise<void> {
    const { d } = this;
    const { tenant, id } = a;
    const ns = d.tenants.ns;
    res.locals.tenant = tenant.tenantId;
    res.locals.user = id.userName;
    const user = await d.directory.getUser(ns, tenant.tenantId, id.userName);
    let claims: IdentityClaims;
    try {
      claims = decideSignIn(tenant, user, id, (u) => d.tenants.accountId(tenant.tenantId, u), d.policy);
    } catch (e) {
      if (e instanceof LoginError) await this.audit('login.refused', this.userTarget(tenant.tenantId, id.userName), { code: e.code, protocol: id.protocol });
      throw e;
    }
    const current = a.bound ? null : await d.sessions.current(req);
    if (current && current.identity.claims.sub !== claims.sub) {
      await this.askBeforeSwitch(req, res, current.identity.claims, claims, { id, tenantId: tenant.tenantId, ...(a.appId ? { appId: a.appId } : {}), returnTo: a.returnTo });
      return;
    }
    const established = await d.sessions.establishFor(req, { ns, claims }, { protocol: id.protocol, tenantId: tenant.tenantId, ...(a.appId ? { appId: a.appId } : {}), ...(id.tokens ? { tokens: id.tokens } : {}), profile: profileOf(id) });
    const settled = await settleSignIn(established, { directory: d.directory, sessions: d.sessions, policy: d.policy });
    if (!settled) throw new LoginError('not_authorized', msg('refusal.withdrawnDuringSignIn'));
    try {
      await a.alongside?.(established.sid);
    } catch (e) {
      // no half sign-in: a session whose companion record is missing is ended, and the retry page shown
      await d.sessions.end(established.sid, established.session).catch(() => undefined);
      throw e;
    }
    // the browser learns of the session only now that every part of it is stored
    d.sessions.setCookie(req, res, established);
    d.transactions.clear(res);
    d.metrics.logins.inc({ outcome: 'success', protocol: id.protocol });
    await this.audit('login.success', this.userTarget(tenant.tenantId, claims.user_name), { sub: claims.sub, protocol: id.protocol }, `user:${claims.sub}`);
    d.log.info({ sub: claims.sub, tenant: tenant.tenantId, protocol: id.protocol }, 'signed in');
    res.redirect(303, a.returnTo);
  }

  private async askBeforeSwitch(req: Request, res: Response, current: IdentityClaims, next: IdentityClaims, pending: Omit<PendingSwitch, 'binding'>): Promise<void> {
    const { d } = this;
    d.transactions.clear(res);
    d.metrics.logins.inc({ outcome: 'switch_asked', protocol: pending.id.protocol });
    await this.audit('login.switch-asked', this.userTarget(next.tenant, next.user_name), { sub: next.sub, current: current.sub, protocol: pending.id.protocol }, `user:${current.sub}`);
    d.log.info({ sub: next.sub, current: current.sub }, 'sign-in for another person parked until this browser confirms');
    // not framable, no Referer: the security headers every page of the gateway gets (web/security-headers.ts)
    res.status(200).set('Cache-Control', 'no-store');
    if (wantsJson(req)) {
      res.status(409).json({ error: 'account_switch', error_description: `This browser is signed in as ${current.user_name}; the sign-in answer is for another person. Open it in a browser page to choose.` });
      return;
    }
    const handle = await d.switches.park(d.sessions.sidOf(req)!, pending);
    res.type('html').send(switchPage(pageLanguage(req), current, next, `${d.publicUrl}/login`, handle));
  }
}

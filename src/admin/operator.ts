// Who may operate the console (contract §4): a person holding BRIDGE_ADMIN_TOKEN — as
// `Authorization: Bearer` or through the console's token sign-in form — or an `admin` of a tenant
// in admin.operatorTenants, signed in through the normal sign-in. Sessions of either kind get a
// CSRF token (an HMAC of the session's id); bearer calls need none, since no browser sends them
// by itself.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Store } from '../store/store.ts';
import { keysOf, keyspace } from '../store/keyspace.ts';
import type { Sessions } from '../session/sessions.ts';
import { readCookie } from '../web/cookies.ts';

export interface Operator {
  kind: 'token' | 'token-session' | 'tenant-admin';
  /** audit actor: operator:token, or user:<sub> */
  actor: string;
  /** shown in the console's header */
  label: string;
  /** null for bearer calls: nothing to protect */
  csrf: string | null;
}

/** why a request is not an operator's: no credentials, wrong ones, or a person who is not an operator */
export type Refusal = { status: 401; error: 'unauthenticated' | 'invalid_token' } | { status: 403; error: 'not_an_operator'; who: string };

export interface OperatorAuthOptions {
  token: string;
  operatorTenants: readonly string[];
  idleSec: number;
  secure: boolean;
  csrfKey: Buffer;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** constant-time: both sides hashed to the same length first, so neither length nor content leaks */
export function sameSecret(given: string, expected: string): boolean {
  if (!expected) return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}

export class OperatorAuth {
  /** the console's own cookie, for token sign-ins: only sent to /admin, never cross-site */
  readonly cookieName: string;
  private readonly tenants: Set<string>;

  constructor(
    private readonly store: Store,
    private readonly sessions: Sessions,
    private readonly opts: OperatorAuthOptions,
  ) {
    this.cookieName = opts.secure ? '__Secure-bridge-admin' : 'bridge.admin';
    this.tenants = new Set(opts.operatorTenants);
  }

  get tokenEnabled(): boolean {
    return this.opts.token !== '';
  }

  get tenantAdminsEnabled(): boolean {
    return this.tenants.size > 0;
  }

  /** the operator behind this request, or why there is none */
  async identify(req: Request): Promise<Operator | Refusal> {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (m && this.tokenEnabled && sameSecret(m[1]!, this.opts.token)) return { kind: 'token', actor: 'operator:token', label: 'token', csrf: null };
      return { status: 401, error: 'invalid_token' };
    }
    const consoleId = readCookie(req, this.cookieName);
    if (consoleId && this.tokenEnabled && (await keysOf(this.store).touch(this.key(consoleId), this.opts.idleSec * 1000))) {
      return { kind: 'token-session', actor: 'operator:token', label: 'token', csrf: this.csrfFor(`console:${consoleId}`) };
    }
    const s = await this.sessions.current(req);
    if (!s) return { status: 401, error: 'unauthenticated' };
    const c = s.identity.claims;
    const who = `${c.user_name} (${c.tenant_code ?? c.tenant})`;
    // the session's identity follows the directory (role changes reach live sessions), so this is today's role
    if (s.identity.ns !== 'prod' || c.role !== 'admin' || !this.tenants.has(c.tenant)) return { status: 403, error: 'not_an_operator', who };
    return { kind: 'tenant-admin', actor: `user:${c.sub}`, label: `${c.name ?? c.user_name} · ${c.tenant_code ?? c.tenant}`, csrf: this.csrfFor(`gateway:${this.sessions.sidOf(req)}`) };
  }

  /** state-changing calls with a session must carry its CSRF token (header X-CSRF-Token or form field csrf) */
  csrfOk(req: Request, op: Operator): boolean {
    if (op.csrf === null) return true;
    const body = req.body as Record<string, unknown> | undefined;
    const given = req.get('x-csrf-token') ?? (typeof body?.csrf === 'string' ? body.csrf : undefined);
    return typeof given === 'string' && sameSecret(given, op.csrf);
  }

  /** the token sign-in form's answer: true and a console cookie when the token is right */
  async signInWithToken(res: Response, given: string): Promise<boolean> {
    if (!this.tokenEnabled || !sameSecret(given, this.opts.token)) return false;
    const id = randomBytes(32).toString('base64url');
    await keysOf(this.store).put(this.key(id), { at: Date.now() }, this.opts.idleSec * 1000);
    res.cookie(this.cookieName, id, { httpOnly: true, sameSite: 'strict', secure: this.opts.secure, path: '/admin' });
    return true;
  }

  async signOut(req: Request, res: Response): Promise<void> {
    const id = readCookie(req, this.cookieName);
    if (id) await keysOf(this.store).delete(this.key(id));
    res.clearCookie(this.cookieName, { httpOnly: true, sameSite: 'strict', secure: this.opts.secure, path: '/admin' });
  }

  private key(consoleId: string) {
    // the cookie value itself is never a store key
    return keyspace.consoleSession.key(sha256(consoleId).toString('base64url'));
  }

  private csrfFor(sessionKey: string): string {
    return createHmac('sha256', this.opts.csrfKey).update(sessionKey).digest('base64url');
  }
}

// Login transactions: what a sign-in started here must remember until its callback (tenant, PKCE
// verifier, return_to). Kept in the store for a few minutes, taken exactly once, and bound to a
// short-lived HttpOnly pre-login cookie so a callback only completes in the browser that started it.
import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Store } from '../store/store.ts';
import type { Protocol } from '../identity/identity.ts';
import { readCookie } from '../web/cookies.ts';

export interface LoginTransaction {
  protocol: Protocol;
  /** null when the tenant is chosen on the unified login page */
  tenantId: string | null;
  returnTo: string;
  codeVerifier?: string;
  /** SHA-256 of the pre-login cookie */
  binding: string;
  startedAt: number;
}

const hash = (v: string) => createHash('sha256').update(v).digest('base64url');

export class Transactions {
  readonly cookieName: string;

  constructor(
    private readonly store: Store,
    private readonly ttlSec: number,
    private readonly secure: boolean,
  ) {
    this.cookieName = secure ? '__Host-bridge-tx' : 'bridge.tx';
  }

  /** the browser's pre-login cookie value, created when missing */
  private binding(req: Request, res: Response): string {
    let v = readCookie(req, this.cookieName);
    if (!v || !/^[A-Za-z0-9_-]{43}$/.test(v)) {
      v = randomBytes(32).toString('base64url');
      res.cookie(this.cookieName, v, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: '/', maxAge: this.ttlSec * 1000 });
    }
    return v;
  }

  /** a transaction found by its OAuth `state` */
  async startWithState(req: Request, res: Response, tx: Omit<LoginTransaction, 'binding' | 'startedAt'>): Promise<string> {
    const state = randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');
    const binding = hash(this.binding(req, res));
    await this.store.putTemp(`tx:${state}`, JSON.stringify({ ...tx, binding, startedAt: Date.now() }), this.ttlSec * 1000);
    return state;
  }

  /** a transaction found by the pre-login cookie alone (CAS, unified login page: no state comes back) */
  async startByCookie(req: Request, res: Response, tx: Omit<LoginTransaction, 'binding' | 'startedAt'>): Promise<void> {
    const binding = hash(this.binding(req, res));
    await this.store.putTemp(`txc:${binding}`, JSON.stringify({ ...tx, binding, startedAt: Date.now() }), this.ttlSec * 1000);
  }

  /** takes the state's transaction; null when unknown, used, expired, or started in another browser */
  async takeByState(req: Request, state: string): Promise<LoginTransaction | null> {
    if (state.length > 128) return null;
    const raw = await this.store.takeTemp(`tx:${state}`);
    if (!raw) return null;
    const tx = JSON.parse(raw) as LoginTransaction;
    const cookie = readCookie(req, this.cookieName);
    return cookie && hash(cookie) === tx.binding ? tx : null;
  }

  async takeByCookie(req: Request): Promise<LoginTransaction | null> {
    const cookie = readCookie(req, this.cookieName);
    if (!cookie) return null;
    const raw = await this.store.takeTemp(`txc:${hash(cookie)}`);
    return raw ? (JSON.parse(raw) as LoginTransaction) : null;
  }

  clear(res: Response): void {
    res.clearCookie(this.cookieName, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: '/' });
  }
}

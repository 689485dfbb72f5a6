// Login transactions: what a sign-in started here must remember until its callback (tenant, PKCE
// verifier, return_to). Kept in the store for a few minutes, taken exactly once, and bound to a
// short-lived HttpOnly pre-login cookie so a callback only completes in the browser that started it.
import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Store } from '../store/store.ts';
import { keyspace, keysOf, type Keyspace } from '../store/keyspace.ts';
import type { Protocol } from '../identity/identity.ts';
import { readCookie } from '../web/cookies.ts';

export interface LoginTransaction {
  protocol: Protocol;
  /** null when the tenant is chosen on the unified login page */
  tenantId: string | null;
  returnTo: string;
  codeVerifier?: string;
  /** the tenant app the sign-in started with (OAuth); absent in transactions from before it was kept */
  appId?: string;
  /** SHA-256 of the pre-login cookie */
  binding: string;
  startedAt: number;
}

/** what a sign-in remembers (the binding and start time are added here) */
export type NewTransaction = Omit<LoginTransaction, 'binding' | 'startedAt'>;

/** the callback of a state-bound transaction completes only in the browser whose cookie started it */
export function boundTo(tx: LoginTransaction, cookie: string | undefined): boolean {
  return !!cookie && hash(cookie) === tx.binding;
}

const hash = (v: string) => createHash('sha256').update(v).digest('base64url');

export class Transactions {
  readonly cookieName: string;
  private readonly keys: Keyspace;

  constructor(
    store: Store,
    private readonly ttlSec: number,
    private readonly secure: boolean,
  ) {
    this.cookieName = secure ? '__Host-bridge-tx' : 'bridge.tx';
    this.keys = keysOf(store);
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

  /**
   * Remembers a sign-in until its callback: found by `state` when the connector chose one (OAuth),
   * else by the pre-login cookie alone (CAS, unified login page: no state comes back).
   */
  async start(req: Request, res: Response, tx: NewTransaction, state?: string): Promise<void> {
    const binding = hash(this.binding(req, res));
    const value: LoginTransaction = { ...tx, binding, startedAt: Date.now() };
    await this.keys.put(state === undefined ? keyspace.loginByCookie.key(binding) : keyspace.loginByState.key(state), value, this.ttlSec * 1000);
  }

  /** takes the state's transaction; null when unknown, used, expired, or started in another browser */
  async takeByState(req: Request, state: string): Promise<LoginTransaction | null> {
    if (state.length > 128) return null;
    const tx = await this.keys.take(keyspace.loginByState.key(state));
    return tx && boundTo(tx, readCookie(req, this.cookieName)) ? tx : null;
  }

  async takeByCookie(req: Request): Promise<LoginTransaction | null> {
    const cookie = readCookie(req, this.cookieName);
    if (!cookie) return null;
    return this.keys.take(keyspace.loginByCookie.key(hash(cookie)));
  }

  clear(res: Response): void {
    res.clearCookie(this.cookieName, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: '/' });
  }
}

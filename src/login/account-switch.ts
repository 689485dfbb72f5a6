// No silent session swap (login CSRF). A sign-in answer this browser did not provably start (code +
// tenant from the unified login page or the workbench; a CAS ticket, which is bound to no browser)
// may carry someone else's sign-in: opened in a browser that holds a session of a different person
// it must not replace that session. The new sign-in waits a few minutes, parked in the store and
// bound to the current session, behind a "continue as …?" page; only a POST from that page in the
// same browser session completes it. Keeping the current session is the default button.
import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { Store } from '../store/store.ts';
import { keyspace, keysOf, type Keyspace } from '../store/keyspace.ts';
import type { IdentityClaims, UpstreamIdentity } from '../identity/identity.ts';
import { renderPage } from '../web/pages.ts';
import type { Lang } from '../web/i18n.ts';

export interface PendingSwitch {
  id: UpstreamIdentity;
  tenantId: string;
  appId?: string;
  returnTo: string;
  /** SHA-256 of the session id it would replace */
  binding: string;
}

const hash = (v: string) => createHash('sha256').update('oneaccess-bridge/switch\0').update(v).digest('base64url');

export class AccountSwitches {
  private readonly keys: Keyspace;

  constructor(
    store: Store,
    private readonly ttlSec = 300,
  ) {
    this.keys = keysOf(store);
  }

  /** parks a sign-in until the person decides; returns the handle the page posts back */
  async park(currentSid: string, p: Omit<PendingSwitch, 'binding'>): Promise<string> {
    const handle = randomBytes(24).toString('base64url');
    await this.keys.put(keyspace.accountSwitch.key(handle), { ...p, binding: hash(currentSid) }, this.ttlSec * 1000);
    return handle;
  }

  /** takes it once; null when unknown, expired, used, or posted from another session */
  async take(handle: unknown, currentSid: string): Promise<PendingSwitch | null> {
    if (typeof handle !== 'string' || !/^[A-Za-z0-9_-]{32}$/.test(handle)) return null;
    const p = await this.keys.take(keyspace.accountSwitch.key(handle));
    return p && p.binding === hash(currentSid) ? (p as PendingSwitch) : null;
  }
}

const who = (c: IdentityClaims) => `${c.name && c.name !== c.user_name ? `${c.name} (${c.user_name})` : c.user_name}${c.tenant_name ? ` · ${c.tenant_name}` : ''}`;

export function switchPage(lang: Lang, current: IdentityClaims, next: IdentityClaims, action: string, handle: string): string {
  const short = (c: IdentityClaims) => c.name || c.user_name;
  return renderPage(lang, 'switch-account', { current: who(current), next: who(next), currentShort: short(current), nextShort: short(next), action, id: handle });
}

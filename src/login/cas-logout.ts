// CAS single logout (CAS 3.0 appendix C): OneAccess POSTs `logoutRequest`, a SAML
// samlp:LogoutRequest whose samlp:SessionIndex is the service ticket the session was signed in
// with, to the service URL. Parsed with the same limits as validation answers (parseCasXml: size,
// no DOCTYPE or entities, prefixes stripped); anything else is refused and changes nothing.
// Sign-ins remember ticket -> gateway session, per tenant, for the session's absolute lifetime
// (keyspace.casTicket).
import { GatewayError } from '../identity/errors.ts';
import type { Store } from '../store/store.ts';
import { keyspace, keysOf, type Keyspace } from '../store/keyspace.ts';
import { CAS_TICKET_RE, parseCasXml } from './cas-response.ts';

/** a logoutRequest that names no sign-in: refused (400), and the reason may be told to the sender */
export class CasLogoutError extends GatewayError {
  override readonly name = 'CasLogoutError';
  readonly status = 400;
  readonly code = 'invalid_request';
  readonly expose = true;
  get userMessage(): string {
    return this.message;
  }
}

/** the service ticket a logoutRequest names */
export async function logoutRequestTicket(body: unknown): Promise<string> {
  if (typeof body !== 'string' || body.length === 0) throw new CasLogoutError('no logoutRequest');
  let tree: unknown;
  try {
    tree = await parseCasXml(body);
  } catch (e) {
    throw new CasLogoutError(`logoutRequest: ${(e as Error).message}`, { cause: e });
  }
  const request = isRecord(tree) ? tree['LogoutRequest'] : undefined;
  const index = isRecord(request) ? request['SessionIndex'] : undefined;
  if (typeof index !== 'string' || !CAS_TICKET_RE.test(index)) throw new CasLogoutError('logoutRequest without a service ticket as SessionIndex');
  return index;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class CasTickets {
  private readonly keys: Keyspace;

  constructor(
    store: Store,
    private readonly ttlMs: number,
  ) {
    this.keys = keysOf(store);
  }

  remember(tenantId: string, ticket: string, gatewaySid: string): Promise<boolean> {
    return this.keys.put(keyspace.casTicket.key(tenantId, ticket), gatewaySid, this.ttlMs);
  }

  /** the gateway session signed in with this ticket */
  sessionOf(tenantId: string, ticket: string): Promise<string | null> {
    return this.keys.get(keyspace.casTicket.key(tenantId, ticket));
  }

  /** once its session has ended: a failed end keeps the ticket, so OneAccess's retry still finds it */
  forget(tenantId: string, ticket: string): Promise<void> {
    return this.keys.delete(keyspace.casTicket.key(tenantId, ticket));
  }
}

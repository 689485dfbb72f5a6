// CAS single logout (CAS 3.0 appendix C): OneAccess POSTs `logoutRequest`, a SAML
// samlp:LogoutRequest whose samlp:SessionIndex is the service ticket the session was signed in
// with, to the service URL. Parsed with the same limits as validation answers (size, no DOCTYPE
// or entities, xml2js without prefixes); anything else is refused and changes nothing.
// Sign-ins remember ticket -> gateway session, per tenant, for the session's absolute lifetime:
//   cas:ticket:<tenantId>:<ticket> -> gateway session id
import { parseStringPromise, processors } from 'xml2js';
import type { Store } from '../store/store.ts';
import { CAS_TICKET_RE, MAX_CAS_RESPONSE_BYTES } from './cas-response.ts';

export class CasLogoutError extends Error {
  override readonly name = 'CasLogoutError';
}

const XML_OPTIONS = { explicitArray: false, tagNameProcessors: [processors.stripPrefix], attrNameProcessors: [processors.stripPrefix], explicitRoot: true, trim: true };

/** the service ticket a logoutRequest names */
export async function logoutRequestTicket(body: unknown): Promise<string> {
  if (typeof body !== 'string' || body.length === 0) throw new CasLogoutError('no logoutRequest');
  if (Buffer.byteLength(body, 'utf8') > MAX_CAS_RESPONSE_BYTES) throw new CasLogoutError(`logoutRequest larger than ${MAX_CAS_RESPONSE_BYTES} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw new CasLogoutError('logoutRequest with a DOCTYPE or ENTITY declaration');
  let tree: unknown;
  try {
    tree = await parseStringPromise(body, XML_OPTIONS);
  } catch (cause) {
    throw new CasLogoutError('logoutRequest is not well-formed XML', { cause });
  }
  const request = isRecord(tree) ? tree['LogoutRequest'] : undefined;
  const index = isRecord(request) ? request['SessionIndex'] : undefined;
  if (typeof index !== 'string' || !CAS_TICKET_RE.test(index)) throw new CasLogoutError('logoutRequest without a service ticket as SessionIndex');
  return index;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ticketKey = (tenantId: string, ticket: string) => `cas:ticket:${tenantId}:${ticket}`;

export class CasTickets {
  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
  ) {}

  remember(tenantId: string, ticket: string, gatewaySid: string): Promise<boolean> {
    return this.store.putTemp(ticketKey(tenantId, ticket), gatewaySid, this.ttlMs);
  }

  /** the gateway session signed in with this ticket, once */
  take(tenantId: string, ticket: string): Promise<string | null> {
    return this.store.takeTemp(ticketKey(tenantId, ticket));
  }
}

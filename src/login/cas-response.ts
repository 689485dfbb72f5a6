// CAS 3.0 /p3/serviceValidate answers (spec §5.2), XML or JSON, read into one shape. Pure: the
// caller fetches (with a size cap) and turns a failure into a CasError with casFailure().
import { parseStringPromise, processors } from 'xml2js';
import { GatewayError } from '../identity/errors.ts';
import { msg, text as inLanguage, type Msg } from '../web/i18n.ts';

export const MAX_CAS_RESPONSE_BYTES = 64 * 1024;

/** spec §5.4: `ST-`, then A–Z a–z 0–9 `-` only, 256 characters at most */
export const CAS_TICKET_RE = /^ST-[A-Za-z0-9-]{1,253}$/;

export type CasSuccess = { ok: true; user: string; attributes: Record<string, string[]> };
export type CasFailure = { ok: false; code: string; description: string };
export type CasResult = CasSuccess | CasFailure;

export type CasIdentity = { userName: string; name?: string; tenant?: string; role?: string; organizationCode?: string };

/** HTTP status for the browser and a message safe to show, by CAS code (spec §5.3) or local code. */
const KNOWN = new Map<string, { status: 400 | 502; shown: Msg }>([
  ['INVALID_TICKET_SYNTAX', { status: 400, shown: msg('cas.ticketSyntax') }],
  ['INVALID_REQUEST', { status: 400, shown: msg('cas.request') }],
  ['INVALID_TICKET', { status: 400, shown: msg('cas.ticket') }],
  ['INVALID_TICKET_SPEC', { status: 400, shown: msg('cas.ticketSpec') }],
  ['INVALID_SERVICE', { status: 400, shown: msg('cas.service') }],
  // proxy tickets are never requested, so these mean a misbehaving server
  ['UNAUTHORIZED_SERVICE_PROXY', { status: 502, shown: msg('cas.upstream') }],
  ['INVALID_PROXY_CALLBACK', { status: 502, shown: msg('cas.upstream') }],
  ['INTERNAL_ERROR', { status: 502, shown: msg('cas.upstream') }],
  ['INVALID_RESPONSE', { status: 502, shown: msg('cas.upstream') }],
  ['USER_MISMATCH', { status: 502, shown: msg('cas.userMismatch') }],
]);

export class CasError extends GatewayError {
  override readonly name = 'CasError';
  readonly status: 400 | 502;
  readonly expose = true;
  /** safe to show to the person: what went wrong and what to do */
  override readonly shown: Msg;
  /** the same in English (JSON, logs) */
  readonly userMessage: string;
  constructor(
    /** the server's failure code, or INVALID_TICKET_SYNTAX / INVALID_RESPONSE / USER_MISMATCH */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    const known = KNOWN.get(code) ?? { status: 502, shown: msg('cas.upstream') };
    this.status = known.status;
    this.shown = known.shown;
    this.userMessage = inLanguage('en', known.shown);
  }
}

/** A failure answered by the CAS server; unknown codes are failures too (spec §5.3). */
export function casFailure(code: string, description: string): CasError {
  return new CasError(code, `CAS ticket validation failed: ${code}${description ? ` (${description})` : ''}`);
}

/** Checked before any network call: a malformed ticket never reaches OneAccess. */
export function checkTicketSyntax(ticket: unknown): string {
  if (typeof ticket !== 'string' || !CAS_TICKET_RE.test(ticket)) {
    throw new CasError('INVALID_TICKET_SYNTAX', 'ticket is missing or is not a CAS service ticket');
  }
  return ticket;
}

const invalid = (why: string, cause?: unknown) =>
  new CasError('INVALID_RESPONSE', `unusable CAS validation response: ${why}`, cause === undefined ? undefined : { cause });

const XML_OPTIONS = {
  explicitArray: false,
  tagNameProcessors: [processors.stripPrefix],
  attrNameProcessors: [processors.stripPrefix],
  explicitRoot: true,
  trim: true,
};

// Anything else (starting with `_`, `$`, or `__proto__`) is dropped: those are xml2js's own keys or prototype tricks.
const ATTRIBUTE_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
const CODE_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** the description only goes to the log; keep a hostile server from flooding it */
const MAX_DESCRIPTION = 500;

export async function parseCasResponse(body: string, format: 'XML' | 'JSON'): Promise<CasResult> {
  if (typeof body !== 'string') throw invalid('not text');
  if (Buffer.byteLength(body, 'utf8') > MAX_CAS_RESPONSE_BYTES) throw invalid(`larger than ${MAX_CAS_RESPONSE_BYTES} bytes`);
  return format === 'XML' ? fromTree(await parseXml(body), 'XML') : fromTree(parseJson(body), 'JSON');
}

async function parseXml(body: string): Promise<unknown> {
  try {
    return await parseCasXml(body);
  } catch (e) {
    throw invalid((e as Error).message, (e as Error).cause);
  }
}

/**
 * The limits every XML document from a CAS server is read with (validation answers, single
 * logout requests): a size cap, no DOCTYPE or entity declarations, prefixes stripped. Rejects
 * with an Error saying which limit.
 */
export async function parseCasXml(body: string): Promise<unknown> {
  if (Buffer.byteLength(body, 'utf8') > MAX_CAS_RESPONSE_BYTES) throw new Error(`larger than ${MAX_CAS_RESPONSE_BYTES} bytes`);
  // xml2js never expands external entities, but a CAS document has no business declaring any
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw new Error('XML with a DOCTYPE or ENTITY declaration');
  try {
    return await parseStringPromise(body, XML_OPTIONS);
  } catch (cause) {
    throw new Error('not well-formed XML', { cause });
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw invalid('not JSON', e);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The XML tree (prefixes stripped) and the JSON form share element names; only failures differ. */
function fromTree(tree: unknown, format: 'XML' | 'JSON'): CasResult {
  const root = isRecord(tree) ? tree['serviceResponse'] : undefined;
  if (!isRecord(root)) throw invalid('no serviceResponse');
  const success = root['authenticationSuccess'];
  const failure = root['authenticationFailure'];
  if ((success === undefined) === (failure === undefined)) throw invalid('needs exactly one of authenticationSuccess and authenticationFailure');
  return success !== undefined ? readSuccess(success) : readFailure(failure, format);
}

function readSuccess(s: unknown): CasSuccess {
  if (!isRecord(s)) throw invalid('authenticationSuccess is not an element');
  const user = text(s['user']);
  if (!user) throw invalid('authenticationSuccess without a user');
  const raw = s['attributes'];
  if (raw !== undefined && raw !== null && raw !== '' && !isRecord(raw)) throw invalid('attributes is not a set of elements');
  return { ok: true, user, attributes: isRecord(raw) ? normaliseAttributes(raw) : {} };
}

function readFailure(f: unknown, format: 'XML' | 'JSON'): CasFailure {
  // XML: <cas:authenticationFailure code="...">description</...>; JSON: {code, description}
  const code = format === 'XML' ? (isRecord(f) && isRecord(f['$']) ? f['$']['code'] : undefined) : isRecord(f) ? f['code'] : undefined;
  if (typeof code !== 'string' || !CODE_RE.test(code)) throw invalid('authenticationFailure without a usable code');
  const description = format === 'XML' ? text(f) : isRecord(f) ? text(f['description']) : undefined;
  return { ok: false, code, description: (description ?? '').slice(0, MAX_DESCRIPTION) };
}

/** Every attribute becomes a list of strings, whichever format and however many values it had. */
function normaliseAttributes(raw: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!ATTRIBUTE_NAME_RE.test(name)) continue;
    const values = (Array.isArray(value) ? value : [value]).map(text).filter((v): v is string => v !== undefined && v !== '' && v !== 'null');
    if (values.length > 0) out[name] = values;
  }
  return out;
}

/** A scalar's text; an XML element that carries XML attributes arrives as {_: text, $: attrs}. Nested structures have none. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  if (isRecord(v) && typeof v['_'] === 'string') return v['_'].trim();
  return undefined;
}

/** The identity attributes of spec §5.1, each single-valued; userName must agree with <cas:user>. */
export function casIdentityFields(r: CasSuccess): CasIdentity {
  const single = (name: string): string | undefined => {
    const values = r.attributes[name];
    if (values && new Set(values).size > 1) throw invalid(`attribute ${name} has several different values`);
    return values?.[0];
  };
  const userName = single('userName');
  if (userName !== undefined && userName !== r.user) {
    throw new CasError('USER_MISMATCH', `CAS user ${JSON.stringify(r.user)} differs from the userName attribute ${JSON.stringify(userName)}`);
  }
  const identity: CasIdentity = { userName: userName ?? r.user };
  for (const key of ['name', 'tenant', 'role', 'organizationCode'] as const) {
    const value = single(key);
    if (value !== undefined) identity[key] = value;
  }
  return identity;
}

// Generators and a raw HTTP client for fuzzing the sync endpoint (test/marketplace/sync-fuzz.test.ts,
// bench/fuzz.ts). A case starts from a correctly signed push and mutates its body and headers, or
// sends random JSON or bytes; the request is written on a raw socket, so any bytes can be sent.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { signKitBody, signatureMatches } from '../../src/marketplace/signature.ts';
import { KIT_KEY, timeStampAt } from './gateway.ts';

type Mutation = { op: 'flip' | 'insert' | 'delete' | 'truncate'; at: number; ch: string };
type HeaderChange = { op: 'drop' } | { op: 'upper' } | { op: 'set'; value: string } | { op: 'shift'; ms: number } | { op: 'other-body' };

export interface PushCase {
  path?: string;
  body: { kind: 'valid'; padding?: number; mutations?: Mutation[] } | { kind: 'json'; text: string } | { kind: 'bytes'; bytes: Uint8Array };
  headers: Partial<Record<'timestamp' | 'nonce' | 'sign' | 'contentType', HeaderChange>>;
}

export interface Materialized {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

const KINDS = ['tenantSync', 'applicationSync', 'authSync', 'singleOrgSync', 'allOrgSync'];
const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('flip', 'insert', 'delete', 'truncate'),
  at: fc.nat(),
  ch: fc.oneof(fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', ' ', '0', '-', 'e', '\u0000', '\u00e9', '\ud83d', '王'), fc.string({ minLength: 1, maxLength: 1 })),
});

const headerChange: fc.Arbitrary<HeaderChange> = fc.oneof(
  fc.constant({ op: 'drop' as const }),
  fc.constant({ op: 'upper' as const }),
  fc.constant({ op: 'other-body' as const }),
  fc.record({ op: fc.constant('set' as const), value: printable }),
  fc.record({ op: fc.constant('shift' as const), ms: fc.integer({ min: -200_000, max: 200_000 }) }),
);

export function pushCase(): fc.Arbitrary<PushCase> {
  const body = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('valid' as const), mutations: fc.array(mutation, { maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('valid' as const), padding: fc.integer({ min: 8 * 1024, max: 40 * 1024 }), mutations: fc.array(mutation, { maxLength: 2 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('json' as const), text: fc.oneof(fc.json({ maxDepth: 6 }), fc.object({ maxDepth: 4 }).map((o) => JSON.stringify(o))) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 3000 }) }) },
  );
  const change = fc.option(headerChange, { freq: 3, nil: undefined });
  return fc.record({
    path: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...KINDS, 'nope', '..%2ftenantSync') }),
    body,
    headers: fc.record({ timestamp: change, nonce: change, sign: change, contentType: change }, { requiredKeys: [] }),
  });
}

let clock = Date.UTC(2026, 7, 1);
let serial = 0;

function validBody(padding = 0): string {
  clock += 1000;
  serial += 1;
  const tenantId = `t-fuzz-${serial}`;
  return JSON.stringify({ instanceId: `i-${tenantId}`, orderId: 'CS1', tenantId, tenantCode: tenantId, name: `${tenantId} 有限公司`, domainName: 'https://oa.example.com', flag: 1, testFlag: 0, timeStamp: timeStampAt(clock), ...(padding ? { note: 'n'.repeat(padding) } : {}) });
}

function mutate(text: string, mutations: Mutation[]): Buffer {
  let s = text;
  for (const m of mutations) {
    const at = s.length ? m.at % (s.length + 1) : 0;
    if (m.op === 'flip') s = s.slice(0, at) + m.ch + s.slice(at + 1);
    else if (m.op === 'insert') s = s.slice(0, at) + m.ch + s.slice(at);
    else if (m.op === 'delete') s = s.slice(0, at) + s.slice(at + 1);
    else s = s.slice(0, at);
  }
  return Buffer.from(s, 'utf8');
}

/** the request a case stands for: signed over the unmutated body, then body and headers mutated */
export function materialize(c: PushCase, now = Date.now()): Materialized {
  const original = c.body.kind === 'valid' ? validBody(c.body.padding) : c.body.kind === 'json' ? c.body.text : Buffer.from(c.body.bytes).toString('latin1');
  const body = c.body.kind === 'valid' ? mutate(original, c.body.mutations ?? []) : c.body.kind === 'json' ? Buffer.from(c.body.text, 'utf8') : Buffer.from(c.body.bytes);
  const timestamp = String(now);
  const nonce = randomBytes(16).toString('hex');
  let sign: string;
  try {
    sign = signKitBody(KIT_KEY, nonce, timestamp, c.body.kind === 'valid' ? original : body);
  } catch {
    sign = randomBytes(32).toString('hex'); // not JSON the signer accepts: any signature is wrong
  }
  const values: Record<string, string | undefined> = { timestamp, nonce, sign, contentType: 'application/json' };
  for (const [name, change] of Object.entries(c.headers) as Array<[keyof PushCase['headers'], HeaderChange | undefined]>) {
    if (!change) continue;
    const v = values[name] ?? '';
    if (change.op === 'drop') values[name] = undefined;
    else if (change.op === 'upper') values[name] = v.toUpperCase();
    else if (change.op === 'set') values[name] = change.value;
    else if (change.op === 'shift') values[name] = /^\d+$/.test(v) ? String(Number(v) + change.ms) : v;
    else values[name] = name === 'sign' ? signKitBody(KIT_KEY, nonce, timestamp, validBody()) : v;
  }
  const headers: Record<string, string> = {};
  if (values['contentType'] !== undefined) headers['content-type'] = values['contentType'];
  if (values['timestamp'] !== undefined) headers['x-timestamp'] = values['timestamp'];
  if (values['nonce'] !== undefined) headers['x-nonce'] = values['nonce'];
  if (values['sign'] !== undefined) headers['x-sign'] = values['sign'];
  return { path: `/produceAPI/v2/${c.path ?? 'tenantSync'}`, headers, body };
}

/** the oracle: whether x-sign is the kit signature of exactly the body sent */
export function signatureIsValid(m: Materialized): boolean {
  const { 'x-nonce': nonce, 'x-timestamp': timestamp, 'x-sign': sign } = m.headers;
  if (nonce === undefined || timestamp === undefined || sign === undefined) return false;
  try {
    return signatureMatches(sign.trim(), signKitBody(KIT_KEY, nonce.trim(), timestamp.trim(), m.body));
  } catch {
    return false;
  }
}

export interface RawAnswer {
  status: number;
  body: string;
}

/** one request on its own connection; status 0 when the server closed without an answer */
export function sendRaw(port: number, m: Materialized): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (a: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (a instanceof Error) reject(a);
      else resolve(a);
    };
    const timer = setTimeout(() => done(new Error(`no answer within 10 s to ${m.path}`)), 10_000);
    const parse = (final: boolean) => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return final ? done({ status: 0, body: '' }) : undefined;
      const head = all.subarray(0, end).toString('latin1');
      const status = Number(head.split(' ')[1]);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      const body = all.subarray(end + 4);
      if (body.length >= length || final) done({ status, body: body.subarray(0, length).toString('utf8') });
    };
    socket.on('data', (d) => {
      chunks.push(d);
      parse(false);
    });
    socket.on('close', () => parse(true));
    socket.on('error', () => parse(true));
    const headers = { host: '127.0.0.1', ...m.headers, 'content-length': String(m.body.length), connection: 'close' };
    socket.write(Buffer.concat([Buffer.from(`POST ${m.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`, 'latin1'), m.body]));
  });
}

export async function sendCase(base: string, c: PushCase): Promise<RawAnswer & { request: Materialized }> {
  const request = materialize(c);
  return { ...(await sendRaw(Number(new URL(base).port), request)), request };
}

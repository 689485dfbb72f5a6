// Header checks, the replay window and x-sign verification (spec §4, §4.3). Pure except for the
// nonce cache, which lives in the store so every instance sees the same nonces.
import type { Store } from '../store/store.ts';
import { keysOf, keyspace } from '../store/keyspace.ts';
import { canonicalize, parseJson, type JsonNode } from './canonical-json.ts';
import { RESULT, SyncError } from './errors.ts';
import { kitSignatureHex, signatureMatches } from './signature.ts';

export interface SignedHeaders {
  timestamp: string;
  nonce: string;
  sign: string;
}

export interface WindowSettings {
  replayWindowMs: number;
  maxFutureSkewMs: number;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
}

/** Same order and codes as the sample: timestamp and nonce problems 000002, signature 000001. */
export function checkHeaders(headers: Record<string, string | string[] | undefined>, nowMs: number, w: WindowSettings): SignedHeaders {
  const timestamp = header(headers, 'x-timestamp');
  if (!timestamp) throw new SyncError(RESULT.invalidParam, 'param is invalid: x-timestamp header is missing');
  if (!/^\d{1,16}$/.test(timestamp)) throw new SyncError(RESULT.invalidParam, 'param is invalid: x-timestamp must be epoch milliseconds');
  const age = nowMs - Number(timestamp);
  if (age > w.replayWindowMs) throw new SyncError(RESULT.invalidParam, `param is invalid: x-timestamp is more than ${w.replayWindowMs / 1000} s old`);
  if (-age > w.maxFutureSkewMs) throw new SyncError(RESULT.invalidParam, `param is invalid: x-timestamp is more than ${w.maxFutureSkewMs / 1000} s in the future`);
  const nonce = header(headers, 'x-nonce');
  if (!nonce) throw new SyncError(RESULT.invalidParam, 'param is invalid: x-nonce header is missing');
  if (nonce.length > 256) throw new SyncError(RESULT.invalidParam, 'param is invalid: x-nonce is longer than 256 characters');
  const sign = header(headers, 'x-sign');
  if (!sign) throw new SyncError(RESULT.authFailed, 'token is invalid: x-sign header is missing');
  // checked before the body is read: an HMAC-SHA256 in hex or nothing
  if (!/^[0-9a-fA-F]{64}$/.test(sign)) throw new SyncError(RESULT.authFailed, 'token is invalid: x-sign must be 64 hex digits (HMAC-SHA256)');
  return { timestamp, nonce, sign };
}

/** Parses the raw body (000002 when it is not a JSON object) and checks x-sign (000001). */
export function verifySignedBody(raw: Buffer, h: SignedHeaders, accessKey: string, maxNodes = Infinity): JsonNode {
  let root: JsonNode;
  try {
    root = parseJson(raw, { maxNodes });
  } catch (e) {
    throw new SyncError(RESULT.invalidParam, `param is invalid: ${(e as Error).message}`, { cause: e });
  }
  const expected = kitSignatureHex(accessKey, h.nonce, h.timestamp, canonicalize(root));
  if (!signatureMatches(h.sign, expected)) throw new SyncError(RESULT.authFailed, 'token is invalid: x-sign does not match');
  return root;
}

/** Remembers a nonce for as long as its timestamp could be accepted; a repeat is a replay. */
export async function rememberNonce(store: Store, nonce: string, w: WindowSettings): Promise<void> {
  const fresh = await keysOf(store).put(keyspace.syncNonce.key(nonce), '1', w.replayWindowMs + w.maxFutureSkewMs + 1000, { ifAbsent: true });
  if (!fresh) throw new SyncError(RESULT.authFailed, 'token is invalid: x-nonce was already used');
}

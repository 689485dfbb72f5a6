// Request signatures of the marketplace: kit V2 headers (spec §4) and the basic interface's URL
// parameters (spec §6). Both sign a Jackson-style canonical form of the body, not the raw bytes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalize, javaUtf8, parseJson } from './canonical-json.ts';
import type { JsonNode } from './canonical-json.ts';

/** A basic-interface body the sample cannot bind to Map<String,String> (HTTP 400 there). */
export class BasicBodyError extends Error {
  override readonly name = 'BasicBodyError';
  readonly resultCode = '000002';
  constructor(message: string) {
    super(message);
  }
}

/** x-sign: lower-case hex HMAC-SHA256(key, key + nonce + timestamp + canonical), Java UTF-8 throughout. */
export function kitSignatureHex(key: string, nonce: string, timestamp: string, canonical: string): string {
  return hmacHex(key, key + nonce + timestamp + canonical);
}

/** Parses, canonicalizes and signs a kit body; throws JsonSyntaxError for bodies the sample rejects. */
export function signKitBody(key: string, nonce: string, timestamp: string, rawBody: Buffer | string): string {
  return kitSignatureHex(key, nonce, timestamp, canonicalize(parseJson(rawBody)));
}

/** Case-insensitive, constant-time comparison of hex signatures; malformed input is simply no match. */
export function signatureMatches(given: string, expectedHex: string): boolean {
  const hex = /^(?:[0-9a-fA-F]{2})+$/;
  if (!hex.test(given) || !hex.test(expectedHex) || given.length !== expectedHex.length) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expectedHex, 'hex'));
}

/**
 * The basic interface's canonical form: the sample binds the body to Map<String,String>, so every
 * top-level value must be a scalar and numbers/booleans become their source text (`1.50` stays
 * "1.50"); then sorted, top-level nulls dropped, everything serialized as JSON strings.
 */
export function basicCanonical(root: JsonNode): string {
  if (root.kind !== 'object') throw new BasicBodyError('the body must be a JSON object');
  const entries = root.entries.map(([key, value]): [string, JsonNode] => [key, asBasicValue(key, value)]);
  return canonicalize({ kind: 'object', entries }); // sorts and drops the nulls
}

function asBasicValue(key: string, value: JsonNode): JsonNode {
  switch (value.kind) {
    case 'object':
    case 'array':
      throw new BasicBodyError(`member ${JSON.stringify(key)} is an ${value.kind}; the basic interface accepts scalar values only`);
    case 'number':
      return { kind: 'string', value: value.text };
    case 'boolean':
      return { kind: 'string', value: String(value.value) };
    case 'string':
    case 'null':
      return value;
  }
}

/** signature = hex HMAC(key, key + nonce + timestamp + hex HMAC(key, canonical)). */
export function basicSignatureHex(key: string, nonce: string, timestamp: string, rawBody: Buffer | string): string {
  const bodyMac = hmacHex(key, basicCanonical(parseJson(rawBody)));
  return hmacHex(key, key + nonce + timestamp + bodyMac);
}

function hmacHex(key: string, message: string): string {
  return createHmac('sha256', javaUtf8(key)).update(javaUtf8(message)).digest('hex');
}

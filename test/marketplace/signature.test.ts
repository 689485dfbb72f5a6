import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, javaUtf8, JsonSyntaxError, parseJson } from '../../src/marketplace/canonical-json.ts';
import {
  BasicBodyError,
  basicCanonical,
  basicSignatureHex,
  kitSignatureHex,
  signatureMatches,
  signKitBody,
} from '../../src/marketplace/signature.ts';

interface BodyVector {
  name: string;
  key: string;
  nonce: string;
  timestamp: string;
  body: string;
  body_utf8_b64: string;
  expect: 'verify' | 'reject';
  canonical?: string;
  canonical_utf8_b64?: string;
}

interface KitVector extends BodyVector {
  signed_string_prefix?: string;
  x_sign_hex?: string;
}

interface BasicVector extends BodyVector {
  canonical_hmac_hex?: string;
  signed_string?: string;
  signature_hex?: string;
}

function vectors<T>(file: string): T[] {
  const url = new URL(`../fixtures/vectors/${file}`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { vectors: T[] }).vectors;
}

function required(value: string | undefined, field: string): string {
  assert.equal(typeof value, 'string', `vector field ${field} missing`);
  return value ?? '';
}

/** The body as sent on the wire (bytes) and as a string: both must behave the same. */
function bodies(v: BodyVector): Array<Buffer | string> {
  const bytes = Buffer.from(v.body_utf8_b64, 'base64');
  assert.deepEqual(bytes, Buffer.from(v.body, 'utf8'), 'vector body and body_utf8_b64 disagree');
  return [v.body, bytes];
}

describe('kit-sync-signature.json vectors', () => {
  for (const v of vectors<KitVector>('kit-sync-signature.json')) {
    it(v.name, () => {
      if (v.expect === 'reject') {
        for (const body of bodies(v)) {
          assert.throws(() => parseJson(body), JsonSyntaxError);
          assert.throws(() => signKitBody(v.key, v.nonce, v.timestamp, body), JsonSyntaxError);
        }
        return;
      }
      const canonical = required(v.canonical, 'canonical');
      const xSign = required(v.x_sign_hex, 'x_sign_hex');
      assert.equal(required(v.signed_string_prefix, 'signed_string_prefix'), v.key + v.nonce + v.timestamp);
      for (const body of bodies(v)) {
        assert.equal(canonicalize(parseJson(body)), canonical);
        assert.equal(signKitBody(v.key, v.nonce, v.timestamp, body), xSign);
      }
      assert.deepEqual(javaUtf8(canonical), Buffer.from(required(v.canonical_utf8_b64, 'canonical_utf8_b64'), 'base64'));
      const expected = kitSignatureHex(v.key, v.nonce, v.timestamp, canonical);
      assert.equal(expected, xSign);
      assert.ok(signatureMatches(xSign, expected));
      assert.ok(signatureMatches(xSign.toUpperCase(), expected), 'upper-case x-sign must verify');
    });
  }
});

describe('basic-interface-signature.json vectors', () => {
  for (const v of vectors<BasicVector>('basic-interface-signature.json')) {
    it(v.name, () => {
      if (v.expect === 'reject') {
        for (const body of bodies(v)) {
          assert.throws(() => basicCanonical(parseJson(body)), BasicBodyError);
          assert.throws(() => basicSignatureHex(v.key, v.nonce, v.timestamp, body), BasicBodyError);
        }
        return;
      }
      const canonical = required(v.canonical, 'canonical');
      const bodyMac = required(v.canonical_hmac_hex, 'canonical_hmac_hex');
      const signature = required(v.signature_hex, 'signature_hex');
      assert.deepEqual(javaUtf8(canonical), Buffer.from(required(v.canonical_utf8_b64, 'canonical_utf8_b64'), 'base64'));
      assert.equal(createHmac('sha256', v.key).update(javaUtf8(canonical)).digest('hex'), bodyMac);
      assert.equal(required(v.signed_string, 'signed_string'), v.key + v.nonce + v.timestamp + bodyMac);
      for (const body of bodies(v)) {
        assert.equal(basicCanonical(parseJson(body)), canonical);
        assert.equal(basicSignatureHex(v.key, v.nonce, v.timestamp, body), signature);
      }
      assert.ok(signatureMatches(signature.toUpperCase(), signature));
    });
  }
});

describe('kit signature rules', () => {
  const key = 'k3y';
  const nonce = 'N0NCE';
  const ts = '1680508066618';

  it('signs key + nonce + timestamp + canonical with the key as HMAC key', () => {
    const canonical = '{"a":1}';
    const expected = createHmac('sha256', key).update(key + nonce + ts + canonical).digest('hex');
    assert.equal(kitSignatureHex(key, nonce, ts, canonical), expected);
    assert.equal(signKitBody(key, nonce, ts, ' { "a" : 1 , "b" : null } '), expected);
  });

  it('encodes lone surrogates as ? like Java, in the message and in the key', () => {
    assert.equal(kitSignatureHex(key, nonce, ts, '{"a":"x\ud800"}'), kitSignatureHex(key, nonce, ts, '{"a":"x?"}'));
    assert.equal(signKitBody(key, nonce, ts, '{"a":"x\\ud800"}'), kitSignatureHex(key, nonce, ts, '{"a":"x?"}'));
    assert.equal(kitSignatureHex('k\udc00', nonce, ts, '{}'), kitSignatureHex('k?', nonce, ts, '{}'));
  });

  it('signs a body with a non-ASCII key as UTF-8', () => {
    const expected = createHmac('sha256', Buffer.from('密钥', 'utf8')).update(Buffer.from('密钥' + nonce + ts + '{}', 'utf8')).digest('hex');
    assert.equal(kitSignatureHex('密钥', nonce, ts, '{}'), expected);
  });
});

describe('signatureMatches', () => {
  const expected = createHmac('sha256', 'k').update('m').digest('hex');

  it('accepts any letter case', () => {
    assert.ok(signatureMatches(expected, expected));
    assert.ok(signatureMatches(expected.toUpperCase(), expected));
    assert.ok(signatureMatches(expected, expected.toUpperCase()));
  });

  it('rejects a different signature of the same length', () => {
    const other = (expected.startsWith('0') ? '1' : '0') + expected.slice(1);
    assert.equal(signatureMatches(other, expected), false);
  });

  it('returns false for a wrong length without throwing', () => {
    assert.equal(signatureMatches(expected.slice(0, -2), expected), false);
    assert.equal(signatureMatches(`${expected}00`, expected), false);
    assert.equal(signatureMatches(expected.slice(0, -1), expected), false);
    assert.equal(signatureMatches('', expected), false);
  });

  it('returns false for non-hex input without throwing', () => {
    assert.equal(signatureMatches('g'.repeat(64), expected), false);
    assert.equal(signatureMatches(`${expected.slice(0, -1)} `, expected), false);
    assert.equal(signatureMatches(` ${expected}`, expected), false);
    assert.equal(signatureMatches('é'.repeat(64), expected), false);
    assert.equal(signatureMatches(expected, 'not hex'), false);
  });
});

describe('basic canonical form', () => {
  it('turns scalars into their source text and drops nulls', () => {
    const root = parseJson('{"z":-0,"y":1E+3,"x":false,"w":null,"v":"s","u":12345678901234567890}');
    assert.equal(basicCanonical(root), '{"u":"12345678901234567890","v":"s","x":"false","y":"1E+3","z":"-0"}');
  });

  it('rejects nested values with a typed error', () => {
    for (const body of ['{"a":{}}', '{"a":[]}', '{"a":"x","b":[1]}']) {
      assert.throws(
        () => basicCanonical(parseJson(body)),
        (error: unknown) => error instanceof BasicBodyError && error.name === 'BasicBodyError' && error.resultCode === '000002',
      );
    }
  });

  it('computes the documented double HMAC', () => {
    const body = '{"b":"2","a":1}';
    const mac = createHmac('sha256', 'key').update('{"a":"1","b":"2"}').digest('hex');
    const expected = createHmac('sha256', 'key').update(`keyn1${mac}`).digest('hex');
    assert.equal(basicSignatureHex('key', 'n', '1', body), expected);
  });
});

import { constants, createHash, createPrivateKey, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClientSecretError,
  ClientSecretKeyError,
  decryptClientSecret,
  encryptClientSecret,
  generateSellerKeyPair,
  keyBits,
  loadClientSecretKey,
} from '../../src/marketplace/client-secret.ts';

interface OaepVector {
  name: string;
  ciphertext_b64: string;
  expect_decrypt_ok: boolean;
  plaintext?: string;
  plaintext_utf8_hex?: string;
  expected_sample_result_code?: string;
}

interface OaepKey {
  modulus_bits: number;
  private_key_pkcs8_b64: string;
  private_key_pkcs8_pem: string;
  public_key_spki_b64: string;
  public_key_spki_pem: string;
  max_plaintext_bytes: number;
  vectors: OaepVector[];
}

const keys = (
  JSON.parse(readFileSync(new URL('../fixtures/vectors/clientsecret-rsa-oaep.json', import.meta.url), 'utf8')) as { keys: OaepKey[] }
).keys;

function isClientSecretError(error: unknown): boolean {
  return error instanceof ClientSecretError && error.name === 'ClientSecretError' && error.resultCode === '000101' && error.message === 'clientSecret could not be decrypted';
}

function vectorNamed(key: OaepKey, name: string): OaepVector {
  const vector = key.vectors.find((v) => v.name === name);
  assert.ok(vector, `vector ${name} missing`);
  return vector;
}

/**
 * Independent OAEP (SHA-256, MGF1-SHA-1) of arbitrary bytes, to produce ciphertexts that
 * encryptClientSecret cannot: invalid UTF-8, or an encoding broken in exactly one place.
 */
function encryptBytes(publicKey: KeyObject, message: Buffer, breakIt: { firstByte?: number; db?: (db: Buffer) => void } = {}): Buffer {
  const k = Math.ceil(keyBits(publicKey) / 8);
  const mgf1 = (seed: Buffer, length: number): Buffer => {
    const out: Buffer[] = [];
    for (let i = 0; out.length * 20 < length; i++) out.push(createHash('sha1').update(Buffer.concat([seed, Buffer.from([0, 0, 0, i])])).digest());
    return Buffer.concat(out).subarray(0, length);
  };
  const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((x, i) => x ^ (b[i] ?? 0)));
  const db = Buffer.concat([createHash('sha256').digest(), Buffer.alloc(k - message.length - 66), Buffer.from([1]), message]);
  breakIt.db?.(db);
  const seed = randomBytes(32);
  const maskedDb = xor(db, mgf1(seed, db.length));
  const em = Buffer.concat([Buffer.from([breakIt.firstByte ?? 0]), xor(seed, mgf1(maskedDb, 32)), maskedDb]);
  return publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, em);
}

for (const key of keys) {
  for (const form of ['private_key_pkcs8_b64', 'private_key_pkcs8_pem'] as const) {
    describe(`clientsecret-rsa-oaep.json ${key.modulus_bits}-bit key, ${form}`, () => {
      const privateKey = loadClientSecretKey(key[form]);

      it('loads as an RSA key of the documented size', () => {
        assert.equal(keyBits(privateKey), key.modulus_bits);
      });

      for (const v of key.vectors) {
        it(v.name, () => {
          if (v.expect_decrypt_ok) {
            const plaintext = decryptClientSecret(privateKey, v.ciphertext_b64);
            assert.equal(plaintext, v.plaintext);
            assert.equal(Buffer.from(plaintext, 'utf8').toString('hex'), v.plaintext_utf8_hex);
          } else {
            assert.equal(v.expected_sample_result_code, '000101');
            assert.throws(() => decryptClientSecret(privateKey, v.ciphertext_b64), isClientSecretError);
          }
        });
      }
    });
  }
}

describe('loadClientSecretKey', () => {
  const [key] = keys;
  assert.ok(key);
  const typical = vectorNamed(key, 'typical_hex_secret');

  it('accepts the PKCS#8 Base64 with line breaks and spaces', () => {
    const wrapped = ` ${(key.private_key_pkcs8_b64.match(/.{1,64}/g) ?? []).join('\r\n')}\n`;
    assert.equal(decryptClientSecret(loadClientSecretKey(wrapped), typical.ciphertext_b64), typical.plaintext);
  });

  it('accepts a PKCS#1 "BEGIN RSA PRIVATE KEY" PEM', () => {
    const pkcs1 = createPrivateKey({ key: key.private_key_pkcs8_pem, format: 'pem' }).export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
    assert.equal(decryptClientSecret(loadClientSecretKey(pkcs1), typical.ciphertext_b64), typical.plaintext);
  });

  it('rejects non-keys, public keys and non-RSA keys without echoing key material', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const encrypted = createPrivateKey(key.private_key_pkcs8_pem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString();
    const inputs = [
      '',
      'not a key',
      key.private_key_pkcs8_b64.slice(0, 200),
      key.public_key_spki_b64,
      key.public_key_spki_pem,
      encrypted,
      ec.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ec.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    ];
    for (const input of inputs) {
      assert.throws(
        () => loadClientSecretKey(input),
        (error: unknown) =>
          error instanceof ClientSecretKeyError &&
          error.name === 'ClientSecretKeyError' &&
          error.resultCode === '000101' &&
          !error.message.includes(input.slice(0, 40).trim() || '\u0000'),
      );
    }
  });
});

describe('decryptClientSecret failures', () => {
  const [key] = keys;
  assert.ok(key);
  const privateKey = loadClientSecretKey(key.private_key_pkcs8_b64);
  const typical = vectorNamed(key, 'typical_hex_secret');
  const ciphertext = Buffer.from(typical.ciphertext_b64, 'base64');

  it('rejects a tampered ciphertext', () => {
    for (const index of [0, 1, ciphertext.length >> 1, ciphertext.length - 1]) {
      const tampered = Buffer.from(ciphertext);
      tampered[index] = (tampered[index] ?? 0) ^ 0x01;
      assert.throws(() => decryptClientSecret(privateKey, tampered.toString('base64')), isClientSecretError);
    }
  });

  it('rejects ciphertexts longer than the modulus or not below it', () => {
    const k = key.modulus_bits / 8;
    assert.throws(() => decryptClientSecret(privateKey, Buffer.concat([Buffer.from([0]), ciphertext]).toString('base64')), isClientSecretError);
    assert.throws(() => decryptClientSecret(privateKey, Buffer.alloc(k, 0xff).toString('base64')), isClientSecretError);
  });

  it('rejects missing, empty and non-string values', () => {
    for (const value of [undefined, null, '', '====', 'null', 42, {}, [typical.ciphertext_b64], Buffer.from(typical.ciphertext_b64)]) {
      assert.throws(() => decryptClientSecret(privateKey, value), isClientSecretError);
    }
  });

  it('rejects a plaintext that is not valid UTF-8', () => {
    const publicKey = createPrivateKey(key.private_key_pkcs8_pem);
    const ok = encryptBytes(publicKey, Buffer.from('abc'));
    assert.equal(decryptClientSecret(privateKey, ok.toString('base64')), 'abc');
    for (const bytes of [[0xff], [0x61, 0xc3], [0xed, 0xa0, 0x80]]) {
      assert.throws(() => decryptClientSecret(privateKey, encryptBytes(publicKey, Buffer.from(bytes)).toString('base64')), isClientSecretError);
    }
  });

  it('rejects an encoding broken in exactly one place', () => {
    const publicKey = createPrivateKey(key.private_key_pkcs8_pem);
    const decrypt = (ct: Buffer): string => decryptClientSecret(privateKey, ct.toString('base64'));
    const separatorAt = key.modulus_bits / 8 - 33 - 1; // DB index of 0x01 before an empty message
    assert.equal(decrypt(encryptBytes(publicKey, Buffer.alloc(0))), '');
    const broken: Record<string, Parameters<typeof encryptBytes>[2]> = {
      'first byte not zero': { firstByte: 1 },
      'label hash differs': { db: (db) => void (db[0] = (db[0] ?? 0) ^ 1) },
      'no 0x01 separator': { db: (db) => void (db[separatorAt] = 0) },
      'non-zero padding byte before the separator': { db: (db) => void (db[40] = 2) },
    };
    for (const [what, breakIt] of Object.entries(broken)) {
      assert.throws(() => decrypt(encryptBytes(publicKey, Buffer.alloc(0), breakIt)), isClientSecretError, what);
    }
  });

  it("rejects Node's own OAEP with SHA-256 for both digests", () => {
    const ct = publicEncrypt({ key: key.public_key_spki_pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('x'));
    assert.throws(() => decryptClientSecret(privateKey, ct.toString('base64')), isClientSecretError);
  });

  it('reads a ciphertext shorter than the modulus as a big-endian integer, like Java', () => {
    const publicKey = createPrivateKey(key.private_key_pkcs8_pem);
    let ct = encryptBytes(publicKey, Buffer.from('short'));
    while (ct[0] !== 0) ct = encryptBytes(publicKey, Buffer.from('short'));
    assert.equal(decryptClientSecret(privateKey, ct.subarray(1).toString('base64')), 'short');
  });

  it('decodes Base64 leniently like commons-codec: URL-safe alphabet, junk skipped, first "=" ends the data', () => {
    const urlSafe = typical.ciphertext_b64.replace(/\+/g, '-').replace(/\//g, '_');
    assert.equal(decryptClientSecret(privateKey, `*${urlSafe}=junk`), typical.plaintext);
  });
});

describe('encryptClientSecret', () => {
  for (const key of keys) {
    const privateKey = loadClientSecretKey(key.private_key_pkcs8_b64);

    it(`round-trips with the ${key.modulus_bits}-bit vector key (SPKI Base64 and PEM)`, () => {
      for (const publicKey of [key.public_key_spki_b64, key.public_key_spki_pem]) {
        for (const secret of ['9f2c4e1a7b3d5c8e0f6a2b4c6d8e0f1a', '', '密钥-😀', 'x'.repeat(key.max_plaintext_bytes)]) {
          const ciphertext = encryptClientSecret(publicKey, secret);
          assert.equal(Buffer.from(ciphertext, 'base64').length, key.modulus_bits / 8);
          assert.equal(decryptClientSecret(privateKey, ciphertext), secret);
        }
      }
    });

    it(`uses MGF1-SHA-1: Node's single-digest OAEP cannot decrypt it (${key.modulus_bits}-bit)`, () => {
      const ciphertext = Buffer.from(encryptClientSecret(key.public_key_spki_pem, 'secret'), 'base64');
      assert.throws(() => privateDecrypt({ key: key.private_key_pkcs8_pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ciphertext));
    });

    it(`refuses plaintexts over ${key.max_plaintext_bytes} bytes`, () => {
      assert.throws(() => encryptClientSecret(key.public_key_spki_b64, 'x'.repeat(key.max_plaintext_bytes + 1)), RangeError);
      assert.throws(() => encryptClientSecret(key.public_key_spki_b64, '中'.repeat(Math.ceil((key.max_plaintext_bytes + 1) / 3))), RangeError);
    });
  }

  it('is randomized', () => {
    const [key] = keys;
    assert.ok(key);
    assert.notEqual(encryptClientSecret(key.public_key_spki_b64, 's'), encryptClientSecret(key.public_key_spki_b64, 's'));
  });

  it('rejects an unusable public key with ClientSecretKeyError', () => {
    assert.throws(() => encryptClientSecret('not a key', 's'), ClientSecretKeyError);
  });
});

describe('generateSellerKeyPair', () => {
  it('produces a 3072-bit key pair by default that round-trips in every format', () => {
    const pair = generateSellerKeyPair();
    assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(pair.publicKeySpkiB64, /^[A-Za-z0-9+/]+=*$/);
    assert.match(pair.privateKeyPkcs8B64, /^[A-Za-z0-9+/]+=*$/);
    for (const privateText of [pair.privateKeyPkcs8B64, pair.privateKeyPem]) {
      const privateKey = loadClientSecretKey(privateText);
      assert.ok(keyBits(privateKey) >= 3072);
      for (const publicText of [pair.publicKeySpkiB64, pair.publicKeyPem]) {
        assert.equal(decryptClientSecret(privateKey, encryptClientSecret(publicText, 'client-secret-é')), 'client-secret-é');
      }
    }
  });

  it('refuses keys below 3072 bits unless allowWeak is set', () => {
    assert.throws(() => generateSellerKeyPair(2048), RangeError);
    assert.throws(() => generateSellerKeyPair(3072.5), RangeError);
    const weak = generateSellerKeyPair(2048, { allowWeak: true });
    assert.equal(keyBits(loadClientSecretKey(weak.privateKeyPkcs8B64)), 2048);
  });
});

// applicationSync's clientSecret is RSA-OAEP encrypted with the seller's public key (spec §9):
// OAEP hash SHA-256 but MGF1 with SHA-1 and an empty label (SunJCE's defaults for
// "OAEPWithSHA-256AndMGF1Padding"). Node's OAEP support uses one digest for both, so the
// padding is done here around raw RSA (RSA_NO_PADDING).
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { javaUtf8 } from './canonical-json.ts';

/** The clientSecret cannot be decrypted. One message for every cause: no padding oracle, no secrets. */
export class ClientSecretError extends Error {
  override readonly name = 'ClientSecretError';
  readonly resultCode = '000101';
  constructor() {
    super('clientSecret could not be decrypted');
  }
}

/** The configured key is unusable. Messages never contain key material. */
export class ClientSecretKeyError extends Error {
  override readonly name = 'ClientSecretKeyError';
  readonly resultCode = '000101';
  constructor(message: string) {
    super(message);
  }
}

export interface SellerKeyPair {
  publicKeySpkiB64: string;
  publicKeyPem: string;
  privateKeyPkcs8B64: string;
  privateKeyPem: string;
}

const HASH_LEN = 32; // SHA-256
const LABEL_HASH = createHash('sha256').digest(); // SHA-256 of the empty label
const MIN_KEY_BITS = 3072; // documented minimum for the marketplace's public key

/** Base64 of PKCS#8 DER (the sample's `private_key` setting; line breaks allowed) or a PEM private key. */
export function loadClientSecretKey(text: string): KeyObject {
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN')
      ? createPrivateKey({ key: text, format: 'pem' })
      : createPrivateKey({ key: lenientBase64(text), format: 'der', type: 'pkcs8' });
  } catch {
    throw new ClientSecretKeyError('clientSecret key: expected Base64 of a PKCS#8 DER private key or an unencrypted PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new ClientSecretKeyError(`clientSecret key: expected an RSA private key, got ${key.asymmetricKeyType ?? 'an unknown type'}`);
  }
  return key;
}

/** Modulus length of an RSA key in bits. */
export function keyBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined) throw new ClientSecretKeyError('expected an RSA key');
  return bits;
}

/** Decrypts the Base64 clientSecret; anything that is not a valid ciphertext of UTF-8 text throws ClientSecretError. */
export function decryptClientSecret(key: KeyObject, ciphertextB64: unknown): string {
  if (typeof ciphertextB64 !== 'string') throw new ClientSecretError();
  const k = Math.ceil(keyBits(key) / 8);
  const ciphertext = lenientBase64(ciphertextB64);
  if (ciphertext.length === 0 || ciphertext.length > k || k < 2 * HASH_LEN + 2) throw new ClientSecretError();
  let em: Buffer;
  try {
    // Java reads a short ciphertext as a big-endian integer, i.e. left-padded with zeros.
    em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.alloc(k - ciphertext.length), ciphertext]));
  } catch {
    throw new ClientSecretError(); // ciphertext not below the modulus
  }
  const message = oaepDecode(em, k);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(message);
  } catch {
    throw new ClientSecretError();
  }
}

/** The marketplace side, for tests and the sandbox: Base64 of RSA-OAEP(SHA-256, MGF1-SHA-1) of the UTF-8 text. */
export function encryptClientSecret(publicKey: KeyObject | string, plaintext: string): string {
  const key = typeof publicKey === 'string' ? loadPublicKey(publicKey) : publicKey;
  const k = Math.ceil(keyBits(key) / 8);
  const message = javaUtf8(plaintext); // the marketplace encodes with Java
  const maxLength = k - 2 * HASH_LEN - 2;
  if (message.length > maxLength) throw new RangeError(`clientSecret too long: at most ${maxLength} UTF-8 bytes for this key`);
  const db = Buffer.concat([LABEL_HASH, Buffer.alloc(maxLength - message.length), Buffer.from([1]), message]);
  const seed = randomBytes(HASH_LEN);
  const maskedDb = xor(db, mgf1Sha1(seed, db.length));
  const maskedSeed = xor(seed, mgf1Sha1(maskedDb, HASH_LEN));
  const em = Buffer.concat([Buffer.from([0]), maskedSeed, maskedDb]);
  return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, em).toString('base64');
}

/** A key pair for the seller's app credential: the public key goes to KooGallery, the private key to our config. */
export function generateSellerKeyPair(bits = MIN_KEY_BITS, options: { allowWeak?: boolean } = {}): SellerKeyPair {
  if (!Number.isInteger(bits) || (bits < MIN_KEY_BITS && options.allowWeak !== true)) {
    throw new RangeError(`RSA key size must be an integer of at least ${MIN_KEY_BITS} bits (KooGallery's minimum)`);
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    publicKeySpkiB64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPkcs8B64: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Base64 of SPKI DER, or any PEM Node accepts for a public key. */
function loadPublicKey(text: string): KeyObject {
  try {
    return text.includes('-----BEGIN')
      ? createPublicKey({ key: text, format: 'pem' })
      : createPublicKey({ key: lenientBase64(text), format: 'der', type: 'spki' });
  } catch {
    throw new ClientSecretKeyError('public key: expected Base64 of an SPKI DER public key or a PEM public key');
  }
}

/**
 * RFC 8017 §7.1.2 step 3. Every check runs over all bytes and only sets flags; the single
 * decision at the end keeps the timing independent of which check failed (Manger's attack).
 * (Best effort: JavaScript gives no hard constant-time guarantees.)
 */
function oaepDecode(em: Buffer, k: number): Buffer {
  const maskedSeed = em.subarray(1, 1 + HASH_LEN);
  const maskedDb = em.subarray(1 + HASH_LEN);
  const seed = xor(maskedSeed, mgf1Sha1(maskedDb, HASH_LEN));
  const db = xor(maskedDb, mgf1Sha1(seed, k - HASH_LEN - 1));
  let bad = Number(em.length !== k) | em.readUInt8(0) | Number(!timingSafeEqual(db.subarray(0, HASH_LEN), LABEL_HASH));
  let looking = 1; // still inside the zero padding, before the 0x01 separator
  let separator = 0;
  for (let i = HASH_LEN; i < db.length; i++) {
    const b = db.readUInt8(i);
    const isOne = isZeroByte(b ^ 1);
    const isZero = isZeroByte(b);
    separator |= -(looking & isOne) & i;
    bad |= looking & ((isOne | isZero) ^ 1); // neither padding nor separator
    looking &= isOne ^ 1;
  }
  bad |= looking;
  if (bad !== 0) throw new ClientSecretError();
  return db.subarray(separator + 1);
}

/** 1 when the byte is 0, else 0, without a branch. */
function isZeroByte(b: number): number {
  return (b - 1) >>> 31;
}

function mgf1Sha1(seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let i = 0; i * 20 < length; i++) {
    counter.writeUInt32BE(i);
    blocks.push(createHash('sha1').update(seed).update(counter).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a.readUInt8(i) ^ b.readUInt8(i);
  return out;
}

/**
 * Base64 as commons-codec decodes it: both alphabets, characters outside them skipped (so MIME
 * line breaks are harmless), the first '=' ends the data.
 */
function lenientBase64(text: string): Buffer {
  const end = text.indexOf('=');
  return Buffer.from((end === -1 ? text : text.slice(0, end)).replace(/[^A-Za-z0-9+/_-]/g, ''), 'base64');
}

// The identity-token signing keys: one key set shared by every instance on a store.
//
// Each key is a document in `system:signing-keys` (id = kid = RFC 7638 thumbprint): the public JWK
// in clear, the private JWK sealed at rest (AAD binds the kid). Keys never change once written;
// the timeline follows from their `signsFrom` times alone, so every instance computes the same
// signer and the same JWKS without coordination:
//   * the set signs with several algorithms (the configured one for identity tokens, plus RS256
//     that OpenID Connect relying parties expect by default); each has its own timeline, rotated
//     on the same schedule;
//   * keys are ordered by (signsFrom, kid); an algorithm's signer is the last key of it whose
//     signsFrom has come;
//   * a key stops signing when the next one of its algorithm starts (a key of an algorithm no
//     longer wanted: when the next key of any algorithm starts), and stays published until every
//     token it signed has expired (+ a margin), after which it is dropped and tombstoned;
//   * a rotated-in key is published at once but signs only publishLeadMs later, so relying
//     parties' JWKS caches hold it before the first token that needs it.
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SecretBox } from '../directory/secret-box.ts';
import type { Store } from '../store/store.ts';
import { keysOf, keyspace, type ValueOf } from '../store/keyspace.ts';
import type { SigningAlg } from '../identity/signing.ts';

export type { SigningAlg };

export const KEYS_COLLECTION = keyspace.signingKeys.col;
const ROTATE_LOCK_MS = 60_000;
const RELOAD_MS = 30_000;
/** after a key stops signing: an instance that has not reloaded yet may still sign with it, and clocks differ */
const RETIRE_MARGIN_MS = 2 * RELOAD_MS + 60_000;
const DAY_MS = 86_400_000;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

export interface KeyLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export interface KeyManagerOptions {
  /** signs the identity tokens */
  alg: SigningAlg;
  /** further algorithms the set keeps a signer for (every instance on a store must agree) */
  alsoSign?: readonly SigningAlg[];
  tokenTtlSec: number;
  rotateAfterDays: number;
  /** how long a new key is published before it signs; default 10 min */
  publishLeadMs?: number;
  now?: () => number;
  log?: KeyLog;
}

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

/** where a published key stands in its timeline (epoch ms) */
export interface KeyState {
  kid: string;
  alg: SigningAlg;
  createdAt: number;
  signsFrom: number;
  /** set once a newer key has been scheduled */
  signsUntil?: number;
  publishedUntil?: number;
  signing: boolean;
}

/** the stored document's JSON */
type StoredKey = ValueOf<typeof keyspace.signingKeys>;

interface LoadedKey {
  doc: StoredKey;
  privateJwk: JWK;
  key: CryptoKey;
}

const aad = (kid: string) => `signing-key|${kid}`;
/** what the gateway's key set signs with: the configured algorithm, and RS256 for OpenID Connect */
export function keySetAlgs(alg: SigningAlg): SigningAlg[] {
  return alg === 'RS256' ? ['RS256'] : [alg, 'RS256'];
}

/** fixed width, so the store's string order is time order */
const version = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(17, '0');

export class KeyManager {
  private keys: LoadedKey[] = [];
  private readonly loaded = new Map<string, LoadedKey>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly now: () => number;
  private readonly publishLeadMs: number;
  /** the configured alg first */
  readonly algs: readonly SigningAlg[];

  private constructor(
    private readonly store: Store,
    private readonly atRest: SecretBox,
    private readonly opts: KeyManagerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.publishLeadMs = opts.publishLeadMs ?? 10 * 60_000;
    this.algs = [...new Set([opts.alg, ...(opts.alsoSign ?? [])])];
  }

  static async open(store: Store, atRest: SecretBox, opts: KeyManagerOptions): Promise<KeyManager> {
    const km = new KeyManager(store, atRest, opts);
    // subscribe before the first load, so no change between the two is missed
    km.unsubscribe = await keysOf(store).subscribe(keyspace.keysChanged, () => km.reloadQuietly());
    try {
      await km.reload();
      // first start, or a further algorithm new to the set: usable at once, since no relying
      // party can hold a token signed with it (and they fetch the JWKS again for a kid they do
      // not know). A changed configured alg rotates instead (maintain), with the publication lead.
      const first = km.keys.length === 0;
      for (const alg of km.algs) {
        if ((first || alg !== opts.alg) && !km.keys.some((k) => k.doc.alg === alg)) await km.addKey(alg, km.now());
      }
      await km.maintain(true);
    } catch (err) {
      await km.close();
      throw err;
    }
    km.timer = setInterval(() => void km.tick(), RELOAD_MS).unref();
    return km;
  }

  /** the identity tokens' signer */
  signingKey(): SigningKey {
    const signer = this.signer(this.now(), this.opts.alg);
    return { kid: signer.doc.kid, alg: signer.doc.alg, key: signer.key };
  }

  /** the current signer of one algorithm of the set (OIDC logout tokens follow the client's alg) */
  signingKeyFor(alg: SigningAlg): SigningKey {
    const signer = this.signer(this.now(), alg);
    return { kid: signer.doc.kid, alg: signer.doc.alg, key: signer.key };
  }

  /** the public keys relying parties verify with; the signer first */
  jwks(): { keys: JWK[] } {
    return { keys: this.published().map((k) => withMeta(k.doc.publicJwk, k.doc)) };
  }

  /** the same keys with their private parts, for an embedded OIDC provider (it signs with the first of an alg) */
  privateJwks(): { keys: JWK[] } {
    return { keys: this.published().map((k) => withMeta(k.privateJwk, k.doc)) };
  }

  /** the published keys' timeline, oldest first */
  states(): KeyState[] {
    const now = this.now();
    const signers = new Set(this.algs.map((alg) => this.signer(now, alg)));
    return this.keys
      .map((k) => {
        const signsUntil = this.successor(k)?.doc.signsFrom;
        const publishedUntil = this.publishedUntil(signsUntil);
        return {
          kid: k.doc.kid,
          alg: k.doc.alg,
          createdAt: k.doc.createdAt,
          signsFrom: k.doc.signsFrom,
          ...(signsUntil === undefined ? {} : { signsUntil, publishedUntil }),
          signing: signers.has(k),
        };
      })
      .filter((s) => s.publishedUntil === undefined || now < s.publishedUntil);
  }

  /**
   * publishes a new key of every algorithm of the set (or of `alg` only) now, signing from
   * publishLeadMs on; resolves with the kid of the new key of the configured algorithm (or `alg`)
   */
  async rotate(alg?: SigningAlg): Promise<string> {
    const signsFrom = this.now() + this.publishLeadMs;
    const [first, ...rest] = alg ? [alg] : this.algs;
    const kid = await this.addKey(first!, signsFrom);
    for (const other of rest) await this.addKey(other, signsFrom);
    return kid;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    await unsubscribe?.().catch(() => {});
  }

  /**
   * the last started key of `alg`; while none of it has started (just after the configured alg
   * changed), the last started key of any alg, as before the change
   */
  private signer(now: number, alg: SigningAlg): LoadedKey {
    let own: LoadedKey | undefined;
    let any: LoadedKey | undefined;
    for (const k of this.keys) {
      if (k.doc.signsFrom > now) continue;
      any = k;
      if (k.doc.alg === alg) own = k;
    }
    // only pending keys (cannot happen after open(), which ensures a signer): sign with a published one
    const signer = own ?? any ?? this.keys.find((k) => k.doc.alg === alg) ?? this.keys[0];
    if (!signer) throw new Error('no signing key loaded');
    return signer;
  }

  /** the key that takes over from k */
  private successor(k: LoadedKey): LoadedKey | undefined {
    const i = this.keys.indexOf(k);
    const wanted = this.algs.includes(k.doc.alg);
    return this.keys.slice(i + 1).find((n) => !wanted || n.doc.alg === k.doc.alg);
  }

  /** each alg's signer first (the configured alg's first of all), then the pending and the retiring keys */
  private published(): LoadedKey[] {
    const live = new Set(this.states().map((s) => s.kid));
    const now = this.now();
    const signers = [...new Set(this.algs.map((alg) => this.signer(now, alg)))];
    return [...signers, ...this.keys.filter((k) => !signers.includes(k) && live.has(k.doc.kid))];
  }

  private publishedUntil(signsUntil: number | undefined): number | undefined {
    return signsUntil === undefined ? undefined : signsUntil + this.opts.tokenTtlSec * 1000 + RETIRE_MARGIN_MS;
  }

  private async addKey(alg: SigningAlg, signsFrom: number): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const createdAt = this.now();
    const doc: StoredKey = { kid, alg, createdAt, signsFrom, publicJwk, privateSealed: this.atRest.seal(JSON.stringify(privateJwk), aad(kid)) };
    await this.store.write([keyspace.signingKeys.write(kid, version(createdAt), doc, 'absent')]);
    await this.reload();
    this.opts.log?.info({ kid, alg, signsFrom: new Date(signsFrom).toISOString() }, 'new token signing key published');
    // the others would also see it within RELOAD_MS; the message only makes it immediate
    await keysOf(this.store).publish(keyspace.keysChanged, kid).catch((err: unknown) => this.opts.log?.warn({ err }, 'could not announce the new signing key'));
    return kid;
  }

  /** one load at a time, in order, so a slow older load never overwrites a newer one */
  private reload(): Promise<void> {
    const next = this.chain.then(() => this.load());
    this.chain = next.catch(() => {});
    return next;
  }

  private reloadQuietly(): void {
    this.reload().catch((err: unknown) => this.opts.log?.warn({ err }, 'could not reload the signing keys'));
  }

  private async load(): Promise<void> {
    const docs = await keysOf(this.store).listDocs(keyspace.signingKeys);
    const keys: LoadedKey[] = [];
    for (const d of docs) {
      if (d.value === null) continue;
      keys.push(this.loaded.get(d.id) ?? (await this.openKey(d.value)));
    }
    if (keys.length === 0 && this.keys.length > 0) {
      // never drop to no key at all while serving; a wiped store gets a new key at the next start
      this.opts.log?.warn({ collection: KEYS_COLLECTION }, 'the store holds no signing keys; keeping the ones loaded');
      return;
    }
    keys.sort((a, b) => a.doc.signsFrom - b.doc.signsFrom || (a.doc.kid < b.doc.kid ? -1 : 1));
    this.loaded.clear();
    for (const k of keys) this.loaded.set(k.doc.kid, k);
    this.keys = keys;
  }

  private async openKey(doc: StoredKey): Promise<LoadedKey> {
    let privateJwk: JWK;
    try {
      privateJwk = JSON.parse(this.atRest.open(doc.privateSealed, aad(doc.kid))) as JWK;
    } catch (cause) {
      throw new Error(`signing key ${doc.kid} in the store does not open with this at-rest key (sealed with another session secret?)`, { cause });
    }
    if ((await calculateJwkThumbprint(privateJwk)) !== doc.kid || (await calculateJwkThumbprint(doc.publicJwk)) !== doc.kid) {
      throw new Error(`signing key ${doc.kid} in the store does not match its kid`);
    }
    return { doc: { ...doc, publicJwk: publicPart(doc.publicJwk) }, privateJwk, key: (await importJWK(privateJwk, doc.alg)) as CryptoKey };
  }

  private async tick(): Promise<void> {
    try {
      await this.reload();
      await this.maintain(false);
    } catch (err) {
      this.opts.log?.warn({ err }, 'signing key maintenance failed; will retry');
    }
  }

  /**
   * Drops keys whose tokens have all expired; rotates when the newest key is too old, or at start
   * when it is of another alg than configured (only at start: during a rolling change of the
   * setting, old and new instances would otherwise keep rotating against each other).
   */
  private async maintain(atStart: boolean): Promise<void> {
    const now = this.now();
    const live = new Set(this.states().map((s) => s.kid));
    const expired = this.keys.filter((k) => !live.has(k.doc.kid));
    if (expired.length > 0) {
      await this.store.write(expired.map((k) => keyspace.signingKeys.write(k.doc.kid, version(now), null)));
      await this.reload();
    }
    if (this.rotationsDue(now, atStart).length === 0) return;
    // one instance rotates; the others learn of it from the message
    if (!(await keysOf(this.store).put(keyspace.keyRotationLock.key(), randomUUID(), ROTATE_LOCK_MS, { ifAbsent: true }))) return;
    await this.reload();
    for (const { alg, reason } of this.rotationsDue(now, atStart)) {
      this.opts.log?.info({ alg, reason }, 'rotating the token signing key');
      await this.rotate(alg);
    }
  }

  private rotationsDue(now: number, checkAlg: boolean): Array<{ alg: SigningAlg; reason: string }> {
    const newest = (alg?: SigningAlg) =>
      this.keys.reduce<LoadedKey | undefined>((a, k) => ((alg === undefined || k.doc.alg === alg) && (!a || k.doc.createdAt > a.doc.createdAt) ? k : a), undefined);
    const last = newest();
    if (!last) return [];
    // the configured alg changed: the newest key is of an alg no longer wanted, or none is of the configured one
    if (checkAlg && (!this.algs.includes(last.doc.alg) || !newest(this.opts.alg))) {
      return [{ alg: this.opts.alg, reason: `configured alg ${this.opts.alg} differs from ${last.doc.alg}` }];
    }
    return this.algs.flatMap((alg) => {
      const k = newest(alg);
      return k && now - k.doc.createdAt >= this.opts.rotateAfterDays * DAY_MS ? [{ alg, reason: `newest ${alg} key is older than ${this.opts.rotateAfterDays} days` }] : [];
    });
  }
}

function withMeta(jwk: JWK, doc: StoredKey): JWK {
  return { ...jwk, kid: doc.kid, alg: doc.alg, use: 'sig' };
}

/** the JWKS is public: whatever the stored document says, never let a private member through */
function publicPart(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k))) as JWK;
}

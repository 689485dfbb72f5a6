// The keyspace: every key family the gateway keeps in the store's temps, sets and channels (and
// the rate limiters' counters), in one registry, each with the shape of its key, the schema of its
// value and its lifetime. Nothing outside this file spells a key prefix (test/store/keyspace.test.ts
// scans src/ for them), and nothing JSON.parses a store value with a cast: `Keyspace` encodes and
// validates every value on its way in and out.
//
// The key strings are exactly the ones written before this registry existed, so existing data (and
// a running Redis) keep working. The adapters add their own prefix around them (Redis:
// "{prefix}temp:…", "{prefix}set:…", "{prefix}chan:…"); temps and sets are single-key and carry no
// hash tag, so on a Cluster they spread over every master by their own key (src/store/redis.ts).
// Of the documents, the gateway's own collections are here (its boot secrets, the signing keys);
// the directory's records are declared and read by src/directory/ (model.ts `col`).
//
// A stored value that does not match its schema is a bug or corrupt data, like a WRONGTYPE reply:
// reading it throws KeyspaceValueError instead of handing a wrong shape on. Object schemas are
// loose (unknown members are kept), so a value written by a newer gateway still reads.
import type { JWK } from 'jose';
import { z } from 'zod';
import { SIGNING_ALGS } from '../identity/signing.ts';
import type { DocWrite, Put, PutOptions, Store } from './store.ts';

export class KeyspaceValueError extends Error {
  override readonly name = 'KeyspaceValueError';
  constructor(
    readonly pattern: string,
    readonly key: string,
    cause: unknown,
  ) {
    super(`the store value of ${key} does not match the schema of ${pattern}`, { cause });
  }
}

/** how a family's values are written: JSON text, the string itself, or a decimal number */
type Encoding = 'json' | 'text' | 'number';

interface Codec<V> {
  encode(v: V): string;
  /** throws when `raw` is not a value of the family */
  decode(raw: string): V;
}

function codec<S extends z.ZodType>(encoding: Encoding, schema: S): Codec<z.output<S>> {
  switch (encoding) {
    case 'json':
      return { encode: (v) => JSON.stringify(v), decode: (raw) => schema.parse(JSON.parse(raw)) };
    case 'number':
      return { encode: (v) => String(v), decode: (raw) => schema.parse(raw === '' ? Number.NaN : Number(raw)) };
    case 'text':
      return { encode: (v) => v as string, decode: (raw) => schema.parse(raw) };
  }
}

interface FamilyInfo {
  /** what the family holds */
  readonly about: string;
  /** the key's whole shape, for people: "tx:<state>" */
  readonly pattern: string;
  /** how long a key lives, and who sets it */
  readonly lifetime: string;
}

interface Described {
  readonly kind: 'temp' | 'set' | 'channel' | 'counter' | 'doc';
  /** the fixed start every key of the family begins with (a channel: its whole name) */
  readonly prefix: string;
  readonly info: FamilyInfo;
}

/** one key of a family: a temp (V: its value) or a set (V: its members) */
export interface Key<K extends 'temp' | 'set', V> {
  readonly kind: K;
  readonly key: string;
  readonly codec: Codec<V>;
  /** the family's key pattern, for errors */
  readonly pattern: string;
}
export type TempKey<V> = Key<'temp', V>;
export type SetKey<M> = Key<'set', M>;

/** a family of temps or sets: keys made of a fixed prefix and the arguments A */
export class KeyFamily<K extends 'temp' | 'set', A extends readonly unknown[], V> implements Described {
  constructor(
    readonly kind: K,
    readonly prefix: string,
    private readonly rest: (...a: A) => string,
    /** a temp's value, or a set's members */
    readonly codec: Codec<V>,
    readonly info: FamilyInfo,
  ) {}

  key(...a: A): Key<K, V> {
    return { kind: this.kind, key: this.prefix + this.rest(...a), codec: this.codec, pattern: this.info.pattern };
  }
}

export class Channel<V> implements Described {
  readonly kind = 'channel';
  constructor(
    readonly prefix: string,
    readonly codec: Codec<V>,
    readonly info: FamilyInfo,
  ) {}

  get name(): string {
    return this.prefix;
  }
}

/** a collection of durable, versioned documents (the store port's documents) */
export class DocFamily<V> implements Described {
  readonly kind = 'doc';
  constructor(
    /** the collection's name */
    readonly prefix: string,
    readonly codec: Codec<V>,
    readonly info: FamilyInfo,
  ) {}

  get col(): string {
    return this.prefix;
  }

  /** a write of one document, for Store.write (which takes them with audit events, atomically) */
  write(id: string, version: string, value: V | null, when?: DocWrite['when']): DocWrite {
    return { col: this.prefix, id, version, value: value === null ? null : this.codec.encode(value), ...(when ? { when } : {}) };
  }
}

/** keys kept by a library outside the store port (rate-limiter-flexible): only their prefix is ours */
export class CounterFamily<A extends readonly unknown[]> implements Described {
  readonly kind = 'counter';
  constructor(
    readonly prefix: string,
    private readonly rest: (...a: A) => string,
    readonly info: FamilyInfo,
  ) {}

  key(...a: A): string {
    return this.prefix + this.rest(...a);
  }
}

const temp = <A extends readonly unknown[], S extends z.ZodType>(prefix: string, rest: (...a: A) => string, encoding: Encoding, schema: S, info: FamilyInfo) =>
  new KeyFamily<'temp', A, z.output<S>>('temp', prefix, rest, codec(encoding, schema), info);
const set = <A extends readonly unknown[], M>(prefix: string, rest: (...a: A) => string, member: Codec<M>, info: FamilyInfo) => new KeyFamily<'set', A, M>('set', prefix, rest, member, info);

const textMember: Codec<string> = codec('text', z.string());

// ---- value schemas -------------------------------------------------------------------------

const protocol = z.enum(['oauth', 'cas']);

const upstreamTokens = z.looseObject({
  accessToken: z.string(),
  refreshToken: z.string().optional(),
  /** epoch ms */
  expiresAt: z.number(),
});

const identityClaims = z.looseObject({
  sub: z.string(),
  tenant: z.string(),
  tenant_code: z.string().optional(),
  tenant_name: z.string().optional(),
  user_name: z.string(),
  name: z.string().optional(),
  email: z.string().optional(),
  mobile: z.string().optional(),
  role: z.enum(['admin', 'user']),
  org_code: z.string().optional(),
  idp: z.enum(['oneaccess-oauth', 'oneaccess-cas']),
});

const upstreamIdentity = z.looseObject({
  protocol,
  tenantId: z.string(),
  userName: z.string(),
  name: z.string().optional(),
  email: z.string().optional(),
  mobile: z.string().optional(),
  role: z.string().optional(),
  orgCode: z.string().optional(),
  tenantName: z.string().optional(),
  tokens: upstreamTokens.optional(),
});

/** a sign-in started here, until its callback (src/login/transactions.ts) */
export const loginTransactionSchema = z.looseObject({
  protocol,
  /** null when the tenant is chosen on the unified login page */
  tenantId: z.string().nullable(),
  returnTo: z.string(),
  codeVerifier: z.string().optional(),
  appId: z.string().optional(),
  /** SHA-256 of the pre-login cookie */
  binding: z.string(),
  startedAt: z.number(),
});

/** a sign-in parked behind the "continue as …?" page (src/login/account-switch.ts) */
export const pendingSwitchSchema = z.looseObject({
  id: upstreamIdentity,
  tenantId: z.string(),
  appId: z.string().optional(),
  returnTo: z.string(),
  /** SHA-256 of the session id it would replace */
  binding: z.string(),
});

/**
 * A gateway session's record (src/session/record.ts). Records of earlier versions carry
 * express-session's own `cookie` member next to the gateway's; the record is loose so whatever
 * else one holds survives a rewrite.
 */
export const sessionRecordSchema = z.looseObject({
  cookie: z.looseObject({}).optional(),
  identity: z.looseObject({ ns: z.string(), claims: identityClaims }).optional(),
  upstream: z
    .looseObject({
      protocol,
      // absent when it is the claims' tenant
      tenantId: z.string().optional(),
      appId: z.string().optional(),
      // a session keeps the refresh token and the expiry; records of earlier versions also the access token
      tokens: upstreamTokens.extend({ accessToken: z.string().optional() }).optional(),
      profile: z.looseObject({ name: z.string().optional(), email: z.string().optional(), mobile: z.string().optional(), orgCode: z.string().optional() }).optional(),
    })
    .optional(),
  /** epoch ms of sign-in, for the absolute timeout */
  createdAt: z.number().optional(),
});

/** one back-channel logout token waiting to be delivered (src/oidc/backchannel.ts) */
export const logoutEntrySchema = z.looseObject({
  clientId: z.string(),
  sub: z.string(),
  sid: z.string().optional(),
  createdAt: z.number(),
  attempts: z.number(),
  nextAt: z.number(),
});

/** oidc-provider's own payloads: the provider owns their shape; we only read the members below */
export const oidcPayloadSchema = z.looseObject({
  uid: z.string().optional(),
  userCode: z.string().optional(),
  grantId: z.string().optional(),
  /** epoch seconds */
  exp: z.number().optional(),
});

const sessionIds = z.array(z.string());

/** a signing key as stored: the public JWK, the private one sealed (src/delivery/keys.ts) */
export const storedKeySchema = z.looseObject({
  kid: z.string(),
  alg: z.enum(SIGNING_ALGS),
  createdAt: z.number(),
  signsFrom: z.number(),
  /** jose's JWK: an object with a key type (jose checks the rest when it imports it) */
  publicJwk: z.custom<JWK>((v) => typeof v === 'object' && v !== null && typeof (v as { kty?: unknown }).kty === 'string'),
  privateSealed: z.string(),
});

// ---- the registry --------------------------------------------------------------------------

export const keyspace = {
  // temps
  syncNonce: temp('nonce:', (nonce: string) => nonce, 'text', z.string(), {
    about: 'an x-nonce of a marketplace sync push already seen (replay protection)',
    pattern: 'nonce:<x-nonce>',
    lifetime: 'the replay window plus the allowed future skew plus 1 s (src/marketplace/verify.ts)',
  }),
  loginByState: temp('tx:', (state: string) => state, 'json', loginTransactionSchema, {
    about: 'an OAuth sign-in started here, found by its state',
    pattern: 'tx:<state>',
    lifetime: 'login.transactionTtlSec; taken once by the callback',
  }),
  loginByCookie: temp('txc:', (binding: string) => binding, 'json', loginTransactionSchema, {
    about: 'a sign-in found by its pre-login cookie alone (CAS, unified login page)',
    pattern: 'txc:<SHA-256 of the pre-login cookie>',
    lifetime: 'login.transactionTtlSec; taken once by the callback',
  }),
  accountSwitch: temp('switch:', (handle: string) => handle, 'json', pendingSwitchSchema, {
    about: 'a sign-in parked behind the "continue as …?" page',
    pattern: 'switch:<handle>',
    lifetime: '5 minutes; taken once by the page\'s POST',
  }),
  casTicket: temp('cas:ticket:', (tenantId: string, ticket: string) => `${tenantId}:${ticket}`, 'text', z.string(), {
    about: 'the gateway session a CAS service ticket signed in, for CAS single logout',
    pattern: 'cas:ticket:<tenantId>:<ticket>',
    lifetime: 'the session\'s absolute timeout; deleted once its session has ended',
  }),
  refreshLock: temp('lock:refresh:', (sid: string) => sid, 'text', z.string(), {
    about: 'lock: this session\'s upstream token is being refreshed (value: the pid of the holder)',
    pattern: 'lock:refresh:<sid>',
    lifetime: '15 s, or until the refresh ends',
  }),
  session: temp('sess:', (sid: string) => sid, 'json', sessionRecordSchema, {
    about: 'a gateway session\'s record',
    pattern: 'sess:<sid>',
    lifetime: 'session.idleTimeoutSec, restarted by every touch',
  }),
  sessionSeen: temp('seen:', (sid: string) => sid, 'number', z.number(), {
    about: 'when a session was last used (epoch ms, to the minute): written by earlier versions only (the console now reads the record\'s time to live); deleted with its session',
    pattern: 'seen:<sid>',
    lifetime: 'session.idleTimeoutSec, like the record',
  }),
  consoleSession: temp('admin-session:', (consoleIdHash: string) => consoleIdHash, 'json', z.looseObject({ at: z.number() }), {
    about: 'an operator console session signed in with the admin token (value: when)',
    pattern: 'admin-session:<SHA-256 of the console cookie>',
    lifetime: 'admin.idleSec, restarted by every request',
  }),
  keyRotationLock: temp('signing-keys:rotating', () => '', 'text', z.string(), {
    about: 'lock: one instance is rotating the token signing keys',
    pattern: 'signing-keys:rotating',
    lifetime: '60 s',
  }),
  oidcModel: temp('oidc:', (model: string, id: string) => `${model}:${id}`, 'json', oidcPayloadSchema, {
    about: 'oidc-provider\'s state: sessions, interactions, codes, tokens, grants',
    pattern: 'oidc:<Model>:<id>',
    lifetime: 'the provider\'s expiresIn',
  }),
  oidcConsumed: temp('oidc:', (model: string, id: string) => `${model}:${id}:consumed`, 'number', z.number(), {
    about: 'when a code or refresh token was consumed (epoch s): written once, so it is redeemable once',
    pattern: 'oidc:<Model>:<id>:consumed',
    lifetime: 'until the consumed payload expires (at least 1 s)',
  }),
  oidcByUid: temp('oidc:', (model: string, uid: string) => `${model}:uid:${uid}`, 'text', z.string(), {
    about: 'index: a payload\'s uid -> its id (findByUid)',
    pattern: 'oidc:<Model>:uid:<uid>',
    lifetime: 'the payload\'s',
  }),
  oidcByUserCode: temp('oidc:', (model: string, userCode: string) => `${model}:userCode:${userCode}`, 'text', z.string(), {
    about: 'index: a device flow user code -> its id (findByUserCode)',
    pattern: 'oidc:<Model>:userCode:<code>',
    lifetime: 'the payload\'s',
  }),
  oidcReauthenticate: temp('oidc:reauthenticate:', (uid: string) => uid, 'number', z.number(), {
    about: 'when an interaction asking for a fresh sign-in sent the browser to /login (epoch ms)',
    pattern: 'oidc:reauthenticate:<interaction uid>',
    lifetime: 'the interaction\'s',
  }),
  oidcGrantSession: temp('oidc:grant-session:', (grantId: string) => grantId, 'text', z.string(), {
    about: 'the gateway session a provider grant was made in',
    pattern: 'oidc:grant-session:<grantId>',
    lifetime: 'until that session\'s absolute end',
  }),
  logoutEntry: temp('oidc:bcl:entry:', (id: string) => id, 'json', logoutEntrySchema, {
    about: 'a back-channel logout token still to deliver',
    pattern: 'oidc:bcl:entry:<sid>.<clientId>.<rp sid or sub>',
    lifetime: '24 h from its creation, or until delivered',
  }),
  logoutSending: temp('oidc:bcl:sending:', (id: string) => id, 'text', z.string(), {
    about: 'lock: one instance is delivering this logout token',
    pattern: 'oidc:bcl:sending:<entry id>',
    lifetime: 'the delivery timeout plus 5 s, or until delivered',
  }),

  // sets (indexes)
  userSessions: set('idx:user:', (ns: string, tenantId: string, userName: string) => `${ns}:${tenantId}:${userName}`, textMember, {
    about: 'index: a user\'s session ids, so a deprovisioning sync ends them all',
    pattern: 'idx:user:<ns>:<tenantId>:<userName>',
    lifetime: 'the idle timeout after the latest sign-in',
  }),
  tenantSessions: set('idx:tenant:', (ns: string, tenantId: string) => `${ns}:${tenantId}`, textMember, {
    about: 'index: a tenant\'s session ids',
    pattern: 'idx:tenant:<ns>:<tenantId>',
    lifetime: 'the idle timeout after the latest sign-in',
  }),
  oidcGrant: set(
    'oidc:grant:',
    (grantId: string) => grantId,
    {
      encode: (m: { model: string; id: string }) => `${m.model}:${m.id}`,
      decode: (raw: string) => {
        const at = raw.indexOf(':');
        if (at <= 0) throw new Error(`not "<Model>:<id>": ${raw}`);
        return { model: raw.slice(0, at), id: raw.slice(at + 1) };
      },
    },
    {
      about: 'index: what the provider issued under a grant, "<Model>:<id>" (revokeByGrantId)',
      pattern: 'oidc:grant:<grantId>',
      lifetime: 'the Grant TTL, renewed at each addition',
    },
  ),
  logoutRelyingParties: set(
    'oidc:bcl:rps:',
    (sid: string) => sid,
    {
      encode: (m: { clientId: string; sub: string; sid?: string | undefined }) => [m.clientId, m.sub, m.sid ?? ''].join(' '),
      decode: (raw: string) => {
        const [clientId = '', sub = '', sid = ''] = raw.split(' ');
        return { clientId, sub, ...(sid ? { sid } : {}) };
      },
    },
    {
      about: 'the relying parties (back-channel logout clients) a gateway session signed in: "<clientId> <sub> <sid>"',
      pattern: 'oidc:bcl:rps:<sid>',
      lifetime: 'the session\'s absolute timeout plus 24 h',
    },
  ),
  logoutTracked: set('oidc:bcl:tracked', () => '', textMember, {
    about: 'the gateway sessions with back-channel logout relying parties, swept for silent ends',
    pattern: 'oidc:bcl:tracked',
    lifetime: 'the absolute timeout plus 24 h after the latest addition',
  }),
  logoutOutbox: set('oidc:bcl:outbox', () => '', textMember, {
    about: 'the ids of the logout entries still to deliver',
    pattern: 'oidc:bcl:outbox',
    lifetime: '24 h after the latest addition',
  }),

  // channels
  sessionEnded: new Channel('session-ended', codec('json', sessionIds), {
    about: 'session ids (JSON array) that ended: snapshots drop them, back-channel logout starts',
    pattern: 'session-ended',
    lifetime: 'a message',
  }),
  sessionChanged: new Channel('session-changed', codec('json', sessionIds), {
    about: 'session ids (JSON array) whose record was rewritten: snapshots of them are stale',
    pattern: 'session-changed',
    lifetime: 'a message',
  }),
  keysChanged: new Channel('keys-changed', codec('text', z.string()), {
    about: 'the kid of a new token signing key: every instance reloads the key set',
    pattern: 'keys-changed',
    lifetime: 'a message',
  }),

  // documents
  bootSecrets: new DocFamily('system', codec('json', z.looseObject({ secret: z.string() })), {
    about: 'secrets made once and kept: "session-secret" (development, when none is configured) and "account-id-key"',
    pattern: 'system / <name>',
    lifetime: 'for good (written once, version "0", only when absent)',
  }),
  signingKeys: new DocFamily('system:signing-keys', codec('json', storedKeySchema), {
    about: 'the token signing keys, one document per kid (RFC 7638 thumbprint)',
    pattern: 'system:signing-keys / <kid>',
    lifetime: 'until every token it signed has expired, then a tombstone',
  }),

  // counters outside the store port
  rateLimit: new CounterFamily('rl:', (limiter: string) => limiter, {
    about: 'rate-limiter-flexible\'s counters (on Redis under the store\'s prefix, else in memory)',
    pattern: 'rl:<limiter>…',
    lifetime: 'the limiter\'s window',
  }),
} as const;

/** every family, for the prefix scan and the docs */
export const families: readonly Described[] = Object.values(keyspace);

export type ValueOf<F> = F extends KeyFamily<'temp' | 'set', infer _A, infer V> ? V : F extends Channel<infer C> ? C : F extends DocFamily<infer D> ? D : never;

function decode<V>(pattern: string, key: string, c: Codec<V>, raw: string): V {
  try {
    return c.decode(raw);
  } catch (err) {
    throw new KeyspaceValueError(pattern, key, err);
  }
}

/** a document read through its family: the value decoded, or null for a tombstone */
export interface TypedDoc<V> {
  id: string;
  version: string;
  value: V | null;
}

/** the store port, typed by the registry */
export class Keyspace {
  constructor(readonly store: Store) {}

  async getDoc<V>(family: DocFamily<V>, id: string): Promise<TypedDoc<V> | null> {
    const d = await this.store.getDoc(family.col, id);
    return d && { id: d.id, version: d.version, value: d.value === null ? null : decode(family.info.pattern, `${family.col}/${id}`, family.codec, d.value) };
  }

  async listDocs<V>(family: DocFamily<V>): Promise<Array<TypedDoc<V>>> {
    return (await this.store.listDocs(family.col)).map((d) => ({ id: d.id, version: d.version, value: d.value === null ? null : decode(family.info.pattern, `${family.col}/${d.id}`, family.codec, d.value) }));
  }

  put<V>(k: TempKey<V>, value: V, ttlMs: number, opts?: PutOptions): Promise<boolean> {
    return this.store.putTemp(k.key, k.codec.encode(value), ttlMs, opts);
  }

  async get<V>(k: TempKey<V>): Promise<V | null> {
    const raw = await this.store.getTemp(k.key);
    return raw === null ? null : decode(k.pattern, k.key, k.codec, raw);
  }

  /** get and delete in one atomic step */
  async take<V>(k: TempKey<V>): Promise<V | null> {
    const raw = await this.store.takeTemp(k.key);
    return raw === null ? null : decode(k.pattern, k.key, k.codec, raw);
  }

  delete(...keys: ReadonlyArray<TempKey<unknown>>): Promise<void> {
    return this.store.deleteTemp(keys.map((k) => k.key));
  }

  touch(k: TempKey<unknown>, ttlMs: number): Promise<boolean> {
    return this.store.touchTemp(k.key, ttlMs);
  }

  /** the key's remaining time to live in ms; null when it does not exist */
  ttl(k: TempKey<unknown>): Promise<number | null> {
    return this.store.tempTtl(k.key);
  }

  replace<V>(entries: ReadonlyArray<readonly [TempKey<V>, V]>): Promise<boolean[]> {
    return this.store.replaceTemps(entries.map(([k, v]) => [k.key, k.codec.encode(v)] as const));
  }

  /** a temp for putAll */
  temp<V>(k: TempKey<V>, value: V, ttlMs: number): Put {
    return { kind: 'temp', key: k.key, value: k.codec.encode(value), ttlMs };
  }

  /** a set member for putAll */
  member<M>(k: SetKey<M>, member: M, ttlMs: number): Put {
    return { kind: 'member', setKey: k.key, member: k.codec.encode(member), ttlMs };
  }

  /** temps and set members stored together, in order (Store.putAll) */
  putAll(changes: readonly Put[]): Promise<void> {
    return this.store.putAll(changes);
  }

  add<M>(k: SetKey<M>, member: M, ttlMs: number): Promise<void> {
    return this.store.addMember(k.key, k.codec.encode(member), ttlMs);
  }

  async members<M>(k: SetKey<M>): Promise<M[]> {
    const raws = await this.store.members(k.key);
    return raws.map((raw) => decode(k.pattern, k.key, k.codec, raw));
  }

  remove<M>(k: SetKey<M>, member: M): Promise<void> {
    return this.store.removeMember(k.key, k.codec.encode(member));
  }

  publish<V>(channel: Channel<V>, message: V): Promise<void> {
    return this.store.publish(channel.name, channel.codec.encode(message));
  }

  /** `onInvalid` gets messages that do not match the channel's schema (default: dropped) */
  subscribe<V>(channel: Channel<V>, handler: (message: V) => void, onInvalid: (raw: string, err: unknown) => void = () => {}): Promise<() => Promise<void>> {
    return this.store.subscribe(channel.name, (raw) => {
      let message: V;
      try {
        message = channel.codec.decode(raw);
      } catch (err) {
        onInvalid(raw, err);
        return;
      }
      handler(message);
    });
  }
}

const bound = new WeakMap<Store, Keyspace>();

/** the typed view of a store (one per store) */
export function keysOf(store: Store): Keyspace {
  let k = bound.get(store);
  if (!k) bound.set(store, (k = new Keyspace(store)));
  return k;
}

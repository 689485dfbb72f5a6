// oidc-provider's persistence (sessions, interactions, codes, tokens, grants) on the store port,
// so every instance sharing a store shares the provider's state. Everything is a temp under
// `oidc:` (families oidcModel, oidcConsumed, oidcByUid, oidcByUserCode, oidcGrant in
// src/store/keyspace.ts); the provider's expiresIn (seconds) becomes the time to live.
//   oidc:<Model>:<id>            the payload (JSON)
//   oidc:<Model>:<id>:consumed   set once by consume(): putTemp(ifAbsent) makes a code or refresh
//                                token redeemable exactly once, even across instances
//   oidc:<Model>:uid:<uid>       -> id (findByUid, sessions)
//   oidc:<Model>:userCode:<code> -> id (findByUserCode, device flow)
//   oidc:grant:<grantId>         set of "<Model>:<id>" issued under a grant (revokeByGrantId)
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Store } from '../store/store.ts';
import { keysOf, keyspace, type Keyspace } from '../store/keyspace.ts';

export interface StoreAdapterOptions {
  /**
   * Time to live of a grant's index, renewed at each addition. A set expires after its latest
   * addition, so this must cover the longest-lived token of a grant (a short access token added
   * after a long refresh token must not take the index down early): the Grant TTL.
   */
  grantIndexTtlSec: number;
  /** for models saved without an expiry (none of the enabled ones are; a safety net) */
  defaultTtlSec: number;
}

export class StoreAdapter implements Adapter {
  private readonly keys: Keyspace;

  constructor(
    private readonly model: string,
    store: Store,
    private readonly opts: StoreAdapterOptions,
  ) {
    this.keys = keysOf(store);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    const ttlMs = (expiresIn ?? this.opts.defaultTtlSec) * 1000;
    await this.keys.put(keyspace.oidcModel.key(this.model, id), payload, ttlMs);
    if (payload.uid) await this.keys.put(keyspace.oidcByUid.key(this.model, payload.uid), id, ttlMs);
    if (payload.userCode) await this.keys.put(keyspace.oidcByUserCode.key(this.model, payload.userCode), id, ttlMs);
    if (payload.grantId) {
      const indexTtlMs = Math.max(ttlMs, this.opts.grantIndexTtlSec * 1000);
      await this.keys.add(keyspace.oidcGrant.key(payload.grantId), { model: this.model, id }, indexTtlMs);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const [payload, consumed] = await Promise.all([this.keys.get(keyspace.oidcModel.key(this.model, id)), this.keys.get(keyspace.oidcConsumed.key(this.model, id))]);
    if (payload === null) return undefined;
    return consumed === null ? payload : { ...payload, consumed };
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.keys.get(keyspace.oidcByUid.key(this.model, uid));
    return id === null ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.keys.get(keyspace.oidcByUserCode.key(this.model, userCode));
    return id === null ? undefined : this.find(id);
  }

  /** the second of two racing redemptions loses here, whichever instance it reached */
  async consume(id: string): Promise<void> {
    const payload = await this.find(id);
    const ttlMs = payload?.exp ? payload.exp * 1000 - Date.now() : this.opts.defaultTtlSec * 1000;
    const now = Math.floor(Date.now() / 1000);
    const first = await this.keys.put(keyspace.oidcConsumed.key(this.model, id), now, Math.max(ttlMs, 1000), { ifAbsent: true });
    if (!first) throw new errors.InvalidGrant(`${this.model} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    const payload = await this.find(id);
    await this.keys.delete(
      keyspace.oidcModel.key(this.model, id),
      keyspace.oidcConsumed.key(this.model, id),
      ...(payload?.uid ? [keyspace.oidcByUid.key(this.model, payload.uid)] : []),
      ...(payload?.userCode ? [keyspace.oidcByUserCode.key(this.model, payload.userCode)] : []),
    );
    if (payload?.grantId) await this.keys.remove(keyspace.oidcGrant.key(payload.grantId), { model: this.model, id });
  }

  /** every model's adapter revokes everything of the grant, as the provider's reference adapter does */
  async revokeByGrantId(grantId: string): Promise<void> {
    const index = keyspace.oidcGrant.key(grantId);
    for (const member of await this.keys.members(index)) {
      await this.keys.delete(keyspace.oidcModel.key(member.model, member.id), keyspace.oidcConsumed.key(member.model, member.id));
      await this.keys.remove(index, member);
    }
  }
}

/** the adapter factory oidc-provider's `adapter` setting takes (it calls it once per model) */
export function storeAdapter(store: Store, opts: StoreAdapterOptions): (model: string) => Adapter {
  return (model) => new StoreAdapter(model, store, opts);
}

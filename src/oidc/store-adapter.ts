// oidc-provider's persistence (sessions, interactions, codes, tokens, grants) on the store port,
// so every instance sharing a store shares the provider's state. Everything is a temp under
// `oidc:`; the provider's expiresIn (seconds) becomes the time to live.
//   oidc:<Model>:<id>            the payload (JSON)
//   oidc:<Model>:<id>:consumed   set once by consume(): putTemp(ifAbsent) makes a code or refresh
//                                token redeemable exactly once, even across instances
//   oidc:<Model>:uid:<uid>       -> id (findByUid, sessions)
//   oidc:<Model>:userCode:<code> -> id (findByUserCode, device flow)
//   oidc:grant:<grantId>         set of "<Model>:<id>" issued under a grant (revokeByGrantId)
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Store } from '../store/store.ts';

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
  constructor(
    private readonly model: string,
    private readonly store: Store,
    private readonly opts: StoreAdapterOptions,
  ) {}

  private key(id: string): string {
    return `oidc:${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    const ttlMs = (expiresIn ?? this.opts.defaultTtlSec) * 1000;
    const key = this.key(id);
    await this.store.putTemp(key, JSON.stringify(payload), ttlMs);
    if (payload.uid) await this.store.putTemp(this.key(`uid:${payload.uid}`), id, ttlMs);
    if (payload.userCode) await this.store.putTemp(this.key(`userCode:${payload.userCode}`), id, ttlMs);
    if (payload.grantId) {
      const indexTtlMs = Math.max(ttlMs, this.opts.grantIndexTtlSec * 1000);
      await this.store.addMember(grantIndex(payload.grantId), `${this.model}:${id}`, indexTtlMs);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const key = this.key(id);
    const [raw, consumed] = await Promise.all([this.store.getTemp(key), this.store.getTemp(`${key}:consumed`)]);
    if (raw === null) return undefined;
    const payload = JSON.parse(raw) as AdapterPayload;
    return consumed === null ? payload : { ...payload, consumed: Number(consumed) };
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.store.getTemp(this.key(`uid:${uid}`));
    return id === null ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.store.getTemp(this.key(`userCode:${userCode}`));
    return id === null ? undefined : this.find(id);
  }

  /** the second of two racing redemptions loses here, whichever instance it reached */
  async consume(id: string): Promise<void> {
    const payload = await this.find(id);
    const ttlMs = payload?.exp ? payload.exp * 1000 - Date.now() : this.opts.defaultTtlSec * 1000;
    const now = Math.floor(Date.now() / 1000);
    const first = await this.store.putTemp(`${this.key(id)}:consumed`, String(now), Math.max(ttlMs, 1000), { ifAbsent: true });
    if (!first) throw new errors.InvalidGrant(`${this.model} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    const payload = await this.find(id);
    const keys = [this.key(id), `${this.key(id)}:consumed`];
    if (payload?.uid) keys.push(this.key(`uid:${payload.uid}`));
    if (payload?.userCode) keys.push(this.key(`userCode:${payload.userCode}`));
    await this.store.deleteTemp(keys);
    if (payload?.grantId) await this.store.removeMember(grantIndex(payload.grantId), `${this.model}:${id}`);
  }

  /** every model's adapter revokes everything of the grant, as the provider's reference adapter does */
  async revokeByGrantId(grantId: string): Promise<void> {
    const index = grantIndex(grantId);
    for (const member of await this.store.members(index)) {
      const key = `oidc:${member}`;
      await this.store.deleteTemp([key, `${key}:consumed`]);
      await this.store.removeMember(index, member);
    }
  }
}

const grantIndex = (grantId: string) => `oidc:grant:${grantId}`;

/** the adapter factory oidc-provider's `adapter` setting takes (it calls it once per model) */
export function storeAdapter(store: Store, opts: StoreAdapterOptions): (model: string) => Adapter {
  return (model) => new StoreAdapter(model, store, opts);
}

// Tenants, applications, users and departments, stored idempotently and ordered by the
// marketplace's timeStamp: every write is conditional on not being older than what is stored,
// and deletes leave tombstones so a late, older "add" cannot bring a record back.
import { createHmac } from 'node:crypto';
import type { AuditEvent, Doc, DocWrite, Store } from '../store/store.ts';
import { mapInSlices } from '../store/slices.ts';
import { col, type AppRecord, type OrgRecord, type TenantRecord, type UserRecord } from './model.ts';
import type { Namespace } from '../identity/identity.ts';

/** What a change means for the rest of the gateway (sessions, caches). */
export type DirectoryEffect =
  | { kind: 'tenant-changed'; ns: Namespace; tenantId: string; removed: boolean }
  | { kind: 'app-changed'; ns: Namespace; tenantId: string; appId: string; removed: boolean }
  | { kind: 'user-revoked'; ns: Namespace; tenantId: string; userName: string; sub: string }
  | { kind: 'user-changed'; ns: Namespace; tenantId: string; userName: string; sub: string };

export interface ApplyResult {
  /** writes applied (not stale) */
  applied: number;
  /** writes ignored because a newer version was stored */
  stale: number;
  effects: DirectoryEffect[];
}

export type UserChange =
  | { op: 'upsert'; user: Omit<UserRecord, 'sub' | 'version' | 'tenantId' | 'appId' | 'cancelled'> }
  | { op: 'delete'; userName: string }
  | { op: 'cancel'; userName: string };

function parse<T>(d: Doc | null | undefined): T | null {
  return d?.value ? (JSON.parse(d.value) as T) : null;
}

export class Directory {
  constructor(
    private readonly store: Store,
    /** secret for deriving stable account ids; persisted once, never rotated */
    private readonly accountKey: Buffer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** stable local account id: the same (namespace, tenant, userName) always gives the same sub */
  accountId(ns: Namespace, tenantId: string, userName: string): string {
    const mac = createHmac('sha256', this.accountKey).update(`${ns}\0${tenantId}\0${userName}`).digest();
    return `u_${mac.subarray(0, 16).toString('base64url')}`;
  }

  private audit(action: string, target: string, detail: AuditEvent['detail']): AuditEvent {
    return { at: this.now().toISOString(), actor: 'marketplace', action, target, ...(detail ? { detail } : {}) };
  }

  private result(flags: boolean[], effects: DirectoryEffect[]): ApplyResult {
    const applied = flags.filter(Boolean).length;
    return { applied, stale: flags.length - applied, effects };
  }

  // ---- tenants ---------------------------------------------------------------------------

  async getTenant(ns: Namespace, tenantId: string): Promise<TenantRecord | null> {
    return parse<TenantRecord>(await this.store.getDoc(col.tenant(ns), tenantId));
  }

  /** every tenant of a namespace; deleted ones (tombstones) as their id alone */
  async listTenants(ns: Namespace): Promise<Array<TenantRecord | { tenantId: string; deleted: true }>> {
    return (await this.store.listDocs(col.tenant(ns))).map((d) => parse<TenantRecord>(d) ?? { tenantId: d.id, deleted: true as const });
  }

  /** by tenantId, else by tenantCode */
  async findTenant(ns: Namespace, idOrCode: string): Promise<TenantRecord | null> {
    // both lookups at once (one round trip on Redis): browsers name tenants by code as often as by id
    const [byId, code] = await Promise.all([this.getTenant(ns, idOrCode), this.store.getDoc(col.tenantCode(ns), idOrCode)]);
    if (byId) return byId;
    const ref = parse<{ tenantId: string }>(code);
    if (!ref) return null;
    const t = await this.getTenant(ns, ref.tenantId);
    return t && t.tenantCode === idOrCode ? t : null;
  }

  async upsertTenant(ns: Namespace, t: TenantRecord, detail: AuditEvent['detail']): Promise<ApplyResult> {
    const writes: DocWrite[] = [
      { col: col.tenant(ns), id: t.tenantId, version: t.version, value: JSON.stringify(t) },
      { col: col.tenantCode(ns), id: t.tenantCode, version: t.version, value: JSON.stringify({ tenantId: t.tenantId }) },
    ];
    const flags = await this.store.write(writes, [this.audit('tenant.upsert', `${ns}/tenant/${t.tenantId}`, detail)]);
    return this.result(flags.slice(0, 1), flags[0] ? [{ kind: 'tenant-changed', ns, tenantId: t.tenantId, removed: false }] : []);
  }

  async deleteTenant(ns: Namespace, tenantId: string, version: string, detail: AuditEvent['detail']): Promise<ApplyResult> {
    const flags = await this.store.write(
      [{ col: col.tenant(ns), id: tenantId, version, value: null }],
      [this.audit('tenant.delete', `${ns}/tenant/${tenantId}`, detail)],
    );
    return this.result(flags, flags[0] ? [{ kind: 'tenant-changed', ns, tenantId, removed: true }] : []);
  }

  // ---- applications ----------------------------------------------------------------------

  async getApp(ns: Namespace, tenantId: string, appId: string): Promise<AppRecord | null> {
    return parse<AppRecord>(await this.store.getDoc(col.app(ns, tenantId), appId));
  }

  /** the tenant's app: the preferred appId when given and present, else the newest one */
  async findApp(ns: Namespace, tenantId: string, preferredAppId?: string): Promise<AppRecord | null> {
    if (preferredAppId) {
      const a = await this.getApp(ns, tenantId, preferredAppId);
      if (a) return a;
    }
    const apps = (await this.store.listDocs(col.app(ns, tenantId))).map((d) => parse<AppRecord>(d)).filter((a): a is AppRecord => a !== null);
    apps.sort((a, b) => (a.version < b.version ? 1 : -1));
    return apps[0] ?? null;
  }

  async upsertApp(ns: Namespace, a: AppRecord, detail: AuditEvent['detail']): Promise<ApplyResult> {
    const flags = await this.store.write(
      [{ col: col.app(ns, a.tenantId), id: a.appId, version: a.version, value: JSON.stringify(a) }],
      [this.audit('app.upsert', `${ns}/app/${a.tenantId}/${a.appId}`, detail)],
    );
    return this.result(flags, flags[0] ? [{ kind: 'app-changed', ns, tenantId: a.tenantId, appId: a.appId, removed: false }] : []);
  }

  async deleteApp(ns: Namespace, tenantId: string, appId: string, version: string, detail: AuditEvent['detail']): Promise<ApplyResult> {
    const flags = await this.store.write(
      [{ col: col.app(ns, tenantId), id: appId, version, value: null }],
      [this.audit('app.delete', `${ns}/app/${tenantId}/${appId}`, detail)],
    );
    return this.result(flags, flags[0] ? [{ kind: 'app-changed', ns, tenantId, appId, removed: true }] : []);
  }

  // ---- users -----------------------------------------------------------------------------

  async getUser(ns: Namespace, tenantId: string, userName: string): Promise<UserRecord | null> {
    return parse<UserRecord>(await this.store.getDoc(col.user(ns, tenantId), userName));
  }

  async listUsers(ns: Namespace, tenantId: string): Promise<UserRecord[]> {
    return (await this.store.listDocs(col.user(ns, tenantId))).map((d) => parse<UserRecord>(d)).filter((u): u is UserRecord => u !== null);
  }

  /**
   * One authSync: every user change in one atomic write, each ordered by `version` on its own.
   * A cancelled authorization keeps the record (flagged) so a later sign-in can say why it fails.
   */
  async applyUsers(
    ns: Namespace,
    tenantId: string,
    appId: string,
    version: string,
    changes: readonly UserChange[],
    detail: AuditEvent['detail'],
  ): Promise<ApplyResult> {
    const c = col.user(ns, tenantId);
    const names = changes.map((ch) => (ch.op === 'upsert' ? ch.user.userName : ch.userName));
    // cancel keeps the last known profile; read the current records once, in one round trip
    const needCurrent = changes.some((ch) => ch.op === 'cancel');
    const current = needCurrent ? await this.store.getDocs(c, names) : [];
    // in slices: thousands of HMACs and JSON texts must not hold the event loop in one go
    const subs = await mapInSlices(names, (n) => this.accountId(ns, tenantId, n));
    const writes: DocWrite[] = await mapInSlices(changes, (ch, i) => {
      const userName = names[i]!;
      const sub = subs[i]!;
      if (ch.op === 'delete') return { col: c, id: userName, version, value: null };
      let rec: UserRecord;
      if (ch.op === 'upsert') {
        rec = { ...ch.user, tenantId, appId, sub, cancelled: false, version };
      } else {
        const prev = parse<UserRecord>(current[i]);
        rec = { ...(prev ?? { tenantId, appId, userName, sub, name: '', orgCode: '', role: 'user', enabled: false }), cancelled: true, version };
      }
      return { col: c, id: userName, version, value: JSON.stringify(rec) };
    });
    const flags = await this.store.write(writes, [this.audit('users.apply', `${ns}/users/${tenantId}/${appId}`, { ...detail, users: changes.length })]);
    const effects: DirectoryEffect[] = [];
    changes.forEach((ch, i) => {
      if (!flags[i]) return;
      const userName = names[i]!;
      const sub = subs[i]!;
      const revoked = ch.op !== 'upsert' || !ch.user.enabled;
      effects.push({ kind: revoked ? 'user-revoked' : 'user-changed', ns, tenantId, userName, sub });
    });
    return this.result(flags, effects);
  }

  // ---- departments -----------------------------------------------------------------------

  async listOrgs(ns: Namespace, tenantId: string): Promise<OrgRecord[]> {
    return (await this.store.listDocs(col.org(ns, tenantId))).map((d) => parse<OrgRecord>(d)).filter((o): o is OrgRecord => o !== null);
  }

  async upsertOrg(ns: Namespace, o: OrgRecord, detail: AuditEvent['detail']): Promise<ApplyResult> {
    const flags = await this.store.write(
      [{ col: col.org(ns, o.tenantId), id: o.orgCode, version: o.version, value: JSON.stringify(o) }],
      [this.audit('org.upsert', `${ns}/org/${o.tenantId}/${o.orgCode}`, detail)],
    );
    return this.result(flags, []);
  }

  async deleteOrg(ns: Namespace, tenantId: string, orgCode: string, version: string, detail: AuditEvent['detail']): Promise<ApplyResult> {
    const flags = await this.store.write(
      [{ col: col.org(ns, tenantId), id: orgCode, version, value: null }],
      [this.audit('org.delete', `${ns}/org/${tenantId}/${orgCode}`, detail)],
    );
    return this.result(flags, []);
  }

  /** allOrgSync: a full snapshot. Upserts every listed department and deletes the rest. */
  async replaceOrgs(ns: Namespace, tenantId: string, orgs: readonly OrgRecord[], version: string, detail: AuditEvent['detail']): Promise<ApplyResult> {
    const c = col.org(ns, tenantId);
    const listed = new Set(orgs.map((o) => o.orgCode));
    const existing = await this.store.listDocs(c);
    const writes: DocWrite[] = await mapInSlices(orgs, (o) => ({ col: c, id: o.orgCode, version, value: JSON.stringify(o) }));
    // the version condition protects a department that a newer singleOrgSync added meanwhile
    for (const d of existing) if (d.value !== null && !listed.has(d.id)) writes.push({ col: c, id: d.id, version, value: null });
    const flags = await this.store.write(writes, [this.audit('orgs.replace', `${ns}/orgs/${tenantId}`, { ...detail, orgs: orgs.length })]);
    return this.result(flags, []);
  }
}

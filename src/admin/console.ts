// What the console reads and does, over the gateway's own parts: the directory, the session
// functions, the sync and audit logs, the signing keys and the metrics. The JSON API and the pages
// both call these, so they always say the same thing.
import type { Directory } from '../directory/directory.ts';
import type { OrgRecord, TenantRecord, UserRecord } from '../directory/model.ts';
import type { Namespace } from '../identity/identity.ts';
import type { Sessions } from '../session/sessions.ts';
import type { AuditEvent, Store } from '../store/store.ts';
import type { KeyManager } from '../delivery/keys.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Tenants } from '../login/tenants.ts';
import { checkAccess, type SignInPolicy } from '../login/policy.ts';
import type { SyncFilter, SyncLog, SyncRecord } from '../marketplace/sync-log.ts';
import { SYNC_SCHEMAS } from '../marketplace/messages.ts';
import { text, type Lang } from '../web/i18n.ts';
import type { SessionHandles } from './session-handles.ts';

export interface ConsoleDeps {
  store: Store;
  directory: Directory;
  sessions: Sessions;
  tenants: Tenants;
  /** the sign-in policy, and whether http:// OneAccess URLs are usable (login.allowInsecureIdp) */
  policy: SignInPolicy & { allowInsecureIdp: boolean };
  syncLog: SyncLog;
  keys: KeyManager;
  metrics: Metrics;
  handles: SessionHandles;
  /** audit records read for "last sign-in" and the audit page */
  auditWindow?: number;
}

export interface TenantSummary {
  tenantId: string;
  ns: Namespace;
  status: 'active' | 'no-app' | 'deleted';
  tenantCode?: string;
  name?: string;
  domainName?: string;
  instanceId?: string;
  appId?: string;
  clientId?: string;
  users: number;
  sessions: number;
  /** interface -> the newest push for this tenant */
  lastPush: Record<string, { at: string; resultCode: string }>;
}

export interface UserSummary {
  userName: string;
  name: string;
  role: 'admin' | 'user';
  status: 'enabled' | 'disabled' | 'cancelled';
  enabled: boolean;
  /** the marketplace authorized this person and did not cancel it */
  authorized: boolean;
  orgCode: string;
  email?: string;
  lastSignInAt?: string;
  sessions: number;
}

export interface SessionSummary {
  id: string;
  tenantId: string;
  ns: Namespace;
  userName: string;
  name?: string;
  role: 'admin' | 'user';
  protocol: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface KeySummary {
  kid: string;
  alg: string;
  state: 'published' | 'signing' | 'retiring';
  createdAt: string;
  signsFrom: string;
  signsUntil?: string;
  publishedUntil?: string;
}

export interface Decision {
  allowed: boolean;
  /** the refusal's code, as the sign-in would give it */
  code?: string;
  /** what the person would read */
  message: string;
  role?: 'admin' | 'user';
}

export interface AuditFilter {
  action?: string;
  tenantId?: string;
  actor?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class Console {
  private readonly auditWindow: number;

  constructor(private readonly d: ConsoleDeps) {
    this.auditWindow = d.auditWindow ?? 20_000;
  }

  async tenants(): Promise<TenantSummary[]> {
    const pushes = await this.d.syncLog.list({}, 5000);
    const out: TenantSummary[] = [];
    for (const ns of ['prod', 'debug'] as const) {
      for (const t of await this.d.directory.listTenants(ns)) {
        const lastPush: TenantSummary['lastPush'] = {};
        for (const p of pushes) if (p.tenantId === t.tenantId && (p.ns ?? 'prod') === ns && !lastPush[p.interface]) lastPush[p.interface] = { at: p.at, resultCode: p.resultCode };
        if ('deleted' in t) {
          out.push({ tenantId: t.tenantId, ns, status: 'deleted', users: 0, sessions: 0, lastPush });
          continue;
        }
        const app = await this.d.directory.findApp(ns, t.tenantId);
        const users = await this.d.directory.listUsers(ns, t.tenantId);
        out.push({
          tenantId: t.tenantId,
          ns,
          status: app ? 'active' : 'no-app',
          tenantCode: t.tenantCode,
          name: t.name,
          domainName: t.domainName,
          instanceId: t.instanceId,
          ...(app ? { appId: app.appId, clientId: app.clientId } : {}),
          users: users.length,
          sessions: (await this.liveSessions(ns, t.tenantId)).length,
          lastPush,
        });
      }
    }
    return out.sort((a, b) => (a.ns === b.ns ? (a.tenantCode ?? a.tenantId).localeCompare(b.tenantCode ?? b.tenantId) : a.ns === 'prod' ? -1 : 1));
  }

  tenant(ns: Namespace, tenantId: string): Promise<TenantRecord | null> {
    return this.d.directory.getTenant(ns, tenantId);
  }

  async users(ns: Namespace, tenantId: string): Promise<UserSummary[]> {
    const users = await this.d.directory.listUsers(ns, tenantId);
    const lastSignIn = new Map<string, string>();
    for (const e of await this.d.store.listAudit(this.auditWindow)) {
      if (e.action !== 'login.success') continue;
      const m = /^(prod|debug)\/user\/([^/]+)\/(.+)$/.exec(e.target);
      if (m && m[1] === ns && m[2] === tenantId && !lastSignIn.has(m[3]!)) lastSignIn.set(m[3]!, e.at);
    }
    const sessions = await this.liveSessions(ns, tenantId);
    return users
      .map((u) => ({
        userName: u.userName,
        name: u.name,
        role: u.role,
        status: u.cancelled ? ('cancelled' as const) : u.enabled ? ('enabled' as const) : ('disabled' as const),
        enabled: u.enabled,
        authorized: !u.cancelled,
        orgCode: u.orgCode,
        ...(u.email ? { email: u.email } : {}),
        ...(lastSignIn.has(u.userName) ? { lastSignInAt: lastSignIn.get(u.userName)! } : {}),
        sessions: sessions.filter((s) => s.userName === u.userName).length,
      }))
      .sort((a, b) => a.userName.localeCompare(b.userName));
  }

  user(ns: Namespace, tenantId: string, userName: string): Promise<UserRecord | null> {
    return this.d.directory.getUser(ns, tenantId, userName);
  }

  orgs(ns: Namespace, tenantId: string): Promise<OrgRecord[]> {
    return this.d.directory.listOrgs(ns, tenantId);
  }

  /**
   * Would this person be let in if they signed in now? The same checks, in the same order, as a
   * sign-in after OneAccess vouched for them: the tenant, its bound app, then the sign-in policy.
   */
  async decide(ns: Namespace, tenantId: string, userName: string, lang: Lang): Promise<Decision> {
    const { tenants } = this.d;
    if (ns !== tenants.ns) return { allowed: false, code: 'test_data', message: text(lang, { key: 'admin.decision.testData' }) };
    const tenant = await tenants.find(tenantId);
    const [app, user] = tenant ? await Promise.all([tenants.app(tenant), this.d.directory.getUser(ns, tenantId, userName)]) : [null, null];
    const access = checkAccess({ tenant, app, user, id: { protocol: 'oauth', tenantId, userName }, accountId: (u) => tenants.accountId(tenantId, u), policy: this.d.policy, allowInsecureIdp: this.d.policy.allowInsecureIdp });
    if (!access.allowed) return { allowed: false, code: access.refusal.code, message: text(lang, access.refusal.shown) };
    const { role } = access.claims;
    return { allowed: true, message: text(lang, { key: 'admin.decision.allowed', params: { role: text(lang, { key: role === 'admin' ? 'role.admin' : 'role.user' }) } }), role };
  }

  /** live sessions of a tenant (or one user of it); index entries of ended sessions are skipped */
  async liveSessions(ns: Namespace, tenantId: string, userName?: string): Promise<SessionSummary[]> {
    const out: SessionSummary[] = [];
    for (const sid of await this.d.sessions.sessionIds(ns, tenantId, userName)) {
      const s = await this.d.sessions.load(sid);
      if (!s) continue;
      const c = s.identity.claims;
      // an index can only point at sessions of its tenant, but a record is the authority
      if (c.tenant !== tenantId || s.identity.ns !== ns || (userName !== undefined && c.user_name !== userName)) continue;
      const seen = await this.d.sessions.lastSeenAt(sid);
      out.push({
        id: this.d.handles.handleOf(sid),
        tenantId,
        ns,
        userName: c.user_name,
        ...(c.name ? { name: c.name } : {}),
        role: c.role,
        protocol: s.upstream?.protocol ?? (c.idp === 'oneaccess-cas' ? 'cas' : 'oauth'),
        createdAt: iso(s.createdAt),
        lastSeenAt: iso(seen ?? s.createdAt),
        expiresAt: iso(s.expiresAt),
      });
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  /** every live session, or a tenant's, or a user's */
  async sessions(filter: { ns?: Namespace; tenantId?: string; userName?: string }): Promise<SessionSummary[]> {
    if (filter.tenantId) return this.liveSessions(filter.ns ?? 'prod', filter.tenantId, filter.userName);
    const out: SessionSummary[] = [];
    for (const ns of filter.ns ? [filter.ns] : (['prod', 'debug'] as const)) {
      for (const t of await this.d.directory.listTenants(ns)) out.push(...(await this.liveSessions(ns, t.tenantId, filter.userName)));
    }
    return out;
  }

  /** ends one session on every instance; false when the handle names no live session */
  async endSession(handle: string): Promise<{ ended: boolean; session?: SessionSummary }> {
    const sid = this.d.handles.sessionId(handle);
    if (!sid) return { ended: false };
    const s = await this.d.sessions.load(sid);
    if (!s) return { ended: false };
    const c = s.identity.claims;
    const { ended } = await this.d.sessions.revise([sid], async () => null);
    return {
      ended: ended > 0,
      session: { id: handle, tenantId: c.tenant, ns: s.identity.ns, userName: c.user_name, role: c.role, protocol: s.upstream?.protocol ?? 'oauth', createdAt: iso(s.createdAt), lastSeenAt: iso(s.createdAt), expiresAt: iso(s.expiresAt) },
    };
  }

  /** ends every session of a user, or of a whole tenant, on every instance */
  async endSessions(ns: Namespace, tenantId: string, userName?: string): Promise<number> {
    const sids = await this.d.sessions.sessionIds(ns, tenantId, userName);
    const { ended } = await this.d.sessions.revise(sids, async (s) => (s.identity.claims.tenant === tenantId && (userName === undefined || s.identity.claims.user_name === userName) ? null : undefined));
    return ended;
  }

  syncs(filter: SyncFilter, limit: number): Promise<SyncRecord[]> {
    return this.d.syncLog.list(filter, limit);
  }

  /** newest first; sync records have their own page */
  async audit(filter: AuditFilter, limit: number): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    for (const e of await this.d.store.listAudit(this.auditWindow)) {
      if (e.action === 'sync') continue;
      if (filter.action && !e.action.startsWith(filter.action)) continue;
      if (filter.actor && e.actor !== filter.actor) continue;
      if (filter.tenantId && e.target.split('/')[2] !== filter.tenantId) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  keys(): KeySummary[] {
    const now = Date.now();
    return this.d.keys.states().map((k) => ({
      kid: k.kid,
      alg: k.alg,
      state: k.signing ? 'signing' : k.signsFrom > now ? 'published' : 'retiring',
      createdAt: iso(k.createdAt),
      signsFrom: iso(k.signsFrom),
      ...(k.signsUntil !== undefined ? { signsUntil: iso(k.signsUntil) } : {}),
      ...(k.publishedUntil !== undefined ? { publishedUntil: iso(k.publishedUntil) } : {}),
    }));
  }

  async rotateKey(): Promise<KeySummary> {
    const kid = await this.d.keys.rotate();
    return this.keys().find((k) => k.kid === kid)!;
  }

  async health(): Promise<Health> {
    let ready = true;
    let reason: string | undefined;
    try {
      await this.d.store.ping();
    } catch (e) {
      ready = false;
      reason = (e as Error).message;
    }
    return { store: this.d.store.kind, ready, ...(reason ? { reason } : {}), figures: figures(this.d.metrics.render()) };
  }
}

export interface Health {
  store: string;
  ready: boolean;
  reason?: string;
  /** the metrics endpoint's counters, summed per metric and first label */
  figures: Array<{ metric: string; label?: string; value: number }>;
}

/** the Prometheus text, reduced to totals an operator can read: counters per metric and label set */
export function figures(prom: string): Health['figures'] {
  const out: Health['figures'] = [];
  for (const line of prom.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1]!.endsWith('_bucket') || m[1]!.endsWith('_sum')) continue;
    out.push({ metric: m[1]!, ...(m[2] ? { label: m[2] } : {}), value: Number(m[3]) });
  }
  return out;
}

export const INTERFACES: readonly string[] = Object.keys(SYNC_SCHEMAS);

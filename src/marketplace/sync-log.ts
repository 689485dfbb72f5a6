// What the console's sync log shows: one audit record per push that reached the gateway's checks
// — interface, tenant (only once the body's signature verified), result code and message, size,
// duration. Never a body, a header value or a secret. Records share the audit log and its
// retention (AUDIT_MAX_ROWS); reading scans the newest `window` audit records.
import type { AuditEvent, Store } from '../store/store.ts';
import type { Namespace } from '../identity/identity.ts';

export const SYNC_ACTION = 'sync';

export interface SyncRecord {
  interface: string;
  /** known once the signature verified; absent for refusals before that */
  tenantId?: string;
  ns?: Namespace;
  resultCode: string;
  resultMsg: string;
  /** ISO 8601 */
  at: string;
  bytes: number;
  ms: number;
}

export interface SyncFilter {
  tenantId?: string;
  interface?: string;
  resultCode?: string;
  /** only results other than 000000 */
  failed?: boolean;
}

export class SyncLog {
  constructor(
    private readonly store: Store,
    /** audit records read per listing */
    private readonly window = 20_000,
  ) {}

  async record(r: Omit<SyncRecord, 'at'>, at = new Date()): Promise<void> {
    const detail: AuditEvent['detail'] = { interface: r.interface, resultCode: r.resultCode, resultMsg: r.resultMsg.slice(0, 300), bytes: r.bytes, ms: r.ms };
    if (r.ns) detail.ns = r.ns;
    const target = r.tenantId ? `${r.ns ?? 'prod'}/tenant/${r.tenantId}` : '-';
    await this.store.write([], [{ at: at.toISOString(), actor: 'marketplace', action: SYNC_ACTION, target, detail }]);
  }

  /** newest first */
  async list(filter: SyncFilter = {}, limit = 100): Promise<SyncRecord[]> {
    const out: SyncRecord[] = [];
    for (const e of await this.store.listAudit(this.window)) {
      if (e.action !== SYNC_ACTION || !e.detail) continue;
      const r = toRecord(e);
      if (filter.tenantId !== undefined && r.tenantId !== filter.tenantId) continue;
      if (filter.interface !== undefined && r.interface !== filter.interface) continue;
      if (filter.resultCode !== undefined && r.resultCode !== filter.resultCode) continue;
      if (filter.failed && r.resultCode === '000000') continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }
}

function toRecord(e: AuditEvent): SyncRecord {
  const d = e.detail!;
  const m = /^(prod|debug)\/tenant\/(.+)$/.exec(e.target);
  return {
    interface: String(d.interface ?? ''),
    ...(m ? { ns: m[1] as Namespace, tenantId: m[2]! } : {}),
    resultCode: String(d.resultCode ?? ''),
    resultMsg: String(d.resultMsg ?? ''),
    at: e.at,
    bytes: Number(d.bytes ?? 0),
    ms: Number(d.ms ?? 0),
  };
}

// Turns one verified, validated sync message into directory changes (spec §10.3):
// add/modify = upsert, delete = delete-if-present (still success), authSync flag 3 = cancelled.
import type { KeyObject } from 'node:crypto';
import type { AuditEvent } from '../store/store.ts';
import type { ApplyResult, Directory, UserChange } from '../directory/directory.ts';
import { appAad } from '../directory/model.ts';
import type { Namespace } from '../identity/identity.ts';
import type { SecretBox } from '../directory/secret-box.ts';
import { mapInSlices } from '../store/slices.ts';
import { decryptClientSecret } from './client-secret.ts';
import { RESULT, SyncError } from './errors.ts';
import type { SyncKind, SyncMessage } from './messages.ts';

export interface ApplyContext {
  directory: Directory;
  atRest: SecretBox;
  /** null when BRIDGE_CLIENT_SECRET_KEY is not set */
  clientSecretKey: KeyObject | null;
}

export function namespaceOf(testFlag: number): Namespace {
  return testFlag === 1 ? 'debug' : 'prod';
}

function detail(kind: SyncKind, m: { flag?: unknown; testFlag: number; timeStamp: string; instanceId: string }): AuditEvent['detail'] {
  return { interface: kind, flag: typeof m.flag === 'number' ? m.flag : null, testFlag: m.testFlag, timeStamp: m.timeStamp, instanceId: m.instanceId };
}

/** applicationSync add/modify: decrypt the client secret (000101 on any failure) */
export function openClientSecret(ctx: ApplyContext, ciphertext: unknown): string {
  if (!ctx.clientSecretKey) throw new SyncError(RESULT.clientSecret, 'something wrong with appSecret: no client-secret key is configured (BRIDGE_CLIENT_SECRET_KEY)');
  try {
    return decryptClientSecret(ctx.clientSecretKey, ciphertext);
  } catch (e) {
    throw new SyncError(RESULT.clientSecret, 'something wrong with appSecret', { cause: e });
  }
}

export async function applySync<K extends SyncKind>(kind: K, message: SyncMessage<K>, ctx: ApplyContext): Promise<ApplyResult> {
  const d = ctx.directory;
  switch (kind) {
    case 'tenantSync': {
      const m = message as SyncMessage<'tenantSync'>;
      const ns = namespaceOf(m.testFlag);
      if (m.flag === 0) return d.deleteTenant(ns, m.tenantId, m.timeStamp, detail(kind, m));
      return d.upsertTenant(
        ns,
        { tenantId: m.tenantId, tenantCode: m.tenantCode.trim(), name: m.name, domainName: m.domainName, instanceId: m.instanceId, orderId: m.orderId, version: m.timeStamp },
        detail(kind, m),
      );
    }
    case 'applicationSync': {
      const m = message as SyncMessage<'applicationSync'>;
      const ns = namespaceOf(m.testFlag);
      if (m.flag === 0) return d.deleteApp(ns, m.tenantId, m.appId, m.timeStamp, detail(kind, m));
      const secret = openClientSecret(ctx, m.clientSecret);
      return d.upsertApp(
        ns,
        {
          tenantId: m.tenantId,
          appId: m.appId,
          clientId: m.clientId.trim(),
          clientSecretSealed: ctx.atRest.seal(secret, appAad(ns, m.tenantId, m.appId)),
          instanceId: m.instanceId,
          version: m.timeStamp,
        },
        detail(kind, m),
      );
    }
    case 'authSync': {
      const m = message as SyncMessage<'authSync'>;
      const changes: UserChange[] = await mapInSlices(m.userList, (u): UserChange => {
        if (m.flag === 0) return { op: 'delete', userName: u.userName };
        if (m.flag === 3) return { op: 'cancel', userName: u.userName };
        const { userName, name, orgCode, role, enabled, position, employeeCode, employeeType, mobile, email, workPlace, entryDate } = u;
        const optional = { position, employeeCode, mobile, email, workPlace, entryDate };
        return {
          op: 'upsert',
          user: {
            userName,
            name,
            orgCode,
            role,
            enabled,
            ...(employeeType !== undefined ? { employeeType } : {}),
            ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== '')),
          },
        };
      });
      return d.applyUsers(namespaceOf(m.testFlag), m.tenantId, m.appId, m.timeStamp, changes, detail(kind, m));
    }
    case 'singleOrgSync': {
      const m = message as SyncMessage<'singleOrgSync'>;
      const ns = namespaceOf(m.testFlag);
      if (m.flag === 0) return d.deleteOrg(ns, m.tenantId, m.orgCode, m.timeStamp, detail(kind, m));
      return d.upsertOrg(ns, { tenantId: m.tenantId, orgCode: m.orgCode, orgName: m.orgName, parentCode: m.parentCode, version: m.timeStamp }, detail(kind, m));
    }
    case 'allOrgSync': {
      const m = message as SyncMessage<'allOrgSync'>;
      const orgs = m.orgInfoList.map((o) => ({ tenantId: m.tenantId, orgCode: o.orgCode, orgName: o.orgName, parentCode: o.parentCode, version: m.timeStamp }));
      return d.replaceOrgs(namespaceOf(m.testFlag), m.tenantId, orgs, m.timeStamp, detail(kind, m));
    }
    default:
      throw new SyncError(RESULT.invalidParam, `param is invalid: unknown interface ${String(kind)}`);
  }
}

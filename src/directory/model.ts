// The identity model as stored. Records are JSON documents in the store, versioned by the
// marketplace's body timeStamp (yyyyMMddHHmmssSSS, fixed width, so string order = time order).
import type { Namespace } from '../identity/identity.ts';

export interface TenantRecord {
  tenantId: string;
  tenantCode: string;
  name: string;
  /** as received in tenantSync */
  domainName: string;
  instanceId: string;
  orderId: string;
  version: string;
}

export interface AppRecord {
  tenantId: string;
  appId: string;
  clientId: string;
  /** the decrypted client secret, sealed with the at-rest key (aad: appAad()) */
  clientSecretSealed: string;
  instanceId: string;
  version: string;
}

export type Role = 'admin' | 'user';

export interface UserRecord {
  tenantId: string;
  appId: string;
  userName: string;
  /** stable local account id */
  sub: string;
  name: string;
  orgCode: string;
  role: Role;
  /** authSync `enable` */
  enabled: boolean;
  /** authSync flag 3: the authorization was cancelled (kept so the refusal can say so) */
  cancelled: boolean;
  email?: string;
  mobile?: string;
  position?: string;
  employeeCode?: string;
  employeeType?: number;
  workPlace?: string;
  entryDate?: string;
  version: string;
}

export interface OrgRecord {
  tenantId: string;
  orgCode: string;
  orgName: string;
  parentCode: string;
  version: string;
}

export const col = {
  tenant: (ns: Namespace) => `${ns}:tenant`,
  tenantCode: (ns: Namespace) => `${ns}:tenant-code`,
  app: (ns: Namespace, tenantId: string) => `${ns}:app:${tenantId}`,
  user: (ns: Namespace, tenantId: string) => `${ns}:user:${tenantId}`,
  org: (ns: Namespace, tenantId: string) => `${ns}:org:${tenantId}`,
};

export function appAad(ns: Namespace, tenantId: string, appId: string): string {
  return `client-secret|${ns}|${tenantId}|${appId}`;
}

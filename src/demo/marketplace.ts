// The marketplace (KooGallery) side of the demo: builds the five pushes as the marketplace does,
// signs them with the seller's access key and POSTs them to the gateway's real endpoints.
import { randomBytes, type KeyObject } from 'node:crypto';
import { encryptClientSecret } from '../marketplace/client-secret.ts';
import { signKitBody } from '../marketplace/signature.ts';
import { timeStampClock } from '../marketplace/timestamp.ts';
import { msg, type Msg } from '../web/i18n.ts';

export type PushKind = 'tenantSync' | 'applicationSync' | 'authSync' | 'singleOrgSync' | 'allOrgSync';

export interface PushRecord {
  kind: PushKind;
  tenantId: string;
  /** what the push did, for the demo's log (shown in the page's language) */
  summary: Msg;
  resultCode: string;
  resultMsg: string;
  at: string;
}

export interface DemoUser {
  userName: string;
  name: string;
  orgCode: string;
  role: 'admin' | 'user';
  email?: string;
}

export interface DemoTenant {
  tenantId: string;
  tenantCode: string;
  name: string;
  /** OneAccess base URL (tenantSync.domainName) */
  domainName: string;
  clientId: string;
  clientSecret: string;
  orgs: Array<{ orgCode: string; orgName: string; parentCode?: string }>;
}

export class Marketplace {
  readonly log: PushRecord[] = [];
  private readonly timeStamp = timeStampClock();

  constructor(
    private readonly syncBase: string,
    private readonly accessKey: string,
    /** the public half of the seller's key pair, registered in Seller Center */
    private readonly sellerPublicKey: KeyObject,
    readonly appId: string,
  ) {}

  async push(kind: PushKind, body: Record<string, unknown>, summary: Msg): Promise<PushRecord> {
    const raw = JSON.stringify({ ...body, timeStamp: this.timeStamp() });
    const timestamp = String(Date.now());
    const nonce = randomBytes(32).toString('hex').toUpperCase();
    const res = await fetch(`${this.syncBase}/produceAPI/v2/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sign': signKitBody(this.accessKey, nonce, timestamp, raw), 'x-timestamp': timestamp, 'x-nonce': nonce },
      body: raw,
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await res.json()) as { resultCode?: string; resultMsg?: string };
    const record: PushRecord = { kind, tenantId: String(body.tenantId), summary, resultCode: answer.resultCode ?? `HTTP ${res.status}`, resultMsg: answer.resultMsg ?? '', at: new Date().toISOString() };
    this.log.unshift(record);
    if (this.log.length > 50) this.log.length = 50;
    return record;
  }

  /** buy: the tenant's order opens it (tenantSync flag 1) */
  buy(t: DemoTenant): Promise<PushRecord> {
    return this.push('tenantSync', { instanceId: `inst-${t.tenantId}`, orderId: `CS-${t.tenantCode}`, tenantId: t.tenantId, tenantCode: t.tenantCode, name: t.name, domainName: t.domainName, flag: 1, testFlag: 0 }, msg('demo.log.opened', { tenant: t.name }));
  }

  /** bind: the app's OneAccess client, its secret RSA-OAEP encrypted with the seller's public key */
  bind(t: DemoTenant): Promise<PushRecord> {
    return this.push(
      'applicationSync',
      { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, appId: this.appId, clientId: t.clientId, clientSecret: encryptClientSecret(this.sellerPublicKey, t.clientSecret), flag: 1, testFlag: 0 },
      msg('demo.log.bound', { tenant: t.name, client: t.clientId }),
    );
  }

  orgs(t: DemoTenant): Promise<PushRecord> {
    return this.push('allOrgSync', { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, orgInfoList: t.orgs, testFlag: 0 }, msg('demo.log.orgs', { tenant: t.name, count: t.orgs.length }));
  }

  /** authSync: flag 1 add, 2 modify, 3 cancel authorization, 0 delete */
  authorize(t: DemoTenant, flag: 0 | 1 | 2 | 3, users: Array<DemoUser & { enabled?: boolean }>, summary: Msg): Promise<PushRecord> {
    const userList = users.map((u) => ({ userName: u.userName, name: u.name, orgCode: u.orgCode, role: u.role, enable: String(u.enabled ?? true), ...(u.email ? { email: u.email } : {}) }));
    return this.push('authSync', { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, appId: this.appId, flag, userList, currentSyncTime: this.timeStamp(), testFlag: 0 }, summary);
  }

  /** the tenant's subscription ends: tenantSync flag 0 */
  deleteTenant(t: DemoTenant): Promise<PushRecord> {
    return this.push('tenantSync', { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, flag: 0, testFlag: 0 }, msg('demo.log.deleted', { tenant: t.name }));
  }
}

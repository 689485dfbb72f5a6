// The five sync messages (spec §5), validated after the signature. Accepts the documented
// variants: numeric strings for flags, userList / orgInfoList as an array or a JSON string,
// `name` as an alias of `orgName`, user fields nested in `extension`.
import { z } from 'zod';
import { parseLenientJson } from './canonical-json.ts';

const text = (max: number) => z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') }).max(max, `must be at most ${max} characters`);
const nonEmpty = (max: number) => text(max).trim().min(1, 'must not be empty');
const optionalText = (max: number) =>
  z
    .union([z.string(), z.null()], { error: 'must be a string' })
    .optional()
    .transform((v) => v ?? '')
    .pipe(z.string().max(max, `must be at most ${max} characters`));

/** Integer(2) fields: JSON numbers, or numeric strings (accepted for interpretation only) */
const intFlag = (allowed: readonly number[]) =>
  z
    .union([z.number(), z.string()], { error: (i) => (i.input === undefined ? 'is required' : 'must be a number') })
    .transform((v, ctx) => {
      const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!allowed.includes(n)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${allowed.join(', ')}` });
        return z.NEVER;
      }
      return n;
    });

/** yyyyMMddHHmmssSSS, UTC+8 */
const timeStamp = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .regex(/^\d{17}$/, 'must be 17 digits (yyyyMMddHHmmssSSS)')
  .refine((s) => isValidTimeStamp(s), 'is not a real date and time');

export function isValidTimeStamp(s: string): boolean {
  const [y, mo, d, h, mi, se] = [s.slice(0, 4), s.slice(4, 6), s.slice(6, 8), s.slice(8, 10), s.slice(10, 12), s.slice(12, 14)].map(Number) as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h, mi, se));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo! - 1 && date.getUTCDate() === d && h! < 24 && mi! < 60 && se! < 60;
}

/** a list that may arrive as an array or as a JSON (or lenient JSON) string */
const listOrString = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      try {
        return parseLenientJson(v);
      } catch {
        return v;
      }
    },
    z.array(item, { error: 'must be an array (or a JSON string holding one)' }),
  );

const common = {
  instanceId: optionalText(64),
  testFlag: intFlag([0, 1]),
  timeStamp,
};

const domainName = nonEmpty(255).refine((s) => {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`;
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && !u.search && !u.hash;
}, 'must be a host name or an http(s) URL without credentials, query or fragment');

export const tenantSyncSchema = z
  .object({
    ...common,
    orderId: optionalText(64),
    tenantId: nonEmpty(64),
    flag: intFlag([0, 1, 2]),
    tenantCode: optionalText(64),
    name: optionalText(255),
    domainName: z.unknown().optional(),
  })
  .superRefine((m, ctx) => {
    if (m.flag === 0) return; // a delete needs only the key
    if (!m.tenantCode.trim()) ctx.addIssue({ code: 'custom', path: ['tenantCode'], message: 'is required for add and modify' });
    if (!m.name.trim()) ctx.addIssue({ code: 'custom', path: ['name'], message: 'is required for add and modify' });
    const r = domainName.safeParse(m.domainName);
    if (!r.success) ctx.addIssue({ code: 'custom', path: ['domainName'], message: r.error.issues[0]?.message ?? 'is invalid' });
  })
  .transform((m) => ({ ...m, domainName: typeof m.domainName === 'string' ? m.domainName.trim() : '' }));

export const applicationSyncSchema = z
  .object({
    ...common,
    tenantId: nonEmpty(64),
    appId: nonEmpty(64),
    flag: intFlag([0, 1, 2]),
    clientId: optionalText(64),
    /** checked here for presence only; decrypted after validation */
    clientSecret: z.unknown().optional(),
  })
  .superRefine((m, ctx) => {
    if (m.flag === 0) return;
    if (!m.clientId.trim()) ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'is required for add and modify' });
  });

const userSchema = z
  .object({
    userName: nonEmpty(64),
    name: optionalText(64),
    orgCode: optionalText(64),
    position: optionalText(64),
    employeeCode: optionalText(64),
    employeeType: z.union([z.number().int(), z.string().regex(/^\d{1,11}$/), z.null()]).optional(),
    role: z
      .union([z.string(), z.null()])
      .optional()
      .transform((v) => (v ?? 'user').trim().toLowerCase())
      .pipe(z.enum(['user', 'admin'], { error: 'must be "user" or "admin"' })),
    enable: z
      .union([z.string(), z.boolean(), z.null()])
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === null) return true; // absent on delete/cancel items
        if (typeof v === 'boolean') return v;
        const t = v.trim().toLowerCase();
        if (t === 'true') return true;
        if (t === 'false') return false;
        ctx.addIssue({ code: 'custom', message: 'must be "true" or "false"' });
        return z.NEVER;
      }),
    mobile: optionalText(32),
    email: optionalText(128),
    workPlace: optionalText(256),
    entryDate: optionalText(20),
    extension: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .transform((u) => {
    // V1 nested some fields in `extension`; a top-level value wins
    const ext = u.extension ?? {};
    const pick = (k: string, own: string) => own || (typeof ext[k] === 'string' || typeof ext[k] === 'number' ? String(ext[k]) : '');
    const employeeType = u.employeeType ?? (ext.employeeType as number | string | null | undefined) ?? undefined;
    return {
      userName: u.userName.trim(),
      name: u.name,
      orgCode: u.orgCode,
      role: u.role,
      enabled: u.enable,
      position: u.position,
      employeeCode: u.employeeCode,
      employeeType: employeeType === undefined || employeeType === null || employeeType === '' ? undefined : Number(employeeType),
      mobile: u.mobile,
      email: u.email,
      workPlace: pick('workPlace', u.workPlace),
      entryDate: pick('entryDate', u.entryDate),
    };
  });

export type SyncUser = z.output<typeof userSchema>;

export const authSyncSchema = z
  .object({
    ...common,
    tenantId: nonEmpty(64),
    appId: nonEmpty(64),
    flag: intFlag([0, 1, 2, 3]),
    currentSyncTime: z.union([timeStamp, z.literal(''), z.null()]).optional(),
    userList: listOrString(userSchema),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.userList.forEach((u, i) => {
      if (seen.has(u.userName)) ctx.addIssue({ code: 'custom', path: ['userList', i, 'userName'], message: 'appears twice in this message' });
      seen.add(u.userName);
      if (m.flag === 1 || m.flag === 2) {
        if (!u.name.trim()) ctx.addIssue({ code: 'custom', path: ['userList', i, 'name'], message: 'is required for add and modify' });
      }
    });
  });

const orgSchema = z
  .object({
    orgCode: nonEmpty(64),
    orgName: optionalText(128),
    name: optionalText(128),
    parentCode: optionalText(64),
  })
  .transform((o) => ({ orgCode: o.orgCode.trim(), orgName: o.orgName || o.name, parentCode: o.parentCode }))
  .refine((o) => o.orgName.trim() !== '', { path: ['orgName'], message: 'is required (orgName, or its alias name)' });

export type SyncOrg = z.output<typeof orgSchema>;

export const singleOrgSyncSchema = z
  .object({
    ...common,
    tenantId: nonEmpty(64),
    flag: intFlag([0, 1, 2]),
    orgCode: nonEmpty(64),
    orgName: optionalText(128),
    name: optionalText(128),
    parentCode: optionalText(64),
  })
  .transform((m) => ({ ...m, orgCode: m.orgCode.trim(), orgName: m.orgName || m.name }))
  .superRefine((m, ctx) => {
    if (m.flag !== 0 && !m.orgName.trim()) ctx.addIssue({ code: 'custom', path: ['orgName'], message: 'is required for add and modify (orgName, or its alias name)' });
    if (m.parentCode && m.parentCode === m.orgCode) ctx.addIssue({ code: 'custom', path: ['parentCode'], message: 'must not equal orgCode' });
  });

export const allOrgSyncSchema = z
  .object({
    ...common,
    tenantId: nonEmpty(64),
    flag: z.unknown().optional(),
    orgInfoList: listOrString(orgSchema),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.orgInfoList.forEach((o, i) => {
      if (seen.has(o.orgCode)) ctx.addIssue({ code: 'custom', path: ['orgInfoList', i, 'orgCode'], message: 'appears twice in this message' });
      seen.add(o.orgCode);
    });
  });

export const SYNC_SCHEMAS = {
  tenantSync: tenantSyncSchema,
  applicationSync: applicationSyncSchema,
  authSync: authSyncSchema,
  singleOrgSync: singleOrgSyncSchema,
  allOrgSync: allOrgSyncSchema,
} as const;

export type SyncKind = keyof typeof SYNC_SCHEMAS;
export type SyncMessage<K extends SyncKind> = z.output<(typeof SYNC_SCHEMAS)[K]>;

/**
 * A verified body's plain form checked against its interface's schema: the validated message or
 * the problem in words, plus the tenant it names (for the sync log and the access log) even when
 * it is invalid. Plain data only, so a verification worker can hand it to the main thread.
 */
export type CheckedMessage = {
  /** the body's tenantId when it is a string of at most 64 characters */
  tenantId?: string;
  /** whether the body's testFlag says seller debug data (1 or "1") */
  debug: boolean;
} & ({ ok: true; data: unknown } | { ok: false; message: string });

export function checkMessage(kind: SyncKind, plain: unknown): CheckedMessage {
  const body = plain && typeof plain === 'object' ? (plain as Record<string, unknown>) : null;
  const tenant = body && typeof body.tenantId === 'string' && body.tenantId.length <= 64 ? { tenantId: body.tenantId } : {};
  const debug = body?.testFlag === 1 || body?.testFlag === '1';
  const parsed = SYNC_SCHEMAS[kind].safeParse(plain);
  return parsed.success ? { ...tenant, debug, ok: true, data: parsed.data } : { ...tenant, debug, ok: false, message: describeIssues(parsed.error) };
}

/** the first problem, phrased with its field path: `userList[3].enable must be "true" or "false"` */
export function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 5).map((i) => {
    const path = i.path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
    return `${path || 'body'} ${i.message}`;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return `param is invalid: ${issues.join('; ')}${more}`;
}

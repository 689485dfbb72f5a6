// Directory changes reach live sessions: a role, name, e-mail, mobile or department change in an
// authSync, or a tenant rename, rewrites the identity of every session it concerns with the same
// decision as at sign-in (over what OneAccess said then); a session whose person may no longer
// sign in ends. Runs on the instance that received the push, before it answers; the others drop
// their snapshots through the store's publish/subscribe (Sessions.revise).
import type { Directory, DirectoryEffect } from '../directory/directory.ts';
import { nextTurn } from '../store/slices.ts';
import type { TenantRecord, UserRecord } from '../directory/model.ts';
import type { Namespace } from '../identity/identity.ts';
import type { ActiveSession, Established, Sessions, UpstreamProfile } from '../session/sessions.ts';
import { materialized, profileOfRecord } from '../session/record.ts';
import { LoginError } from './errors.ts';
import { compact, type SessionIdentity, type UpstreamIdentity } from '../identity/identity.ts';
import { decideSignIn, type SignInPolicy } from './policy.ts';

export interface LiveIdentityDeps {
  directory: Directory;
  sessions: Sessions;
  policy: SignInPolicy;
}

/** what the session keeps of what OneAccess said, for later revisions */
export function profileOf(id: UpstreamIdentity): UpstreamProfile {
  return compact({ name: id.name, email: id.email, mobile: id.mobile, orgCode: id.orgCode });
}

/** what OneAccess said at sign-in, rebuilt from the session (older sessions: from their claims) */
export function upstreamOf(s: ActiveSession): UpstreamIdentity {
  const c = s.identity.claims;
  const p = profileOfRecord(s) ?? { name: c.name, email: c.email, mobile: c.mobile, orgCode: c.org_code };
  return { protocol: c.idp === 'oneaccess-cas' ? 'cas' : 'oauth', tenantId: c.tenant, userName: c.user_name, ...p };
}

/** the identity this session's person has now; null when they may no longer sign in */
export function reviseIdentity(s: ActiveSession, tenant: TenantRecord | null, user: UserRecord | null, directory: Directory, policy: SignInPolicy): SessionIdentity | null {
  const { ns, claims } = s.identity;
  if (!tenant) return null;
  try {
    return { ns, claims: decideSignIn(tenant, user, upstreamOf(s), (u) => directory.accountId(ns, tenant.tenantId, u), policy) };
  } catch (e) {
    if (e instanceof LoginError) return null;
    throw e;
  }
}

const same = (a: SessionIdentity, b: SessionIdentity) => JSON.stringify(a.claims) === JSON.stringify(b.claims);

/**
 * index reads sent at once: issuing them and, a round trip later, taking their answers are one
 * turn of the event loop each (500 parallel reads held it 20–45 ms on Redis, bench/big-push.ts)
 */
const INDEX_READS = 100;

/** applies a committed sync's identity changes to the live sessions; returns how many changed or ended */
export async function reviseSessions(effects: readonly DirectoryEffect[], d: LiveIdentityDeps): Promise<{ changed: number; ended: number }> {
  const sids = new Set<string>();
  // a big authSync has thousands of effects: their index reads go out a slice at a time, in
  // parallel, with a turn of the event loop between slices
  for (let i = 0; i < effects.length; i += INDEX_READS) {
    if (i > 0) await nextTurn();
    const found = await Promise.all(
      effects.slice(i, i + INDEX_READS).map((e) =>
        e.kind === 'user-changed' ? d.sessions.sessionIds(e.ns, e.tenantId, e.userName) : e.kind === 'tenant-changed' && !e.removed ? d.sessions.sessionIds(e.ns, e.tenantId) : [],
      ),
    );
    for (const list of found) for (const sid of list) sids.add(sid);
  }
  if (!sids.size) return { changed: 0, ended: 0 };
  // a tenant's sessions share its record, a user's sessions their record: read each once
  const tenants = new Map<string, Promise<TenantRecord | null>>();
  const users = new Map<string, Promise<UserRecord | null>>();
  const tenantOf = (ns: Namespace, id: string) => memo(tenants, `${ns}\0${id}`, () => d.directory.getTenant(ns, id));
  const userOf = (ns: Namespace, id: string, name: string) => memo(users, `${ns}\0${id}\0${name}`, () => d.directory.getUser(ns, id, name));
  return d.sessions.revise(sids, async (s) => {
    const { ns, claims } = s.identity;
    const next = reviseIdentity(s, await tenantOf(ns, claims.tenant), await userOf(ns, claims.tenant, claims.user_name), d.directory, d.policy);
    return next && same(next, s.identity) ? undefined : next;
  });
}

/**
 * Right after Sessions.establish stored a sign-in: a push that landed while it was being decided
 * found no record to revise (the sign-in had read the directory before the push, and stored its
 * session after the push looked for sessions), so the directory is read once more. From the
 * stored record on, pushes find the session themselves. Answers the identity the session now has,
 * or null when the person may no longer sign in (the session is ended).
 */
export async function settleSignIn(e: Established, d: LiveIdentityDeps): Promise<SessionIdentity | null> {
  const s = e.session;
  const { ns, claims } = s.identity;
  const [tenant, user] = await Promise.all([d.directory.getTenant(ns, claims.tenant), d.directory.getUser(ns, claims.tenant, claims.user_name)]);
  const next = reviseIdentity(s, tenant, user, d.directory, d.policy);
  if (!next) {
    await d.sessions.end(e.sid, s);
    return null;
  }
  if (same(next, s.identity)) return s.identity;
  // the record's profile marker means "the claims signed in with": written out before they change
  const upstream = materialized(s);
  if (upstream) e.record.upstream = e.session.upstream = upstream;
  e.record.identity = next;
  e.session.identity = next;
  await d.sessions.write(e.sid, e.record);
  return next;
}

function memo<T>(m: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = m.get(key);
  if (!p) m.set(key, (p = load()));
  return p;
}

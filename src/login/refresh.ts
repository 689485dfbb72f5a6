// Keeps the upstream access token fresh: refreshed once shortly before it expires, single-flight
// per session within the process (a shared promise) and across instances (a lock in the store;
// the loser waits for the winner's result by re-reading the session). A failed refresh ends the
// session cleanly.
import type { Request } from 'express';
import type { Store } from '../store/store.ts';
import type { Sessions } from '../session/sessions.ts';
import { LoginError } from './errors.ts';
import type { UpstreamTokens } from '../identity/identity.ts';
import { msg } from '../web/i18n.ts';

export interface RefreshDeps {
  store: Store;
  sessions: Sessions;
  skewMs: number;
  /** performs the refresh_token grant for this session's tenant app */
  refresh(req: Request, refreshToken: string): Promise<UpstreamTokens>;
  lockTtlMs?: number;
  waitMs?: number;
}

const inFlight = new Map<string, Promise<void>>();

function needsRefresh(req: Request, skewMs: number): boolean {
  const t = req.session.upstream?.tokens;
  return !!t && t.expiresAt - skewMs <= Date.now();
}

export async function ensureFresh(req: Request, deps: RefreshDeps): Promise<void> {
  if (!needsRefresh(req, deps.skewMs)) return;
  const sid = req.sessionID;
  let p = inFlight.get(sid);
  if (!p) {
    p = refreshOnce(req, deps).finally(() => inFlight.delete(sid));
    inFlight.set(sid, p);
    await p;
    return;
  }
  await p;
  // another request of this process refreshed: pick up its result
  await deps.sessions.reload(req);
  if (!req.session?.identity) throw new LoginError('session_expired', msg('refusal.sessionEnded'));
}

async function refreshOnce(req: Request, deps: RefreshDeps): Promise<void> {
  const lockKey = `lock:refresh:${req.sessionID}`;
  const lockTtl = deps.lockTtlMs ?? 15_000;
  const got = await deps.store.putTemp(lockKey, String(process.pid), lockTtl, { ifAbsent: true });
  if (!got) {
    // another instance is refreshing this session: wait for the stored session to change
    const deadline = Date.now() + (deps.waitMs ?? lockTtl);
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      await deps.sessions.reload(req).catch(() => undefined);
      if (!req.session?.identity) throw new LoginError('session_expired', msg('refusal.sessionEnded'));
      if (!needsRefresh(req, deps.skewMs)) return;
    }
    throw new LoginError('upstream_timeout', msg('refusal.refreshSlow'));
  }
  try {
    const refreshToken = req.session.upstream?.tokens?.refreshToken;
    if (!refreshToken) throw new LoginError('session_expired', msg('refusal.sessionEnded'));
    let tokens: UpstreamTokens;
    try {
      tokens = await deps.refresh(req, refreshToken);
    } catch (e) {
      await deps.sessions.end(req).catch(() => undefined);
      if (e instanceof LoginError && e.code !== 'session_expired') throw new LoginError('session_expired', msg('refusal.refreshFailed'), { cause: e });
      throw e;
    }
    // a directory change may have rewritten the identity meanwhile: write back only the new tokens
    // (and a session that ended meanwhile must not be written back)
    const gone = await deps.sessions.reload(req).then(() => !req.session?.identity || !req.session.upstream, () => true);
    if (gone) throw new LoginError('session_expired', msg('refusal.sessionEnded'));
    req.session.upstream = { ...req.session.upstream!, tokens };
    await deps.sessions.save(req);
  } finally {
    await deps.store.deleteTemp([lockKey]).catch(() => undefined);
  }
}

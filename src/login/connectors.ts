// The connectors by protocol, as the routes and the session's refresh use them: whatever a
// session or a sign-in needs of its provider is asked of connectors[protocol] and its capabilities.
import type { TenantRecord } from '../directory/model.ts';
import { canRefresh, type Connector, type RefreshRequest } from '../identity/connector.ts';
import type { Protocol, UpstreamTokens } from '../identity/identity.ts';
import { LoginError } from './errors.ts';
import { msg } from '../web/i18n.ts';

export type Connectors = { readonly [P in Protocol]: Connector<TenantRecord> & { readonly protocol: P } };

/** the refresh grant for session/: the refresh capability of the connector the session signed in with */
export function refreshGrant(connectors: Connectors): (r: RefreshRequest) => Promise<UpstreamTokens> {
  return async (r) => {
    const c = connectors[r.protocol];
    // a protocol without refresh gave the session no tokens to renew: nothing keeps it alive upstream
    if (!canRefresh(c)) throw new LoginError('session_expired', msg('refusal.sessionEnded'), { cause: new Error(`${r.protocol} sessions cannot be refreshed`) });
    return c.refresh(r);
  };
}

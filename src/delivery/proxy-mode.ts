// Proxy mode: every request that is not the gateway's own goes to the app, with the identity
// headers of the session (client-sent ones stripped by the proxy). Browsers without a session are
// sent to /login with the original URL as return_to; API callers (Accept: application/json) get 401.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { createAppProxy, type AppProxy } from './proxy.ts';
import { forwarded } from '../web/forwarded.ts';
import type { createVerifier } from './verify.ts';
import type { SessionCache } from '../session/session-cache.ts';
import { sendError, wantsJson } from '../web/pages.ts';
import { msg } from '../web/i18n.ts';
import { canonicalPath } from '../web/canonical-path.ts';
import { setSecurityHeaders } from '../web/security-headers.ts';
import { gatewayPathMatcher } from '../web/routes.ts';
import { LOGIN_URL_HEADER } from '../identity/headers.ts';

/** paths the gateway answers itself (the declaration in src/web/routes.ts); everything else belongs to the app */
export function isGatewayPath(path: string, syncPrefix: string, consoleOn = false): boolean {
  return gatewayPathMatcher({ syncPrefix, consoleOn })(path);
}

export interface ProxyModeDeps {
  target: string;
  publicUrl: string;
  syncPrefix: string;
  /** the operator console is on: /admin is the gateway's */
  consoleOn?: boolean;
  verifier: ReturnType<typeof createVerifier>;
  /** session ids from cookies, and word of sessions that ended or changed on any instance */
  sessions: Pick<SessionCache, 'sessionId' | 'onDropped'>;
  onError(err: unknown): void;
}

export function createProxyMode(d: ProxyModeDeps) {
  const publicOrigin = new URL(d.publicUrl).origin;
  const isGatewayPath = gatewayPathMatcher({ syncPrefix: d.syncPrefix, consoleOn: d.consoleOn ?? false });
  const loginFor = (originalUrl: string) => `${d.publicUrl}/login?return_to=${encodeURIComponent(publicOrigin + originalUrl)}`;

  const proxy: AppProxy = createAppProxy({
    target: d.target,
    forwarded: (req) => {
      const r = req as Request;
      if ('app' in req) return forwarded(r);
      // upgrades arrive outside express: the socket peer, and the public URL's scheme
      return { for: req.socket.remoteAddress ?? '', proto: publicOrigin.startsWith('https:') ? 'https' : 'http', host: req.headers.host ?? new URL(publicOrigin).host };
    },
    authorize: async (req: IncomingMessage, res) => {
      // the same canonical path as forward-auth: the request target exactly as the browser sent it
      const path = () => canonicalPath(req.url ?? '');
      if (!res) {
        const v = await d.verifier.decide({ sid: d.sessions.sessionId(req.headers.cookie), path, loginUrl: () => loginFor(req.url ?? '/') });
        return v.ok ? { headers: v.headers } : { handled: true, status: v.status };
      }
      const r = req as Request;
      const w = res as Response;
      const v = await d.verifier.decide({ sid: d.sessions.sessionId(r.headers.cookie), path, loginUrl: () => loginFor(r.originalUrl) });
      if (v.ok) return { headers: v.headers };
      // from here on the gateway answers, not the app
      setSecurityHeaders(w);
      if (v.status === 401 && !wantsJson(r) && (r.method === 'GET' || r.method === 'HEAD')) {
        w.redirect(303, v.loginUrl!);
      } else if (v.status === 401) {
        w.status(401).set(LOGIN_URL_HEADER, v.loginUrl).json({ error: 'unauthenticated', error_description: 'sign in first', login_url: v.loginUrl });
      } else {
        sendError(r, w, { status: v.status, code: v.status === 400 ? 'bad_request' : v.status === 403 ? 'forbidden' : 'unavailable', message: msg(v.status === 400 ? 'proxy.400.message' : v.status === 403 ? 'refusal.forbidden' : 'refusal.unavailable'), description: v.reason, retry: v.status === 503 });
      }
      return { handled: true };
    },
    onError: (err) => d.onError(err),
  });

  // An open WebSocket carries the identity of its handshake: when its session ends, or the directory
  // changes its identity (a demotion), it is closed, and a client that reconnects gets the new one.
  const tunnels = new Map<string, Set<Duplex>>();
  const stopWatching = d.sessions.onDropped((sid) => {
    for (const socket of tunnels.get(sid) ?? []) socket.destroy();
    tunnels.delete(sid);
  });
  function track(sid: string, socket: Duplex): void {
    let open = tunnels.get(sid);
    if (!open) tunnels.set(sid, (open = new Set()));
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (open.size === 0 && tunnels.get(sid) === open) tunnels.delete(sid);
    });
  }

  return {
    middleware(req: Request, res: Response, next: NextFunction): void {
      if (isGatewayPath(req.path)) return next();
      proxy.handle(req, res);
    },
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const sid = d.sessions.sessionId(req.headers.cookie);
      if (sid) track(sid, socket);
      proxy.upgrade(req, socket, head);
    },
    close(): void {
      stopWatching();
      proxy.close();
    },
  };
}

// Proxy mode: everything the gateway does not serve itself goes to the app, streamed both ways,
// with identity headers from authorize() and forwarding headers from forwarded(). Built on
// node:http directly: bodies are piped (backpressure, no buffering) and either side going away
// tears down the other.
import http from 'node:http';
import https from 'node:https';
import { pipeline, type Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { documentHtml, escapeHtml, pageLanguage } from '../web/pages.ts';
import { translate } from '../web/i18n.ts';
import { isGatewayCookie, withoutCookies } from '../web/cookies.ts';
import { SECURITY_HEADERS } from '../web/security-headers.ts';
import { IDENTITY_HEADER, IDENTITY_HEADER_PREFIX } from '../identity/headers.ts';

export const IDENTITY_HEADERS: readonly string[] = Object.values(IDENTITY_HEADER).map((n) => n.toLowerCase());

/** removes every x-auth-request-* header: the whole family is ours to assert, now or in a later version */
export function stripIdentityHeaders(headers: IncomingHttpHeaders): void {
  for (const name of Object.keys(headers)) if (name.toLowerCase().startsWith(IDENTITY_HEADER_PREFIX)) delete headers[name];
}

export interface ProxyOptions {
  target: string;
  timeoutMs?: number;
  /** decides per request: identity headers to add, or a response already sent (e.g. redirect to login; for an upgrade, the status to refuse it with) */
  authorize(req: IncomingMessage, res: ServerResponse | null): Promise<{ headers: Record<string, string> } | { handled: true; status?: number }>;
  /** X-Forwarded-* as the gateway sees them (client IP, proto, host), computed by the caller from trusted proxies */
  forwarded(req: IncomingMessage): { for: string; proto: 'http' | 'https'; host: string };
  onError?(err: unknown, req: IncomingMessage): void;
}
type Forwarded = ReturnType<ProxyOptions['forwarded']>;

export interface AppProxy {
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

class UpstreamTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

export function createAppProxy(opts: ProxyOptions): AppProxy {
  const target = new URL(opts.target);
  const secure = target.protocol === 'https:';
  const prefix = target.pathname.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const agentOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 32 };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const report = (err: unknown, req: IncomingMessage): void => opts.onError?.(err, req);

  function send(req: IncomingMessage, headers: OutgoingHttpHeaders, pooled: boolean): ClientRequest {
    const request = secure ? https.request : http.request;
    const upReq = request({
      hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: target.port || (secure ? 443 : 80),
      method: req.method,
      path: prefix + req.url,
      headers,
      // a tunnel holds its socket for hours: keep it out of the pool so it cannot starve maxSockets
      agent: pooled ? agent : false,
    });
    watchDeadline(upReq, timeoutMs);
    return upReq;
  }

  function forward(req: IncomingMessage, res: ServerResponse, identity: Record<string, string>): void {
    const fwd = opts.forwarded(req);
    const upReq = send(req, upstreamHeaders(req, identity, fwd, target.host, false), true);
    let clientGone = false;
    res.on('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      upReq.destroy();
    });
    upReq.on('error', (err) => {
      if (clientGone) return;
      // stop feeding the dead upstream; drain the rest so the client's connection stays usable
      req.unpipe(upReq);
      req.resume();
      if (res.headersSent) return; // the response pipeline already ends the client side
      report(err, req);
      sendPage(req, res, err instanceof UpstreamTimeout ? 504 : 502);
    });
    upReq.on('response', (upRes) => {
      const publicOrigin = `${fwd.proto}://${fwd.host}`;
      const drop = hopByHop(upRes.headers.connection, false);
      const replaced = new Set<string>();
      const raw = upRes.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = raw[i]!;
        const lower = name.toLowerCase();
        if (drop(lower)) continue;
        // nor can the app set (or clear, or fixate) one of the gateway's cookies
        if (lower === 'set-cookie' && isGatewayCookie(raw[i + 1]!.split('=', 1)[0]!.trim())) continue;
        // upstream wins over headers the gateway set earlier, except cookies, which both may set
        if (lower !== 'set-cookie' && !replaced.has(lower)) {
          res.removeHeader(lower);
          replaced.add(lower);
        }
        const value = raw[i + 1]!;
        res.appendHeader(name, lower === 'location' ? rewriteLocation(value, target, prefix, publicOrigin) : value);
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage || undefined);
      // registered before pipeline() so a mid-body upstream failure is reported before the client side closes
      upRes.on('error', (err) => {
        if (!clientGone) report(err, req);
      });
      pipeline(upRes, res, () => {});
    });
    req.pipe(upReq);
  }

  function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, identity: Record<string, string>): void {
    const upReq = send(req, upstreamHeaders(req, identity, opts.forwarded(req), target.host, true), false);
    socket.once('close', () => upReq.destroy());
    upReq.on('error', (err) => {
      if (socket.destroyed) return;
      report(err, req);
      refuse(socket, err instanceof UpstreamTimeout ? 504 : 502);
    });
    // the app declined to switch protocols: relay its answer, then close
    upReq.on('response', (upRes) => {
      socket.write(responseHead(upRes, hopByHop(upRes.headers.connection, false), ['Connection: close']));
      pipeline(upRes, socket, () => {});
    });
    upReq.on('upgrade', (upRes, upSocket: Socket, upHead: Buffer) => {
      const upgrade = upRes.headers.upgrade;
      const extra = ['Connection: Upgrade', ...(upgrade ? [`Upgrade: ${upgrade}`] : [])];
      socket.write(responseHead(upRes, hopByHop(upRes.headers.connection, false), extra));
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      splice(socket, upSocket);
    });
    upReq.end();
  }

  return {
    handle(req, res) {
      if (!isOriginPath(req.url)) return sendPage(req, res, 400);
      opts
        .authorize(req, res)
        .then((decision) => {
          if ('handled' in decision || res.destroyed || res.headersSent) return;
          forward(req, res, decision.headers);
        })
        .catch((err: unknown) => {
          report(err, req);
          if (!res.headersSent && !res.destroyed) sendPage(req, res, 500);
        });
    },
    upgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      if (!isOriginPath(req.url)) return refuse(socket, 400);
      opts
        .authorize(req, null)
        .then((decision) => {
          if (socket.destroyed) return;
          if ('handled' in decision) return refuse(socket, decision.status ?? 401);
          tunnel(req, socket, head, decision.headers);
        })
        .catch((err: unknown) => {
          report(err, req);
          refuse(socket, 500);
        });
    },
    close() {
      agent.destroy();
    },
  };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** names that must not pass this hop: the fixed set, Proxy-*, and whatever Connection lists */
function hopByHop(connection: string | undefined, keepUpgrade: boolean): (lowerName: string) => boolean {
  const listed = new Set((connection ?? '').split(',').map((t) => t.trim().toLowerCase()));
  return (name) => {
    if (keepUpgrade && name === 'upgrade') return false;
    return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || listed.has(name);
  };
}

/** claims about the client that only the gateway may make; anything the client sent is dropped */
function isClientClaim(lowerName: string): boolean {
  return lowerName === 'forwarded' || lowerName === 'x-real-ip' || lowerName.startsWith('x-forwarded-');
}

/** host and framing are ours to set, so a Connection header cannot remove them; node's server already answered Expect */
const SET_BELOW = new Set(['host', 'content-length', 'expect']);

function upstreamHeaders(req: IncomingMessage, identity: Record<string, string>, fwd: Forwarded, targetHost: string, upgrade: boolean): OutgoingHttpHeaders {
  const incoming: IncomingHttpHeaders = { ...req.headers };
  stripIdentityHeaders(incoming);
  const drop = hopByHop(req.headers.connection, upgrade);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || drop(name) || isClientClaim(name) || SET_BELOW.has(name)) continue;
    out[name] = value;
  }
  out.host = targetHost;
  // the gateway's session, transaction and OIDC cookies are its own: the app (and its logs) never sees them
  const cookie = typeof out.cookie === 'string' ? withoutCookies(out.cookie, isGatewayCookie) : undefined;
  if (cookie) out.cookie = cookie;
  else delete out.cookie;
  if (req.headers['content-length'] !== undefined) out['content-length'] = req.headers['content-length'];
  else if (req.headers['transfer-encoding'] !== undefined) out['transfer-encoding'] = 'chunked';
  if (upgrade) out.connection = 'Upgrade';
  if (fwd.for) out['x-forwarded-for'] = fwd.for;
  out['x-forwarded-proto'] = fwd.proto;
  out['x-forwarded-host'] = fwd.host;
  out.forwarded = forwardedHeader(fwd);
  out.via = [req.headers.via, `${req.httpVersion} oneaccess-bridge`].filter(Boolean).join(', ');
  for (const [name, value] of Object.entries(identity)) out[name.toLowerCase()] = value;
  return out;
}

const TOKEN = /^[!#$%&'*+.^_`|~\w-]+$/;
const quoted = (v: string): string => (TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`);

/** RFC 7239: IPv6 nodes in brackets, and anything that is not a token (ports, brackets) quoted */
function forwardedHeader(fwd: Forwarded): string {
  const node = !fwd.for ? 'unknown' : fwd.for.includes(':') && !fwd.for.startsWith('[') ? `[${fwd.for}]` : fwd.for;
  return `for=${quoted(node)};proto=${fwd.proto};host=${quoted(fwd.host)}`;
}

/** an absolute Location on the app's own origin (under its prefix) becomes the same place on the gateway */
function rewriteLocation(value: string, target: URL, prefix: string, publicOrigin: string): string {
  if (!URL.canParse(value)) return value; // relative: already on whatever host the browser used
  const url = new URL(value);
  if (url.origin !== target.origin) return value;
  if (prefix && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return value;
  return publicOrigin + (url.pathname.slice(prefix.length) || '/') + url.search + url.hash;
}

/**
 * origin-form only, without dot segments: absolute-form would be sent on as a proxy request, and
 * `/../` (or `%2e%2e`, or `\`) could step out of the target's path prefix once the app normalises it.
 * Browsers never send either.
 */
function isOriginPath(url: string | undefined): boolean {
  if (!url?.startsWith('/')) return false;
  const path = url.split('?', 1)[0]!;
  return !/(?:^|[/\\])(?:\.|%2e){1,2}(?:[/\\]|$)/i.test(path);
}

/**
 * connect deadline, then a response-header deadline once the request body has gone out;
 * the upload and the response body themselves have none (they may legitimately take long)
 */
function watchDeadline(upReq: ClientRequest, ms: number): void {
  let timer: NodeJS.Timeout | undefined;
  let connected = false;
  let sent = false;
  let answered = false;
  const update = (): void => {
    clearTimeout(timer);
    timer = !answered && (!connected || sent) ? setTimeout(() => upReq.destroy(new UpstreamTimeout('upstream did not answer in time')), ms) : undefined;
  };
  upReq.once('socket', (socket: Socket) => {
    const onConnect = (): void => {
      connected = true;
      update();
    };
    if (socket.connecting) socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', onConnect);
    else onConnect();
  });
  upReq.once('finish', () => {
    sent = true;
    update();
  });
  const stop = (): void => {
    answered = true;
    update();
  };
  upReq.once('response', stop);
  upReq.once('upgrade', stop);
  upReq.once('close', stop);
  update();
}

function responseHead(upRes: IncomingMessage, drop: (lowerName: string) => boolean, extra: string[]): string {
  const lines = [`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage || http.STATUS_CODES[upRes.statusCode ?? 502] || ''}`];
  const raw = upRes.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (!drop(raw[i]!.toLowerCase())) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return [...lines, ...extra, '', ''].join('\r\n');
}

/** joins two sockets; either one failing or closing ends both */
function splice(a: Duplex, b: Duplex): void {
  const destroyBoth = (): void => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', destroyBoth);
    s.on('close', destroyBoth);
  }
  a.pipe(b);
  b.pipe(a);
}

function refuse(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

const PAGE_CODES: Record<400 | 500 | 502 | 504, string> = { 400: 'bad_request', 500: 'internal_error', 502: 'bad_gateway', 504: 'gateway_timeout' };

function sendPage(req: IncomingMessage, res: ServerResponse, status: keyof typeof PAGE_CODES): void {
  const code = PAGE_CODES[status];
  const json = prefersJson(req.headers.accept);
  const lang = json ? 'en' : pageLanguage(req);
  const title = translate(lang, `proxy.${status}.title`);
  const message = translate(lang, `proxy.${status}.message`);
  const body = json
    ? JSON.stringify({ error: code, error_description: message })
    : documentHtml(lang, title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p class="code">${escapeHtml(translate(lang, 'error.code', { code, status }))}</p>`);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** JSON when Accept ranks it above HTML; equal ranks go to whichever is listed first (browsers list HTML first) */
function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = rank(accept, 'application/json');
  const html = rank(accept, 'text/html');
  return json.q > html.q || (json.q > 0 && json.q === html.q && json.at < html.at);
}

/** q of the most specific range matching `type`, and where that range is listed */
function rank(accept: string, type: string): { q: number; at: number } {
  const family = `${type.split('/')[0]}/*`;
  let best = { specificity: -1, q: 0, at: Infinity };
  accept.split(',').forEach((part, at) => {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const specificity = range === type ? 2 : range === family ? 1 : range === '*/*' ? 0 : -1;
    if (specificity <= best.specificity) return;
    const q = params.find((p) => p.startsWith('q='));
    best = { specificity, q: q ? Number(q.slice(2)) || 0 : 1, at };
  });
  return { q: best.q, at: best.at };
}

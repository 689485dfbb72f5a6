// The SaaS app behind the proxy, as small as it gets: it shows who the identity headers say is
// signed in, verifies X-Auth-Request-Jwt against the gateway's JWKS, and echoes WebSocket bytes.
// JSON for tests (Accept: application/json), a page for the browser.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface SampleAppOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

export interface Seen {
  url: string;
  /** every request header as the app received it */
  headers: IncomingMessage['headers'];
  token: { ok: true; claims: JWTPayload } | { ok: false; error: string };
}

export interface SampleApp {
  /** host:port, for the proxy's upstream */
  address: string;
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startSampleApp(opts: SampleAppOptions): Promise<SampleApp> {
  const jwks = createRemoteJWKSet(new URL(opts.jwksUrl));

  async function inspect(req: IncomingMessage): Promise<Seen> {
    const jwt = req.headers['x-auth-request-jwt'];
    let token: Seen['token'] = { ok: false, error: 'no X-Auth-Request-Jwt' };
    if (typeof jwt === 'string') {
      try {
        token = { ok: true, claims: (await jwtVerify(jwt, jwks, { issuer: opts.issuer, audience: opts.audience, typ: 'JWT' })).payload };
      } catch (e) {
        token = { ok: false, error: (e as Error).message };
      }
    }
    return { url: req.url ?? '', headers: req.headers, token };
  }

  const server: Server = createServer((req, res) => {
    inspect(req).then(
      (seen) => {
        if (/application\/json/.test(req.headers.accept ?? '')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
          return;
        }
        const name = decodeURIComponent(String(req.headers['x-auth-request-name'] ?? ''));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>Sample app</title></head><body>
<h1 id="name">${escapeHtml(name)}</h1>
<p id="user">${escapeHtml(String(req.headers['x-auth-request-user'] ?? ''))}</p>
<p id="token">${seen.token.ok ? 'token verified' : escapeHtml(seen.token.error)}</p>
<a id="signout" href="/logout">Sign out</a>
</body></html>`);
      },
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  // a WebSocket-style upgrade: switch protocols, then echo, with the user it was opened for first
  server.on('upgrade', (req: IncomingMessage, socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello ${String(req.headers['x-auth-request-user'])}\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

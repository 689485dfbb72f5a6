// The gateway's HTTP server with the slow-client limits: a client must send its headers within
// headersTimeoutMs and its whole request within requestTimeoutMs (Node answers 408 and closes),
// idle keep-alive connections close after keepAliveTimeoutMs, and past maxConnections new
// connections are closed at once. Node checks these deadlines every connectionsCheckingInterval
// (30 s by default, which alone would let a trickling client hold a connection for a minute).
import { createServer, type Server } from 'node:http';
import type { Settings } from '../config/load.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** what the server hands requests to (src/app.ts's gateway) */
export interface Served {
  listener(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function createGatewayServer(gateway: Served, limits: Settings['limits']['http']): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    gateway.listener,
  );
  server.maxConnections = limits.maxConnections;
  server.on('upgrade', (req, socket, head) => gateway.upgrade(req, socket, head));
  return server;
}

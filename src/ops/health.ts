// /healthz (the process serves), /readyz (the store answers), /metrics (Prometheus text).
import express from 'express';
import proxyaddr from 'proxy-addr';
import type { Store } from '../store/store.ts';
import type { Metrics } from './metrics.ts';

export function opsRouter(store: Store, metrics: Metrics, metricsFrom: readonly string[]): express.Router {
  const r = express.Router();
  // by the socket's address, not X-Forwarded-For: metrics are for the operator's network only
  const mayScrape = proxyaddr.compile([...metricsFrom]);
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    try {
      await store.ping();
      res.json({ status: 'ready', store: store.kind });
    } catch (e) {
      res.status(503).json({ status: 'unavailable', reason: `store (${store.kind}) does not answer: ${(e as Error).message}` });
    }
  });
  r.get('/metrics', (req, res, next) => {
    if (!req.socket.remoteAddress || !mayScrape(req.socket.remoteAddress, 0)) return next();
    res.type('text/plain; version=0.0.4').send(metrics.render());
  });
  return r;
}

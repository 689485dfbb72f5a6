// /healthz (the process serves), /readyz (the store answers), /metrics (Prometheus text).
import express from 'express';
import type { Store } from '../store/store.ts';
import type { Metrics } from './metrics.ts';

export function opsRouter(store: Store, metrics: Metrics): express.Router {
  const r = express.Router();
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
  r.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(metrics.render());
  });
  return r;
}

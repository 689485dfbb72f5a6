// Composes the gateway from its modules. Everything it needs is passed in, so tests build the
// same app main.ts serves, on any store.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { KeyObject } from 'node:crypto';
import type { Settings } from './config/load.ts';
import type { Store } from './store/store.ts';
import type { Logger } from './ops/logger.ts';
import { Metrics } from './ops/metrics.ts';
import { opsRouter } from './ops/health.ts';
import { Directory, type DirectoryEffect } from './directory/directory.ts';
import { deriveKey, SecretBox } from './directory/secret-box.ts';
import { syncRouter } from './marketplace/sync-router.ts';
import type { BootSecrets } from './bootstrap.ts';

export interface AppDeps {
  settings: Settings;
  store: Store;
  log: Logger;
  secrets: BootSecrets;
  clientSecretKey: KeyObject | null;
  now?: () => number;
}

export interface Gateway {
  app: express.Express;
  directory: Directory;
  metrics: Metrics;
  /** stops background work (not the store, which the caller owns) */
  close(): Promise<void>;
}

export async function createGateway(deps: AppDeps): Promise<Gateway> {
  const { settings, store, log } = deps;
  const metrics = new Metrics();
  const directory = new Directory(store, deps.secrets.accountKey);
  const atRest = new SecretBox(deriveKey(deps.secrets.sessionSecret, 'at-rest'));
  const effectHandlers: Array<(effects: DirectoryEffect[]) => Promise<void>> = [];

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(opsRouter(store, metrics));
  app.use(
    `${settings.marketplace.syncPathPrefix}/produceAPI/v2`,
    syncRouter({
      settings: settings.marketplace,
      store,
      log: log.child({ module: 'marketplace' }),
      metrics,
      apply: { directory, atRest, clientSecretKey: deps.clientSecretKey },
      ...(deps.now ? { now: deps.now } : {}),
      onEffects: async (effects) => {
        for (const h of effectHandlers) await h(effects);
      },
    }),
  );

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', error_description: `no route for ${req.method} ${req.path}` });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string };
    const status = e.status ?? e.statusCode ?? 500;
    if (status >= 500) log.error({ err, path: req.path }, 'request failed');
    if (res.headersSent) return;
    res.status(status).json({ error: status >= 500 ? 'server_error' : 'bad_request', error_description: e.expose && e.message ? e.message : 'the request could not be handled' });
  });

  return {
    app,
    directory,
    metrics,
    async close() {},
  };
}

// POST {prefix}/produceAPI/v2/{tenantSync|applicationSync|authSync|singleOrgSync|allOrgSync}.
// Everything that reaches a handler gets HTTP 200 and a result code; 000000 only after the
// store committed the change.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { StoreNotReplicatedError, StoreUnavailableError, type Store } from '../store/store.ts';
import type { DirectoryEffect } from '../directory/directory.ts';
import { toPlain } from './canonical-json.ts';
import { RESULT, SyncError, type ResultCode } from './errors.ts';
import { describeIssues, SYNC_SCHEMAS, type SyncKind } from './messages.ts';
import { applySync, type ApplyContext } from './apply.ts';
import { checkHeaders, rememberNonce, verifySignedBody, type WindowSettings } from './verify.ts';

export interface SyncDeps {
  settings: WindowSettings & { kitAccessKey: string; maxBodyBytes: number };
  store: Store;
  apply: ApplyContext;
  log: Logger;
  metrics: Metrics;
  now?: () => number;
  /** told about committed changes (ends sessions, drops caches); its failure does not undo the ack */
  onEffects?: (effects: DirectoryEffect[]) => Promise<void>;
}

function reply(res: Response, resultCode: ResultCode, resultMsg: string): void {
  res.status(200).type('application/json').send(JSON.stringify({ resultCode, resultMsg }));
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const mime = value.split(';')[0]!.trim().toLowerCase();
  return mime === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mime);
}

export function syncRouter(deps: SyncDeps): express.Router {
  const { settings, store, log, metrics } = deps;
  const now = deps.now ?? Date.now;
  const router = express.Router();
  if (!settings.kitAccessKey) log.warn('BRIDGE_KIT_ACCESS_KEY is not set: every sync call will answer 000001');

  async function handle(kind: SyncKind, req: Request): Promise<{ code: ResultCode; msg: string; tenantId?: string }> {
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new SyncError(RESULT.invalidParam, 'param is invalid: Content-Type must be application/json');
    }
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (raw.length === 0) throw new SyncError(RESULT.invalidParam, 'param is invalid: the body is empty');
    const h = checkHeaders(req.headers, now(), settings);
    if (!settings.kitAccessKey) throw new SyncError(RESULT.authFailed, 'token is invalid: the gateway has no kit access key configured');
    const root = verifySignedBody(raw, h, settings.kitAccessKey);
    await rememberNonce(store, h.nonce, settings);
    const parsed = SYNC_SCHEMAS[kind].safeParse(toPlain(root));
    if (!parsed.success) throw new SyncError(RESULT.invalidParam, describeIssues(parsed.error));
    const result = await applySync(kind, parsed.data, deps.apply);
    if (result.effects.length && deps.onEffects) {
      await deps.onEffects(result.effects).catch((e: unknown) => log.error({ err: e, kind }, 'sync committed, but acting on its effects failed'));
    }
    const tenantId = (parsed.data as { tenantId: string }).tenantId;
    const msg = result.stale ? `success. (${result.stale} older change(s) ignored: newer data is stored)` : 'success.';
    return { code: RESULT.success, msg, tenantId };
  }

  const body = express.raw({ type: () => true, limit: settings.maxBodyBytes });

  router.post('/:kind', body, async (req: Request, res: Response) => {
    const kind = String(req.params.kind);
    if (!Object.hasOwn(SYNC_SCHEMAS, kind)) {
      res.status(404).json({ resultCode: RESULT.invalidParam, resultMsg: `unknown interface: ${kind.slice(0, 64)}` });
      return;
    }
    const started = process.hrtime.bigint();
    let code: ResultCode;
    let msg: string;
    let tenantId: string | undefined;
    try {
      ({ code, msg, tenantId } = await handle(kind as SyncKind, req));
    } catch (e) {
      if (e instanceof SyncError) {
        code = e.resultCode;
        msg = e.message;
      } else if (e instanceof StoreNotReplicatedError) {
        code = RESULT.innerError;
        msg = "other inner error: the store's replicas did not confirm the change in time; please retry";
      } else if (e instanceof StoreUnavailableError) {
        code = RESULT.innerError;
        msg = 'other inner error: the store is unavailable, nothing was saved; please retry';
      } else {
        code = RESULT.innerError;
        msg = 'other inner error: nothing was saved; please retry';
      }
      const level = code === RESULT.innerError ? 'error' : 'warn';
      log[level]({ kind, resultCode: code, err: e instanceof SyncError ? e.cause : e, reason: msg }, 'sync call refused');
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.syncCalls.inc({ interface: kind, result: code });
    metrics.syncSeconds.observe({ interface: kind }, seconds);
    if (code === RESULT.success) log.info({ kind, tenantId, ms: Math.round(seconds * 1000) }, 'sync applied');
    reply(res, code, msg);
  });

  router.all('/:kind', (req, res) => {
    res.status(405).set('Allow', 'POST').json({ resultCode: RESULT.invalidParam, resultMsg: 'use POST' });
  });

  // body reading failures (too large, aborted, bad encoding) still get a result code
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number; limit?: number };
    if (res.headersSent) return next(err);
    const msg =
      e.type === 'entity.too.large'
        ? `param is invalid: the body exceeds ${settings.maxBodyBytes} bytes`
        : e.type === 'encoding.unsupported'
          ? 'param is invalid: unsupported Content-Encoding or charset'
          : 'param is invalid: the body could not be read';
    log.warn({ kind: req.params.kind, type: e.type }, 'sync body refused');
    metrics.syncCalls.inc({ interface: String(req.params.kind), result: RESULT.invalidParam });
    res.set('Connection', 'close');
    reply(res, RESULT.invalidParam, msg);
  });

  return router;
}

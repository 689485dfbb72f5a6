// POST {prefix}/produceAPI/v2/{tenantSync|applicationSync|authSync|singleOrgSync|allOrgSync}.
// Everything that reaches a handler gets HTTP 200 and a result code; 000000 only after the
// store committed the change.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { StoreNotReplicatedError, StoreUnavailableError, type Store } from '../store/store.ts';
import { keysOf, keyspace } from '../store/keyspace.ts';
import type { DirectoryEffect } from '../directory/directory.ts';
import { toPlain } from './canonical-json.ts';
import { RESULT, SyncError, type ResultCode } from './errors.ts';
import { checkMessage, SYNC_SCHEMAS, type CheckedMessage, type SyncKind, type SyncMessage } from './messages.ts';
import { applySync, type ApplyContext } from './apply.ts';
import { noteTenant } from '../ops/access-log.ts';
import { checkHeaders, rememberNonce, verifySignedBody, type SignedHeaders, type WindowSettings } from './verify.ts';
import { QueueFullError, type Lease, type VerifyPool } from './verify-pool.ts';
import type { Limit } from '../limits/rate-limits.ts';
import proxyaddr from 'proxy-addr';
import { namespaceOf } from './apply.ts';
import type { SyncLog } from './sync-log.ts';
import type { Namespace } from '../identity/identity.ts';

export interface SyncDeps {
  settings: WindowSettings & { kitAccessKey: string; maxBodyBytes: number; allowFrom: string[]; maxJsonNodes: number };
  store: Store;
  apply: ApplyContext;
  log: Logger;
  metrics: Metrics;
  now?: () => number;
  /** told about committed changes (ends sessions, drops caches); its failure does not undo the ack */
  onEffects?: (effects: DirectoryEffect[]) => Promise<void>;
  /** counts verification failures per client address; an address over it is refused before its body is read */
  pushFailures: Limit;
  /** bodies over `largeBytes` (or of unknown length) are verified here, off the main thread */
  pool: VerifyPool;
  largeBytes: number;
  /** the console's sync log; a push it cannot record is still answered */
  syncLog?: SyncLog;
}

/** what the pre-body checks learnt, for the handler */
interface PushContext {
  client: string;
  headers: SignedHeaders;
  lease?: Lease;
  /** the body's tenant, once its signature verified */
  tenantId?: string;
  ns?: Namespace;
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
  const allowed = settings.allowFrom.length ? proxyaddr.compile(settings.allowFrom) : null;

  /** for the console; refusals of blocked or disallowed sources are not recorded (they are the flood) */
  async function note(kind: string, code: ResultCode, msg: string, bytes: number, ms: number, ctx?: PushContext): Promise<void> {
    if (!deps.syncLog) return;
    await deps.syncLog
      .record({ interface: kind, resultCode: code, resultMsg: msg, bytes, ms, ...(ctx?.tenantId ? { tenantId: ctx.tenantId, ns: ctx.ns ?? 'prod' } : {}) })
      .catch((e: unknown) => log.warn({ err: e, kind }, 'could not record the push in the sync log'));
  }

  /**
   * A refusal before the body is read, answered at once. A small body is left for Node to drain
   * (the connection stays usable); a large one, or one of unknown length, is never read: the
   * connection is closed instead.
   */
  function refuseUnread(req: Request, res: Response, status: number, code: ResultCode, msg: string, reason: string, kind: string): void {
    metrics.pushesRefused.inc({ reason });
    metrics.syncCalls.inc({ interface: kind, result: code });
    if (!(Number(req.headers['content-length']) <= deps.largeBytes)) res.set('Connection', 'close');
    res.status(status).type('application/json').send(JSON.stringify({ resultCode: code, resultMsg: msg }));
  }

  /**
   * Everything that can be judged from the headers, before a byte of the body is read: the source,
   * the address's recent failures, Content-Type, timestamp, nonce and the form of x-sign; then a
   * verification slot for a large body.
   */
  async function beforeBody(req: Request, res: Response, next: NextFunction): Promise<void> {
    const kind = String(req.params.kind);
    if (!Object.hasOwn(SYNC_SCHEMAS, kind)) {
      res.status(404).json({ resultCode: RESULT.invalidParam, resultMsg: `unknown interface: ${kind.slice(0, 64)}` });
      return;
    }
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    if (allowed && !allowed(client, 0)) {
      log.warn({ kind, client, refusal: 'source_not_allowed' }, 'sync call refused');
      refuseUnread(req, res, 403, RESULT.authFailed, 'token is invalid: this source address may not call the sync interfaces', 'source', kind);
      return;
    }
    const blocked = await deps.pushFailures.check(client);
    if (!blocked.ok) {
      log.warn({ kind, client, refusal: 'too_many_failures', retryAfterSec: blocked.retryAfterSec }, 'sync call refused');
      res.set('Retry-After', String(blocked.retryAfterSec));
      refuseUnread(req, res, 429, RESULT.authFailed, `token is invalid: too many pushes from this address failed verification; retry after ${blocked.retryAfterSec} s`, 'failures', kind);
      return;
    }
    let headers: SignedHeaders;
    try {
      if (!isJsonContentType(req.headers['content-type'])) throw new SyncError(RESULT.invalidParam, 'param is invalid: Content-Type must be application/json');
      headers = checkHeaders(req.headers, now(), settings);
      if (!settings.kitAccessKey) throw new SyncError(RESULT.authFailed, 'token is invalid: the gateway has no kit access key configured');
      if ((await keysOf(store).get(keyspace.syncNonce.key(headers.nonce))) !== null) throw new SyncError(RESULT.authFailed, 'token is invalid: x-nonce was already used');
    } catch (e) {
      if (!(e instanceof SyncError)) throw e;
      await countFailure(client);
      log.warn({ kind, client, resultCode: e.resultCode, reason: e.message }, 'sync call refused');
      await note(kind, e.resultCode, e.message, Number(req.headers['content-length']) || 0, 0);
      refuseUnread(req, res, 200, e.resultCode, e.message, 'headers', kind);
      return;
    }
    const ctx: PushContext = { client, headers };
    res.locals.push = ctx;
    const length = Number(req.headers['content-length']);
    if (!(length <= deps.largeBytes)) {
      try {
        ctx.lease = await deps.pool.acquire();
      } catch (e) {
        if (!(e instanceof QueueFullError)) throw e;
        log.warn({ kind, client, refusal: 'verification_queue_full' }, 'sync call refused');
        res.set('Retry-After', '1');
        refuseUnread(req, res, 429, RESULT.innerError, 'other inner error: too many large pushes at once; nothing was saved, please retry', 'busy', kind);
        return;
      }
      res.on('close', () => ctx.lease?.release());
    }
    next();
  }

  async function countFailure(client: string): Promise<void> {
    await deps.pushFailures.take(client).catch((e: unknown) => log.warn({ err: e }, 'could not count a failed push'));
  }

  async function handle(kind: SyncKind, req: Request, ctx: PushContext): Promise<{ code: ResultCode; msg: string; tenantId?: string }> {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (raw.length === 0) throw new SyncError(RESULT.invalidParam, 'param is invalid: the body is empty');
    const h = ctx.headers;
    // a large body is parsed, verified, put in plain form and checked against its schema in a
    // verification worker (verify-pool.ts): the main thread gets back the validated message only
    let checked: CheckedMessage;
    try {
      if (raw.length > deps.largeBytes) {
        const lease = ctx.lease ?? (await deps.pool.acquire());
        try {
          checked = await lease.verify(raw, h, settings.maxJsonNodes, kind);
        } finally {
          lease.release();
        }
      } else {
        checked = checkMessage(kind, toPlain(verifySignedBody(raw, h, settings.kitAccessKey, settings.maxJsonNodes)));
      }
    } catch (e) {
      if (e instanceof SyncError || e instanceof QueueFullError) await countFailure(ctx.client);
      throw e instanceof QueueFullError ? new SyncError(RESULT.innerError, 'other inner error: too many large pushes at once; nothing was saved, please retry') : e;
    }
    // a signed body uses up its nonce even when its message is invalid
    await rememberNonce(store, h.nonce, settings);
    if (checked.tenantId !== undefined) {
      ctx.tenantId = checked.tenantId;
      ctx.ns = namespaceOf(checked.debug ? 1 : 0);
    }
    if (!checked.ok) throw new SyncError(RESULT.invalidParam, checked.message);
    const message = checked.data as SyncMessage<typeof kind>;
    const result = await applySync(kind, message, deps.apply);
    if (result.effects.length && deps.onEffects) {
      await deps.onEffects(result.effects).catch((e: unknown) => log.error({ err: e, kind }, 'sync committed, but acting on its effects failed'));
    }
    const tenantId = (message as { tenantId: string }).tenantId;
    const msg = result.stale ? `success. (${result.stale} older change(s) ignored: newer data is stored)` : 'success.';
    return { code: RESULT.success, msg, tenantId };
  }

  const body = express.raw({ type: () => true, limit: settings.maxBodyBytes });

  router.post(
    '/:kind',
    (req, res, next) => {
      beforeBody(req, res, next).catch(next);
    },
    body,
    async (req: Request, res: Response) => {
      const kind = String(req.params.kind);
      const ctx = res.locals.push as PushContext;
      const started = process.hrtime.bigint();
      let code: ResultCode;
      let msg: string;
      let tenantId: string | undefined;
      try {
        ({ code, msg, tenantId } = await handle(kind as SyncKind, req, ctx));
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
        log[level]({ kind, client: ctx.client, resultCode: code, err: e instanceof SyncError ? e.cause : e, reason: msg }, 'sync call refused');
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.syncCalls.inc({ interface: kind, result: code });
      metrics.syncSeconds.observe({ interface: kind }, seconds);
      if (code === RESULT.success) log.info({ kind, tenantId, ms: Math.round(seconds * 1000) }, 'sync applied');
      noteTenant(req, tenantId);
      const noted = note(kind, code, msg, Buffer.isBuffer(req.body) ? req.body.length : 0, Math.round(seconds * 1000), ctx);
      // recorded before the answer, so the console shows a push as soon as its sender has the reply;
      // but a store that just failed must not delay the answer a second time
      if (code !== RESULT.innerError) await noted;
      reply(res, code, msg);
    },
  );

  router.all('/:kind', (req, res) => {
    res.status(405).set('Allow', 'POST').json({ resultCode: RESULT.invalidParam, resultMsg: 'use POST' });
  });

  // body reading failures (too large, aborted, bad encoding) still get a result code
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number; limit?: number };
    if (res.headersSent) return next(err);
    const ctx = res.locals.push as PushContext | undefined;
    if (ctx && e.type) void countFailure(ctx.client);
    const msg =
      e.type === 'entity.too.large'
        ? `param is invalid: the body exceeds ${settings.maxBodyBytes} bytes`
        : e.type === 'encoding.unsupported'
          ? 'param is invalid: unsupported Content-Encoding or charset'
          : 'param is invalid: the body could not be read';
    if (!e.type) log.error({ err, kind: req.params.kind }, 'sync call failed');
    else log.warn({ kind: req.params.kind, type: e.type, reason: msg }, 'sync body refused');
    metrics.syncCalls.inc({ interface: String(req.params.kind), result: e.type ? RESULT.invalidParam : RESULT.innerError });
    res.set('Connection', 'close');
    const code = e.type ? RESULT.invalidParam : RESULT.innerError;
    const answer = e.type ? msg : 'other inner error: nothing was saved; please retry';
    void note(String(req.params.kind), code, answer, Number(req.headers['content-length']) || 0, 0);
    reply(res, code, answer);
  });

  return router;
}

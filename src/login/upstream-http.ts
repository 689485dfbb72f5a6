// Every call to OneAccess goes through here: a deadline, a size cap on the answer, and typed
// failures (504 on timeout, 502 on anything else). Nothing is retried: codes and tickets are single use.
// The calls use undici's request() on one keep-alive pool per OneAccess origin: the same HTTP
// client as Node's fetch without the WHATWG Request/Response/stream layers (about half a
// millisecond of CPU per sign-in, bench/RESULTS.md "Cost per request").
import { Agent, request } from 'undici';
import { AbortFlag } from '../store/abort-flag.ts';
import { LoginError } from './errors.ts';
import { msg } from '../web/i18n.ts';

export interface UpstreamLimits {
  timeoutMs: number;
  maxBodyBytes: number;
}

/** an answer from OneAccess, read whole (it is small: the size cap saw to that) */
export interface UpstreamAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export interface UpstreamRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | null;
}

/** OneAccess connections, kept alive between sign-ins; idle sockets do not hold the process open */
const pool = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });

/** the deadline of one exchange: an AbortFlag (undici's request() takes it as its signal) and one timer, cleared by done() */
export class Deadline extends AbortFlag {
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    super();
    this.timer = setTimeout(() => this.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  }

  done(): void {
    clearTimeout(this.timer);
  }
}

export function upstreamFailure(e: unknown, what: string): LoginError {
  if (e instanceof LoginError) return e;
  const err = e as { name?: string; cause?: { name?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.cause?.name === 'TimeoutError') {
    return new LoginError('upstream_timeout', msg('refusal.upstreamTimeout', { what }), { cause: e });
  }
  return new LoginError('upstream_error', msg('refusal.upstreamUnreachable', { what }), { cause: e });
}

const tooLarge = (what: string, why: string) => new LoginError('upstream_error', msg('refusal.upstreamTooLarge', { what }), { cause: new Error(why) });

/**
 * One request with a deadline covering the whole exchange, body included, and a cap on the
 * answer's size (refused from its content-length, or as soon as more arrives, without buffering
 * the rest). Redirects are not followed. Failures are the raw errors: callers map them.
 */
export async function upstreamExchange(url: string, init: UpstreamRequest, limits: UpstreamLimits, what: string): Promise<UpstreamAnswer> {
  const deadline = new Deadline(limits.timeoutMs);
  try {
    const res = await request(url, { dispatcher: pool, method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, body: init.body ?? null, signal: deadline.signal });
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else if (v !== undefined) headers.set(k, v);
    }
    const declared = Number(headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
      res.body.destroy();
      throw tooLarge(what, `content-length ${declared} > ${limits.maxBodyBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > limits.maxBodyBytes) {
        res.body.destroy();
        throw tooLarge(what, `body > ${limits.maxBodyBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return { status: res.statusCode, headers, body: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') };
  } finally {
    deadline.done();
  }
}

/** GET/POST with a deadline and a size cap; every failure a LoginError (504 on timeout, else 502) */
export async function fetchCapped(url: string, init: UpstreamRequest, limits: UpstreamLimits, what: string): Promise<UpstreamAnswer> {
  try {
    return await upstreamExchange(url, init, limits, what);
  } catch (e) {
    throw upstreamFailure(e, what);
  }
}

// Every call to OneAccess goes through here: a deadline, a size cap on the answer, and typed
// failures (504 on timeout, 502 on anything else). Nothing is retried: codes and tickets are single use.
import { LoginError } from './errors.ts';
import { msg } from '../web/i18n.ts';

export interface UpstreamLimits {
  timeoutMs: number;
  maxBodyBytes: number;
}

/** reads a response body, refusing more than `max` bytes without buffering the rest */
export async function readCapped(res: Response, max: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw new LoginError('upstream_error', msg('refusal.upstreamTooLarge', { what }), { cause: new Error(`content-length ${declared} > ${max}`) });
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new LoginError('upstream_error', msg('refusal.upstreamTooLarge', { what }), { cause: new Error(`body > ${max} bytes`) });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** an abort signal for a whole exchange; done() clears its timer (AbortSignal.timeout's never is) */
export function deadline(ms: number): { signal: AbortSignal; done(): void } {
  const c = new AbortController();
  const t = setTimeout(() => c.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  return { signal: c.signal, done: () => clearTimeout(t) };
}

export function upstreamFailure(e: unknown, what: string): LoginError {
  if (e instanceof LoginError) return e;
  const err = e as { name?: string; cause?: { name?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.cause?.name === 'TimeoutError') {
    return new LoginError('upstream_timeout', msg('refusal.upstreamTimeout', { what }), { cause: e });
  }
  return new LoginError('upstream_error', msg('refusal.upstreamUnreachable', { what }), { cause: e });
}

/** GET/POST with a deadline covering the whole exchange, body included */
export async function fetchCapped(url: string, init: RequestInit, limits: UpstreamLimits, what: string): Promise<{ status: number; headers: Headers; body: string }> {
  const { signal, done } = deadline(limits.timeoutMs);
  try {
    const res = await fetch(url, { ...init, redirect: 'manual', signal });
    const body = await readCapped(res, limits.maxBodyBytes, what);
    return { status: res.status, headers: res.headers, body };
  } catch (e) {
    throw upstreamFailure(e, what);
  } finally {
    done();
  }
}

// Log redaction: secrets never reach the log, wherever they sit; the facts operators need do.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/ops/logger.ts';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger('info', dest), lines: () => out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('redacts keys, secrets, tokens, codes, tickets and cookies at any of the usual depths', () => {
    const { log, lines } = capture();
    log.info(
      {
        clientSecret: 'S1',
        kitAccessKey: 'S2',
        tokens: { access_token: 'S3', refresh_token: 'S4' },
        req: { headers: { cookie: 'S5', authorization: 'S6', 'x-sign': 'S7' } },
        query: { code: 'S8', ticket: 'S9' },
        tenantId: 't-acme',
        refusal: 'user_disabled',
      },
      'event',
    );
    const text = JSON.stringify(lines());
    for (const secret of ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9']) assert.ok(!text.includes(`"${secret}"`), `${secret} leaked: ${text}`);
    const [line] = lines();
    assert.equal(line!.tenantId, 't-acme');
    assert.equal(line!.refusal, 'user_disabled', 'a refusal reason is not a secret and must stay readable');
  });

  it('error codes stay readable: only a query\'s code (an OAuth authorization code) is redacted', () => {
    const { log, lines } = capture();
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    log.warn({ err, cause: { code: 'SQLITE_BUSY' }, req: { query: { code: 'S10' } } }, 'failed');
    const [line] = lines() as Array<{ err: { code: string }; cause: { code: string } }>;
    assert.equal(line!.err.code, 'ECONNREFUSED');
    assert.equal(line!.cause.code, 'SQLITE_BUSY');
    assert.ok(!JSON.stringify(line).includes('S10'));
  });
});

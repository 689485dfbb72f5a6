// Property-based fuzzing (fast-check) of the sync endpoint over real HTTP: random and mutated
// bodies and headers never get a 5xx, never crash the gateway, and never get 000000 unless x-sign
// really is the signature of the body sent. A modest count runs in npm test; bench/fuzz.ts runs
// 10^6 bodies through the same generators.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import fc from 'fast-check';
import { buildGateway, type TestGateway } from '../helpers/gateway.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { createGatewayServer } from '../../src/limits/http-server.ts';
import { pushCase, sendCase, signatureIsValid } from '../helpers/sync-fuzz.ts';

const RUNS = Number(process.env['SYNC_FUZZ_RUNS'] ?? 300);

describe('sync endpoint fuzzing', () => {
  let gw: TestGateway;
  let server: Server;
  let base: string;

  before(async () => {
    // limits off: every case must reach the parser, not stop at the failure limit
    gw = await buildGateway(new MemoryStore(), { marketplace: { maxBodyBytes: 64 * 1024 }, limits: { largePush: { bytes: 8 * 1024 } } });
    server = createGatewayServer(gw, gw.settings.limits.http);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gw.close();
  });

  it(`random and mutated bodies and headers: never a 5xx, never 000000 for a bad signature (${RUNS} cases)`, async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(pushCase(), async (c) => {
        const answer = await sendCase(base, c);
        assert.ok(answer.status >= 200 && answer.status < 500, `HTTP ${answer.status}: ${answer.body}`);
        if (answer.status === 200 || answer.status === 429 || answer.status === 403) {
          const parsed = JSON.parse(answer.body) as { resultCode: string; resultMsg: string };
          assert.match(parsed.resultCode, /^0001?0[0-9]{2}$/);
          if (parsed.resultCode === '000000') {
            accepted++;
            assert.ok(signatureIsValid(answer.request), `accepted with a bad signature: ${JSON.stringify(answer.request.headers)} ${answer.request.body.toString('utf8', 0, 300)}`);
          }
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(accepted > 0, 'some unmutated cases were accepted (the generator reaches success)');
  });

  it('the gateway is still up and applies a good push afterwards', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    const answer = await sendCase(base, { body: { kind: 'valid' }, headers: {} });
    assert.equal(JSON.parse(answer.body).resultCode, '000000', answer.body);
  });
});

// `rotate-keys`: publish a new token signing key now, to sign after the publish lead. Running
// gateways sharing the store pick it up at once (pub/sub) or within their reload interval.
import { loadSecrets } from './bootstrap.ts';
import { deriveKey, SecretBox } from './directory/secret-box.ts';
import { openStore } from './store/index.ts';
import { KeyManager, keySetAlgs, type SigningAlg } from './delivery/keys.ts';

export interface RotateKeysOptions {
  storeSpec: string;
  /** the configured session secret; empty = the development one kept in the store */
  sessionSecret: string;
  alg: SigningAlg;
  tokenTtlSec: number;
  rotateAfterDays: number;
  publishLeadMs?: number;
  print?: (line: string) => void;
}

export async function rotateKeysCommand(opts: RotateKeysOptions): Promise<string> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const store = await openStore(opts.storeSpec);
  try {
    const secrets = await loadSecrets(store, opts.sessionSecret);
    const keys = await KeyManager.open(store, new SecretBox(deriveKey(secrets.sessionSecret, 'at-rest')), {
      alg: opts.alg,
      alsoSign: keySetAlgs(opts.alg),
      tokenTtlSec: opts.tokenTtlSec,
      rotateAfterDays: opts.rotateAfterDays,
      ...(opts.publishLeadMs === undefined ? {} : { publishLeadMs: opts.publishLeadMs }),
    });
    try {
      const kid = await keys.rotate();
      const states = keys.states();
      // one new key per algorithm of the set, all starting together
      const signsFrom = states.find((t) => t.kid === kid)?.signsFrom;
      const added = states.filter((s) => s.signsFrom === signsFrom).sort((a, b) => Number(b.kid === kid) - Number(a.kid === kid));
      for (const a of added) {
        print(`new signing key ${a.kid} (${a.alg}): in the JWKS now, signs from ${iso(a.signsFrom)}`);
        const previous = states.filter((s) => s.alg === a.alg && s.signsFrom < a.signsFrom).at(-1);
        if (previous?.publishedUntil !== undefined) print(`the ${a.alg} key before it, ${previous.kid}, signs until then and stays in the JWKS until ${iso(previous.publishedUntil)}`);
      }
      return kid;
    } finally {
      await keys.close();
    }
  } finally {
    await store.close();
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

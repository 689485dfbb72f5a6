// The import rules of docs/architecture.md (.dependency-cruiser.cjs), run by dependency-cruiser
// over src/: no import runs back up the picture. The controls run the same rules over a small
// tree that breaks each of them, so a rule that cannot fail is noticed.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(import.meta.dirname, '..');
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = join(root, '.dependency-cruiser.cjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

function cruise(cwd: string): { violations: Violation[]; modules: number } {
  const r = spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'json'], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  assert.ok(r.stdout, `dependency-cruiser gave no output: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: out.summary.violations, modules: out.summary.totalCruised };
}

describe('architecture: imports run down the picture (docs/architecture.md)', () => {
  it('src/ keeps every rule', () => {
    const { violations, modules } = cruise(root);
    assert.ok(modules > 100, `only ${modules} modules cruised`);
    assert.deepEqual(
      violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`),
      [],
    );
  });

  it('every folder of src/ has its rule, and the docs name each one', () => {
    const folders = execFileSync('git', ['ls-files', 'src'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .map((f) => /^src\/([^/]+)\//.exec(f)?.[1])
      .filter((f): f is string => !!f);
    const text = readFileSync(config, 'utf8');
    const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
    for (const f of new Set(folders)) {
      if (f !== 'demo') assert.match(text, new RegExp(`^  ${f}: \\[`, 'm'), `${f} in .dependency-cruiser.cjs`);
      assert.match(doc, new RegExp(`\`${f}/\``), `${f}/ in docs/architecture.md`);
    }
  });

  it('controls: a back-import, an import of the composition, of the sandbox, and by the sandbox all fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-arch-'));
    try {
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }),
        'src/app.ts': "export const app = 1;\n",
        'src/login/routes.ts': "export const routes = 1;\n",
        'src/store/store.ts': "import { routes } from '../login/routes.ts';\nexport const s = routes;\n",
        'src/session/sessions.ts': "import type { app } from '../app.ts';\nexport type A = typeof app;\n",
        'src/sandbox/oneaccess.ts': "import { s } from '../store/store.ts';\nexport const o = s;\n",
        'src/delivery/verify.ts': "import { o } from '../sandbox/oneaccess.ts';\nexport const v = o;\n",
        'src/web/pages.ts': "export const p = 1;\n",
        'src/login/ok.ts': "import { p } from '../web/pages.ts';\nexport const ok = p;\n",
      };
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      const found = cruise(dir).violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
      assert.deepEqual(found, [
        'composition-stays-on-top: src/session/sessions.ts -> src/app.ts',
        'delivery-imports-down-only: src/delivery/verify.ts -> src/sandbox/oneaccess.ts',
        'sandbox-imports-down-only: src/sandbox/oneaccess.ts -> src/store/store.ts',
        'sandbox-only-for-the-demo: src/delivery/verify.ts -> src/sandbox/oneaccess.ts',
        'session-imports-down-only: src/session/sessions.ts -> src/app.ts',
        'store-imports-down-only: src/store/store.ts -> src/login/routes.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

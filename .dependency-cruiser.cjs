// The import rules of docs/architecture.md, checked by dependency-cruiser (npm test runs it:
// test/architecture.test.ts). Each folder of src/ may import itself and the folders listed for it,
// nothing else of src/: an import that runs back up the picture fails the test. Type-only imports
// count (tsPreCompilationDeps): a type is as much a dependency as a value.
//
// Change this table and the picture in docs/architecture.md together.

/** folder -> the folders of src/ it may import (besides itself) */
const mayImport = {
  identity: [],
  web: ['identity'],
  store: ['identity'],
  config: ['web', 'identity'],
  ops: ['store', 'config', 'identity'],
  directory: ['store', 'ops', 'config', 'identity'],
  session: ['directory', 'store', 'ops', 'config', 'web', 'identity'],
  limits: ['store', 'ops', 'config', 'web', 'identity'],
  marketplace: ['directory', 'limits', 'store', 'ops', 'config', 'identity'],
  login: ['session', 'directory', 'store', 'ops', 'config', 'web', 'identity'],
  delivery: ['session', 'directory', 'store', 'ops', 'config', 'web', 'identity'],
  oidc: ['delivery', 'session', 'directory', 'store', 'ops', 'config', 'web', 'identity'],
  admin: ['login', 'delivery', 'marketplace', 'limits', 'session', 'directory', 'store', 'ops', 'config', 'web', 'identity'],
  // the stand-ins for KooGallery and OneAccess share the page renderer only: they must never see
  // what the gateway does (a test against them would then test the gateway against itself)
  sandbox: ['web'],
};

/**
 * Imports the rules above refuse that are still there, each named and with its reason; the list
 * only shrinks. (Empty: no import runs back up the picture.)
 */
const exceptions = [];

const folders = Object.keys(mayImport);
const folderRules = folders.map((folder) => ({
  name: `${folder}-imports-down-only`,
  comment: `src/${folder}/ may import only ${mayImport[folder].length ? mayImport[folder].map((f) => `src/${f}/`).join(', ') : 'nothing else of src/'} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: {
    path: '^src/',
    pathNot: [`^src/(${[folder, ...mayImport[folder]].join('|')})/`, ...exceptions.filter((e) => e.from === folder).map((e) => e.to)],
  },
}));

module.exports = {
  forbidden: [
    ...folderRules,
    {
      name: 'composition-stays-on-top',
      comment: 'the entry points and the composition (src/*.ts: main, cli, app, bootstrap, keys-cli) import the folders, never the other way round; only the demo, itself an entry point, builds on them',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: '^src/demo/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'sandbox-only-for-the-demo',
      comment: 'nothing of the gateway imports the sandbox; the demo starts it next to the gateway (and the tests do)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(sandbox|demo)/' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'no-folders-unknown-to-the-rules',
      comment: 'a new folder of src/ gets its line in the table above and in docs/architecture.md',
      severity: 'error',
      from: { path: `^src/(?!(${[...folders, 'demo'].join('|')})/)[^/]+/` },
      to: {},
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.d\\.ts$' },
  },
};

// npm run docs:config — rewrites README.md's configuration table from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '../src/config/reference.ts';

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withConfigTable(before);
writeFileSync(file, after);
process.stdout.write(before === after ? 'README.md: the configuration table was up to date\n' : 'README.md: configuration table rewritten\n');

// README's configuration table is the one generated from the schema, and every setting is in it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReference, configTableMarkdown, DESCRIPTIONS, withConfigTable } from '../../src/config/reference.ts';
import { configSchema } from '../../src/config/schema.ts';
import { ENV_MAP } from '../../src/config/env.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('configuration reference', () => {
  it('README.md carries exactly the generated table (run npm run docs:config after changing a setting)', () => {
    assert.equal(withConfigTable(README), README);
    assert.ok(README.includes(configTableMarkdown()));
  });

  it('every setting of the schema is described, and every description names a setting', () => {
    const rows = configReference(); // throws naming undescribed settings
    const defaults = configSchema.parse({}) as Record<string, unknown>;
    for (const key of Object.keys(DESCRIPTIONS)) {
      let cur: unknown = defaults;
      for (const part of key.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[part];
      assert.notEqual(cur, undefined, `${key} is described but is no setting`);
    }
    assert.equal(rows.length, Object.keys(DESCRIPTIONS).length);
  });

  it('every environment variable appears next to its setting, with the schema default', () => {
    for (const [name, [path]] of Object.entries(ENV_MAP)) {
      assert.ok(README.includes(`| \`${path}\` | \`${name}\` |`), `${name} -> ${path}`);
    }
    assert.match(README, /\| `ui\.defaultLanguage` \| `BRIDGE_UI_LANGUAGE` \| `zh-CN` \|/);
    assert.match(README, /\| `port` \| `PORT` \| `8080` \|/);
  });
});

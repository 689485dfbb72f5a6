// The two catalogues agree (keys and {placeholders}), the language choice follows the contract
// (§4), and every view renders in both languages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { catalogues, chooseLanguage, languageFromAcceptLanguage, msg, translate } from '../../src/web/i18n.ts';
import { renderPage } from '../../src/web/pages.ts';
import { loadSettings } from '../../src/config/load.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  it('zh-CN and en have the same keys, each with the same placeholders, none empty', () => {
    const en = catalogues.en;
    const zh = catalogues['zh-CN'];
    assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
    for (const key of Object.keys(en) as Array<keyof typeof en>) {
      assert.ok(en[key].trim() && zh[key].trim(), `${key} is empty`);
      assert.deepEqual(placeholders(zh[key]), placeholders(en[key]), `placeholders of ${key}`);
    }
  });

  it('the Chinese catalogue is Chinese: most messages carry CJK characters', () => {
    const zh = Object.values(catalogues['zh-CN']);
    const cjk = zh.filter((s) => /[\u4e00-\u9fff]/.test(s)).length;
    assert.ok(cjk / zh.length > 0.9, `${cjk} of ${zh.length}`);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    assert.equal(translate('en', 'refusal.notAuthorized', { user: 'lisi' }).startsWith('You (lisi) have not'), true);
    assert.match(translate('zh-CN', 'refusal.notAuthorized', { user: 'lisi' }), /您（lisi）尚未获得/);
    assert.match(translate('en', 'refusal.notAuthorized'), /\{user\}/);
  });
});

describe('language choice', () => {
  it('?lang= wins, then Accept-Language by q, then the default', () => {
    assert.equal(chooseLanguage('en', 'zh-CN,zh;q=0.9', 'zh-CN'), 'en');
    assert.equal(chooseLanguage('zh-cn', 'en', 'en'), 'zh-CN');
    assert.equal(chooseLanguage('fr', 'en-US,en;q=0.9', 'zh-CN'), 'en', 'an unknown ?lang= is ignored');
    assert.equal(chooseLanguage(['en', 'zh-CN'], undefined, 'zh-CN'), 'zh-CN', 'a repeated ?lang= is ignored');
    assert.equal(chooseLanguage(undefined, 'fr-FR,fr;q=0.9', 'zh-CN'), 'zh-CN');
    assert.equal(chooseLanguage(undefined, undefined, 'en'), 'en');
  });

  it('reads Accept-Language as browsers send it', () => {
    assert.equal(languageFromAcceptLanguage('zh-CN,zh;q=0.9,en;q=0.8'), 'zh-CN');
    assert.equal(languageFromAcceptLanguage('en-US,en;q=0.9'), 'en');
    assert.equal(languageFromAcceptLanguage('fr;q=1, en;q=0.5, zh-Hans;q=0.7'), 'zh-CN');
    assert.equal(languageFromAcceptLanguage('zh-TW;q=0, en;q=0.1'), 'en', 'q=0 means not acceptable');
    assert.equal(languageFromAcceptLanguage('de, fr'), undefined);
    assert.equal(languageFromAcceptLanguage('x'.repeat(600)), undefined);
  });

  it('ui.defaultLanguage defaults to zh-CN, BRIDGE_UI_LANGUAGE sets it, other values are refused', () => {
    assert.equal(loadSettings({ env: {}, argv: [] }).ui.defaultLanguage, 'zh-CN');
    assert.equal(loadSettings({ env: { BRIDGE_UI_LANGUAGE: 'en' }, argv: [] }).ui.defaultLanguage, 'en');
    assert.throws(() => loadSettings({ env: { BRIDGE_UI_LANGUAGE: 'fr' }, argv: [] }), /ui\.defaultLanguage/);
  });
});

describe('views', () => {
  const views = readdirSync(new URL('../../views/', import.meta.url)).filter((f) => f.endsWith('.html')).map((f) => f.slice(0, -5));

  it('every view renders in both languages with <html lang>, a title and no unfilled message', () => {
    assert.ok(views.length >= 5, views.join());
    for (const view of views) {
      for (const lang of ['zh-CN', 'en'] as const) {
        const html = renderPage(lang, view, {});
        assert.match(html, new RegExp(`^<!doctype html>\\n<html lang="${lang}">`), `${view} ${lang}`);
        assert.match(html, /<title>[^<]+<\/title>/, `${view} ${lang} has a title`);
        assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
        assert.doesNotMatch(html.slice(html.indexOf("</style>")), /\{\{|\}\}|\{\w+\}/, `${view} ${lang}: a template tag or placeholder is left`);
      }
    }
  });

  it('escapes every value, including inside messages', () => {
    const html = renderPage('en', 'oidc-logout', { message: msg('oidc-logout.body', { client: '<script>x</script>' }), action: '"><b>', xsrf: '' });
    assert.doesNotMatch(html, /<script>x|"><b>/);
    assert.match(html, /&lt;script&gt;x&lt;\/script&gt; asks to sign you out/);
  });

  it('sections appear only when their value is set', () => {
    assert.doesNotMatch(renderPage('en', 'error', { message: 'm', code: 'c', status: '400' }), /id="retry"/);
    assert.match(renderPage('en', 'error', { message: 'm', code: 'c', status: '400', retryUrl: '/login' }), /id="retry" href="\/login">Try again</);
  });
});

// The canonical path: the table of Issue 7 (and what nginx and Caddy send for each value), then
// properties over random and mutated targets (fast-check).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalPath, foldCase } from '../../src/web/canonical-path.ts';
import { ATTACKS, CORNERS } from '../fixtures/path-table.ts';

describe('canonicalPath: the table', () => {
  for (const c of [...ATTACKS, ...CORNERS]) {
    const label = c.target.length > 60 ? `${c.target.slice(0, 20)}… (${c.target.length} chars)` : JSON.stringify(c.target);
    it(`${label} -> ${c.canonical ?? 'refused'}`, () => {
      const r = canonicalPath(c.target);
      if (c.canonical === undefined) {
        assert.equal(r.ok, false, `should be refused, got ${JSON.stringify(r)}`);
        assert.ok(!r.ok && r.reason.length > 0);
      } else assert.deepEqual(r, { ok: true, path: c.canonical });
      // Caddy re-encodes some characters (the app gets its form too): an accepted path keeps its meaning
      if (typeof c.caddy === 'string' && c.canonical !== undefined) assert.deepEqual(canonicalPath(c.caddy), r);
    });
  }

  it('every attack on /admin is refused or folds to /admin', () => {
    for (const c of ATTACKS) {
      const r = canonicalPath(c.target);
      if (r.ok) assert.match(foldCase(r.path), /^\/admin(\/|$)/, c.target);
    }
  });

  it('folds case beyond ASCII the way apps might compare', () => {
    assert.equal(foldCase('/ADMIN'), '/admin');
    assert.equal(foldCase('/\u017Fecret'), '/secret', 'long s upper-cases to S');
    assert.equal(foldCase('/\u212Aey'), '/key', 'Kelvin sign lower-cases to k');
    assert.equal(foldCase('/中文'), '/中文');
  });
});

/** percent-encodes what canonicalPath decodes, leaving "/" (and ".") as they are */
const reencode = (p: string) => p.replace(/[^A-Za-z0-9\-._~/!$&'()*+,=:@]/gu, (c) => encodeURIComponent(c));

const segment = fc.stringMatching(/^[A-Za-z0-9\-_~!$&'()*+,=:@é中]{1,8}$/);
const cleanPath = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`);

describe('canonicalPath: properties', () => {
  const runs = { numRuns: 2000 };

  it('never throws, on any string; a refusal always says why', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((s) => `/${s}`), fc.webPath()), (t) => {
        const r = canonicalPath(t);
        assert.ok(r.ok ? typeof r.path === 'string' : r.reason.length > 0);
      }),
      runs,
    );
  });

  it('an accepted path is plain: one leading slash, no empty or dot segments, no escapes, no backslash, ";" or controls', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `/${s}`), fc.webPath({ size: '+1' })), (t) => {
        const r = canonicalPath(t);
        if (!r.ok) return;
        assert.ok(r.path.startsWith('/'));
        assert.ok(!r.path.includes('//'), r.path);
        assert.ok(!r.path.split('/').some((s) => s === '.' || s === '..'), r.path);
        assert.ok(!/%[0-9a-f]{2}/i.test(r.path) && !/[\\;\x00-\x1f\x7f]/.test(r.path), r.path);
      }),
      runs,
    );
  });

  it('is a fixed point: re-encoding a canonical path gives it back', () => {
    fc.assert(
      fc.property(fc.oneof(cleanPath, fc.webPath({ size: '+1' })), (t) => {
        const r = canonicalPath(t);
        if (!r.ok) return;
        assert.deepEqual(canonicalPath(reencode(r.path)), r);
      }),
      runs,
    );
  });

  it('mutations that proxies and apps normalise away (case, escapes, slashes, dot segments) never change the folded path', () => {
    const mutation = fc.constantFrom('case', 'escape', 'slash', 'dot', 'dotdot', 'query');
    fc.assert(
      fc.property(cleanPath, fc.array(fc.tuple(mutation, fc.nat()), { maxLength: 6 }), (p, steps) => {
        let t = reencode(p);
        for (const [m, n] of steps) {
          const slashes = [...t.matchAll(/\//g)].map((x) => x.index!);
          const at = slashes[n % slashes.length]!;
          if (m === 'case') t = t.replace(/[a-z]/, (c) => c.toUpperCase());
          else if (m === 'escape') t = t.replace(/(^|\/)([A-Za-z])/, (_, s: string, c: string) => `${s}%${c.charCodeAt(0).toString(16)}`);
          else if (m === 'slash') t = `${t.slice(0, at)}/${t.slice(at)}`;
          else if (m === 'dot') t = `${t.slice(0, at)}/.${t.slice(at)}`;
          else if (m === 'dotdot') t = `${t.slice(0, at)}/zz/..${t.slice(at)}`;
          else if (!t.includes('?')) t = `${t}?x=/../admin;%00`;
        }
        const r = canonicalPath(t);
        assert.ok(r.ok, `${t}: ${JSON.stringify(r)}`);
        assert.equal(foldCase(r.path), foldCase(p), t);
      }),
      runs,
    );
  });

  it('anything an app could decode a second time, or read as a separator, is refused', () => {
    const bad = fc.constantFrom('%252f', '%2f', '%5c', '\\', ';', '%3b', '%00', '%2e', '%25%32%66', '%0a', '#', '%zz', '%');
    fc.assert(
      fc.property(cleanPath, bad, fc.nat(), (p, b, n) => {
        const t = reencode(p);
        const at = 1 + (n % t.length);
        // a lone "%" in front of two hex digits is a well-formed escape, not a malformed one
        fc.pre(!(b === '%' && /^[0-9a-fA-F]{2}/.test(t.slice(at))));
        const mutated = `${t.slice(0, at)}${b}${t.slice(at)}`;
        assert.equal(canonicalPath(mutated).ok, false, mutated);
      }),
      runs,
    );
  });
});

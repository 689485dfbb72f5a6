import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, javaUtf8, JsonSyntaxError, parseJson, parseLenientJson, toPlain } from '../../src/marketplace/canonical-json.ts';

const canon = (body: Buffer | string): string => canonicalize(parseJson(body));

function assertSyntaxError(body: Buffer | string, message?: RegExp): JsonSyntaxError {
  let caught: unknown;
  assert.throws(() => {
    try {
      parseJson(body);
    } catch (error) {
      caught = error;
      throw error;
    }
  }, JsonSyntaxError);
  assert.ok(caught instanceof JsonSyntaxError);
  assert.equal(caught.name, 'JsonSyntaxError');
  assert.equal(caught.resultCode, '000002');
  if (message) assert.match(caught.message, message);
  return caught;
}

describe('top-level key order', () => {
  it('sorts by UTF-16 code units: "10" < "9" < "A" < "_" < "a" < "é"', () => {
    assert.equal(canon('{"é":1,"a":2,"_":3,"A":4,"9":5,"10":6}'), '{"10":6,"9":5,"A":4,"_":3,"a":2,"é":1}');
  });

  it('sorts astral characters (surrogate pairs) before U+E000..U+FFFF, unlike code-point order', () => {
    assert.equal(canon('{"\uffff":1,"\ue000":2,"😀":3,"中":4}'), '{"中":4,"😀":3,"\ue000":2,"\uffff":1}');
  });

  it('is case-sensitive and not locale-aware', () => {
    assert.equal(canon('{"timestamp":1,"timeStamp":2,"b":3,"B":4}'), '{"B":4,"b":3,"timeStamp":2,"timestamp":1}');
  });

  it('keeps nested key order, including integer-like keys', () => {
    assert.equal(canon('{"o":{"z":1,"10":2,"2":3,"a":4},"a":[{"y":1,"x":2}]}'), '{"a":[{"y":1,"x":2}],"o":{"z":1,"10":2,"2":3,"a":4}}');
  });
});

describe('nulls, duplicates and trailing content', () => {
  it('drops top-level nulls only', () => {
    assert.equal(canon('{"a":null,"b":{"c":null},"d":[null],"e":"","f":{},"g":[],"h":false,"i":0}'), '{"b":{"c":null},"d":[null],"e":"","f":{},"g":[],"h":false,"i":0}');
  });

  it('lets the last duplicate win, at the position of the first occurrence', () => {
    assert.equal(canon('{"b":1,"a":2,"b":3}'), '{"a":2,"b":3}');
    assert.equal(canon('{"o":{"x":1,"y":2,"x":3}}'), '{"o":{"x":3,"y":2}}');
    assert.equal(canon('{"a":1,"a":null}'), '{}');
    assert.equal(canon('{"a":null,"a":1}'), '{"a":1}');
    assert.deepEqual(parseJson('{"x":1,"y":2,"x":3}').entries.map(([key]) => key), ['x', 'y']);
  });

  it('ignores content after the first complete object (Jackson default)', () => {
    assert.equal(canon('{"a":1}{"b":2}'), '{"a":1}');
    assert.equal(canon('{"a":1} garbage ]'), '{"a":1}');
    assert.equal(canon('\r\n\t {"a":1} \n\t\r '), '{"a":1}');
  });

  it('skips a UTF-8 BOM at the start of a byte body', () => {
    assert.equal(canon(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')])), '{"a":1}');
  });
});

describe('numbers', () => {
  it('prints integers in canonical decimal, -0 as 0, beyond 2^53 exactly', () => {
    assert.equal(canon('{"a":-0,"b":0,"c":9007199254740993,"d":-123456789012345678901234567890,"e":18446744073709551616}'), '{"a":0,"b":0,"c":9007199254740993,"d":-123456789012345678901234567890,"e":18446744073709551616}');
  });

  const doubles: Array<[string, string]> = [
    ['1.0', '1.0'],
    ['1', '1'], // an integer token stays an integer
    ['1e0', '1.0'],
    ['10000000.0', '1.0E7'],
    ['1e7', '1.0E7'],
    ['9999999.0', '9999999.0'],
    ['1234567.125', '1234567.125'],
    ['0.001', '0.001'],
    ['1E-3', '0.001'],
    ['0.0001', '1.0E-4'],
    ['1e-7', '1.0E-7'],
    ['1e21', '1.0E21'],
    ['12345678901234567000.0', '1.2345678901234567E19'],
    ['100.50', '100.5'],
    ['-1.5e300', '-1.5E300'],
    ['0.0', '0.0'],
    ['0e10', '0.0'],
    ['-0.0', '-0.0'],
    ['0.1', '0.1'],
    ['1e23', '1.0E23'], // shortest form (JDK 19+); JDK <= 18 prints 9.999999999999999E22
    ['4.9e-324', '4.9E-324'], // Double.MIN_VALUE
    ['1.7976931348623157e308', '1.7976931348623157E308'],
    ['1e400', '"Infinity"'],
    ['-1e400', '"-Infinity"'],
    ['1e-400', '0.0'],
  ];
  for (const [token, expected] of doubles) {
    it(`prints ${token} as ${expected}`, () => {
      assert.equal(canon(`{"n":${token}}`), `{"n":${expected}}`);
    });
  }

  it('rejects number tokens longer than 1000 characters', () => {
    assertSyntaxError(`{"n":${'9'.repeat(1001)}}`, /number longer than 1000/);
    assert.equal(canon(`{"n":${'9'.repeat(1000)}}`), `{"n":${'9'.repeat(1000)}}`);
  });
});

describe('strings', () => {
  it('escapes exactly quote, backslash and C0 controls (upper-case hex)', () => {
    assert.equal(
      canon('{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\\u000B\\u007f\\u2028\\u2029<>&\'é"}'),
      '{"s":"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001F\\u000B\u007f\u2028\u2029<>&\'é"}',
    );
  });

  it('decodes \\u escapes to raw characters, also in keys', () => {
    assert.equal(canon('{"\\u4e2d":"\\u6587\\ud83d\\ude00"}'), '{"中":"文😀"}');
  });

  it('keeps a lone surrogate until UTF-8 encoding, which makes it ?', () => {
    const canonical = canon('{"a":"x\\ud800y"}');
    assert.equal(canonical, '{"a":"x\ud800y"}');
    assert.deepEqual(javaUtf8(canonical), Buffer.from('{"a":"x?y"}'));
  });

  it('javaUtf8 matches Java String.getBytes(UTF_8)', () => {
    assert.deepEqual(javaUtf8('\ud800'), Buffer.from([0x3f]));
    assert.deepEqual(javaUtf8('\udc00\ud800'), Buffer.from('??'));
    assert.deepEqual(javaUtf8('\ud800\ud800\udc00'), Buffer.from([0x3f, 0xf0, 0x90, 0x80, 0x80]));
    assert.deepEqual(javaUtf8('😀中é\u007f'), Buffer.from('😀中é\u007f', 'utf8'));
  });
});

describe('rejected bodies', () => {
  const rejected: Array<[string, string, RegExp]> = [
    ['empty body', '', /empty body/],
    ['whitespace only', ' \n ', /empty body/],
    ['top-level array', '[{"a":1}]', /top level must be a JSON object/],
    ['top-level string', '"a"', /top level must be a JSON object/],
    ['top-level null', 'null', /top level must be a JSON object/],
    ['trailing comma in object', '{"a":1,}', /member name/],
    ['trailing comma in array', '{"a":[1,]}', /expected a value/],
    ['leading comma', '{,"a":1}', /member name/],
    ['single-quoted string', "{'a':1}", /member name/],
    ['single-quoted value', `{"a":'x'}`, /expected a value/],
    ['unquoted key', '{a:1}', /member name/],
    ['NaN', '{"a":NaN}', /expected a value/],
    ['Infinity', '{"a":Infinity}', /expected a value/],
    ['leading zero', '{"a":01}', /leading zeros/],
    ['negative leading zero', '{"a":-01}', /leading zeros/],
    ['plus sign', '{"a":+1}', /expected a value/],
    ['bare fraction', '{"a":.5}', /expected a value/],
    ['missing fraction digits', '{"a":1.}', /after the decimal point/],
    ['missing exponent digits', '{"a":1e}', /in the exponent/],
    ['lone minus', '{"a":-}', /expected a digit/],
    ['raw tab in string', '{"a":"x\ty"}', /raw control character U\+0009/],
    ['raw newline in string', '{"a":"x\ny"}', /raw control character/],
    ['invalid escape', '{"a":"\\x"}', /invalid escape/],
    ['escaped single quote', `{"a":"\\'"}`, /invalid escape/],
    ['short \\u escape', '{"a":"\\u12"}', /4 hex digits/],
    ['unterminated string', '{"a":"abc', /unterminated string/],
    ['unterminated object', '{"a":1', /end of input/],
    ['missing colon', '{"a" 1}', /expected ':'/],
    ['missing comma', '{"a":1 "b":2}', /expected ','/],
    ['line comment', '{"a":1 // c\n}', /expected ','/],
    ['block comment', '{/* c */"a":1}', /member name/],
    ['misspelled literal', '{"a":tru}', /expected a value/],
    ['literal with suffix', '{"a":truex}', /expected ','/],
  ];
  for (const [name, body, message] of rejected) {
    it(name, () => {
      assertSyntaxError(body, message);
    });
  }

  it('reports the position: character index for strings, byte offset for buffers', () => {
    assert.equal(assertSyntaxError('{"中":1,}', /at char 7/).position, 7);
    assert.equal(assertSyntaxError(Buffer.from('{"中":1,}'), /at byte 9/).position, 9);
  });

  it('rejects invalid UTF-8 in a byte body, with its offset', () => {
    const cases: Array<[number[], number]> = [
      [[0xff], 6],
      [[0xc3], 6], // truncated sequence
      [[0xc0, 0xaf], 6], // overlong
      [[0xed, 0xa0, 0x80], 6], // UTF-8-encoded surrogate
      [[0xf4, 0x90, 0x80, 0x80], 6], // above U+10FFFF
      [[0xe4, 0xb8, 0xad, 0x80], 9], // stray continuation byte after 中
    ];
    for (const [bytes, offset] of cases) {
      const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]);
      assert.equal(assertSyntaxError(body, /invalid UTF-8/).position, offset);
    }
  });

  it('rejects deep nesting without exhausting the stack', () => {
    assertSyntaxError(`{"a":${'['.repeat(100_000)}`, /nesting deeper than 200/);
    assertSyntaxError(`{"a":${'{"a":'.repeat(100_000)}`, /nesting deeper than 200/);
    const depth = (levels: number): string => `{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
    assert.equal(canon(depth(200)), depth(200));
    assertSyntaxError(depth(201), /nesting deeper than 200/);
  });

  it('canonicalize refuses a non-object root', () => {
    assert.throws(() => canonicalize({ kind: 'array', items: [] }), TypeError);
  });
});

describe('toPlain', () => {
  it('maps numbers JS cannot hold exactly to their token text', () => {
    const plain = toPlain(parseJson('{"i":42,"neg":-0,"max":9007199254740991,"big":9007199254740992,"f":1.5,"e":1e3,"inf":1e400}'));
    assert.deepEqual(plain, { i: 42, neg: 0, max: 9007199254740991, big: '9007199254740992', f: 1.5, e: 1000, inf: '1e400' });
    assert.ok(Object.is((plain as { neg: number }).neg, 0));
  });

  it('builds plain objects and arrays, last duplicate winning', () => {
    assert.deepEqual(toPlain(parseJson('{"a":[1,"x",true,null,{"b":{}}],"a2":{"k":1,"k":2}}')), { a: [1, 'x', true, null, { b: {} }], a2: { k: 2 } });
  });

  it('keeps "__proto__" an ordinary own key', () => {
    const plain = toPlain(parseJson('{"__proto__":{"polluted":true}}'));
    assert.equal(Object.getPrototypeOf(plain), Object.prototype);
    assert.deepEqual(Object.keys(plain as object), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('parseLenientJson', () => {
  it('accepts strict JSON of any top-level type', () => {
    assert.deepEqual(parseLenientJson(' [{"orgCode":"1","orgName":"A"}] '), [{ orgCode: '1', orgName: 'A' }]);
    assert.equal(parseLenientJson('"x"'), 'x');
  });

  it('accepts unquoted identifier keys and single-quoted strings', () => {
    assert.deepEqual(parseLenientJson(`[{orgCode:"1", orgName:'A "q"', $p_2:'it\\'s', 部门: 1}]`), [{ orgCode: '1', orgName: 'A "q"', $p_2: "it's", 部门: 1 }]);
  });

  it('parses the string form of orgInfoList from the allOrgSync vector', () => {
    const file = JSON.parse(readFileSync(new URL('../fixtures/vectors/kit-sync-signature.json', import.meta.url), 'utf8')) as { vectors: Array<{ name: string; body: string }> };
    const vector = file.vectors.find((v) => v.name === 'allOrgSync_string_form');
    assert.ok(vector);
    const body = toPlain(parseJson(vector.body)) as { orgInfoList: string };
    assert.deepEqual(parseLenientJson(body.orgInfoList), [
      { orgCode: '00000001', orgName: '产品部', parentCode: '265789314' },
      { orgCode: '00000002', orgName: '测试部', parentCode: '265789314' },
    ]);
  });

  it('rejects everything else with JsonSyntaxError', () => {
    for (const text of ['', '[{orgCode:1},]', '[1] x', '{a:b}', 'alert(1)', '[{1a:1}]', "{'a':1", '[NaN]']) {
      assert.throws(() => parseLenientJson(text), JsonSyntaxError, text);
    }
  });
});

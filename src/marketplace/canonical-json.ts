// The kit V2 signature covers the body as Spring + Jackson re-serialize it (spec §4.1, §4.2), so
// the body is parsed into an order-preserving tree with number tokens kept as source text, and
// re-serialized with Jackson's defaults. JSON.parse/JSON.stringify cannot do this (spec §4.4).

export type JsonNode =
  | { kind: 'object'; entries: Array<[string, JsonNode]> }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

export type JsonObjectNode = Extract<JsonNode, { kind: 'object' }>;

/** The body is not JSON the sample could bind (HTTP 400 there). `position` is a byte offset for Buffer input, a UTF-16 index for strings. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  readonly resultCode = '000002';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

// Real payloads nest 3-4 levels; the limit keeps recursion far from the stack size. (Jackson 2.14
// has no limit, 2.15+ stops at 1000; no marketplace body comes near either.)
const MAX_DEPTH = 200;
// Same bound as Jackson 2.15+ (maxNumberLength); BigInt conversion of huge tokens is quadratic.
const MAX_NUMBER_LENGTH = 1000;

/**
 * Parses a request body the way the sample's Jackson binding to Map<String,Object> sees it:
 * top level must be an object, standard JSON only, content after the first complete object is
 * ignored, duplicate keys keep their first position with the last value.
 * Buffer input must be UTF-8 (a leading BOM is skipped, as Jackson does). Invalid UTF-8 anywhere
 * in the buffer is rejected: Jackson fails on it inside tokens too, and rejecting the rest
 * (trailing bytes it never reads, UTF-8-encoded surrogates) is the safe, deterministic choice.
 */
export function parseJson(input: Buffer | string, opts: { maxNodes?: number } = {}): JsonObjectNode {
  const { text, describe } = typeof input === 'string' ? stringSource(input) : bufferSource(input);
  const parser = new Parser(text, false, describe, opts.maxNodes);
  parser.skipWhitespace();
  if (parser.atEnd()) parser.fail('empty body, expected a JSON object');
  if (parser.peek() !== '{') parser.fail('top level must be a JSON object');
  return parser.parseValue(1) as JsonObjectNode;
}

/**
 * For `orgInfoList` sent as a string (spec §5.5): strict JSON, or the non-strict form with
 * unquoted identifier keys and single-quoted strings. Any top-level value; nothing may follow it.
 */
export function parseLenientJson(text: string): unknown {
  const parser = new Parser(text, true, stringSource(text).describe);
  parser.skipWhitespace();
  const value = parser.parseValue(1);
  parser.skipWhitespace();
  if (!parser.atEnd()) parser.fail('unexpected content after the JSON value');
  return toPlain(value);
}

/** Spec §4.2: sorted, null-free top level; compact Jackson output everywhere else. Keys must be unique per object, as parseJson makes them. */
export function canonicalize(root: JsonNode): string {
  if (root.kind !== 'object') throw new TypeError('the canonical form is defined for a JSON object only');
  const members = root.entries
    .filter(([, value]) => value.kind !== 'null')
    .sort(([a], [b]) => compareUtf16(a, b));
  return writeObject(members);
}

/** Java String.compareTo: UTF-16 code units, which is exactly JavaScript's `<` on strings. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** UTF-8 as Java's String.getBytes(UTF_8): each unpaired surrogate becomes '?' (0x3F). */
export function javaUtf8(s: string): Buffer {
  // With the u flag, paired surrogates form one astral code point; only lone ones are \p{Cs}.
  return Buffer.from(s.replace(/\p{Cs}/gu, '?'), 'utf8');
}

/** Plain values for schema validation. Numbers JS cannot hold exactly stay as their token text. */
export function toPlain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object':
      // fromEntries defines own properties, so a "__proto__" key stays an ordinary key.
      return Object.fromEntries(node.entries.map(([key, value]) => [key, toPlain(value)]));
    case 'array':
      return node.items.map(toPlain);
    case 'string':
    case 'boolean':
      return node.value;
    case 'null':
      return null;
    case 'number': {
      const n = Number(node.text);
      if (isIntegerToken(node.text)) return Number.isSafeInteger(n) ? n + 0 : node.text; // n + 0 turns -0 into 0
      return Number.isFinite(n) ? n : node.text;
    }
  }
}

interface Source {
  text: string;
  describe: (index: number) => { position: number; label: string };
}

function stringSource(text: string): Source {
  return { text, describe: (index) => ({ position: index, label: `char ${index}` }) };
}

function bufferSource(buf: Buffer): Source {
  const start = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const invalid = invalidUtf8Offset(buf, start);
  if (invalid !== -1) throw new JsonSyntaxError(`invalid JSON at byte ${invalid}: invalid UTF-8`, invalid);
  const text = buf.toString('utf8', start);
  return {
    text,
    describe: (index) => {
      const position = start + Buffer.byteLength(text.slice(0, index), 'utf8');
      return { position, label: `byte ${position}` };
    },
  };
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
function invalidUtf8Offset(buf: Buffer, from: number): number {
  let i = from;
  while (i < buf.length) {
    const b = buf[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Allowed range of the second byte narrows for E0/ED/F0/F4 (no overlongs, surrogates, > U+10FFFF).
    let length: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const c = buf[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += length;
  }
  return -1;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Parser {
  private pos = 0;
  /** values seen so far: unsigned bodies must not cost more than a real push could */
  private nodes = 0;

  constructor(
    private readonly text: string,
    private readonly lenient: boolean,
    private readonly describe: Source['describe'],
    private readonly maxNodes = Infinity,
  ) {}

  fail(message: string, at = this.pos): never {
    const { position, label } = this.describe(at);
    throw new JsonSyntaxError(`invalid JSON at ${label}: ${message}`, position);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text.charAt(this.pos);
  }

  skipWhitespace(): void {
    for (;;) {
      const c = this.peek();
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') return;
      this.pos++;
    }
  }

  parseValue(depth: number): JsonNode {
    if (++this.nodes > this.maxNodes) this.fail(`more than ${this.maxNodes} JSON values`);
    const c = this.peek();
    if (c === '{') return this.parseObject(depth);
    if (c === '[') return this.parseArray(depth);
    if (c === '"' || (c === "'" && this.lenient)) return { kind: 'string', value: this.parseString() };
    if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber();
    if (this.text.startsWith('true', this.pos)) return this.literal(4, { kind: 'boolean', value: true });
    if (this.text.startsWith('false', this.pos)) return this.literal(5, { kind: 'boolean', value: false });
    if (this.text.startsWith('null', this.pos)) return this.literal(4, { kind: 'null' });
    this.fail(this.atEnd() ? 'unexpected end of input, expected a value' : `unexpected ${this.describeChar()}, expected a value`);
  }

  parseObject(depth: number): JsonObjectNode {
    this.enter(depth);
    const entries: Array<[string, JsonNode]> = [];
    const indexOf = new Map<string, number>();
    this.skipWhitespace();
    if (this.peek() === '}') {
      this.pos++;
      return { kind: 'object', entries };
    }
    for (;;) {
      const key = this.parseKey();
      this.skipWhitespace();
      this.expect(':', "expected ':' after the member name");
      this.skipWhitespace();
      const value = this.parseValue(depth + 1);
      // LinkedHashMap.put: a repeated key keeps its first position and takes the new value.
      const existing = indexOf.get(key);
      if (existing === undefined) {
        indexOf.set(key, entries.length);
        entries.push([key, value]);
      } else {
        entries[existing] = [key, value];
      }
      this.skipWhitespace();
      if (this.peek() === '}') {
        this.pos++;
        return { kind: 'object', entries };
      }
      this.expect(',', "expected ',' or '}' after an object member");
      this.skipWhitespace();
    }
  }

  private parseArray(depth: number): JsonNode {
    this.enter(depth);
    const items: JsonNode[] = [];
    this.skipWhitespace();
    if (this.peek() === ']') {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      if (this.peek() === ']') {
        this.pos++;
        return { kind: 'array', items };
      }
      this.expect(',', "expected ',' or ']' after an array element");
      this.skipWhitespace();
    }
  }

  private enter(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.pos++; // the opening bracket
  }

  private parseKey(): string {
    const c = this.peek();
    if (c === '"' || (c === "'" && this.lenient)) return this.parseString();
    if (this.lenient) {
      const match = /[\p{L}_$][\p{L}\p{N}_$]*/uy;
      match.lastIndex = this.pos;
      const found = match.exec(this.text);
      if (found) {
        this.pos = match.lastIndex;
        return found[0];
      }
    }
    this.fail(this.atEnd() ? 'unexpected end of input, expected a member name' : `unexpected ${this.describeChar()}, expected a double-quoted member name`);
  }

  private parseString(): string {
    const quote = this.peek();
    const start = this.pos;
    this.pos++;
    const parts: string[] = [];
    let run = this.pos;
    for (;;) {
      if (this.atEnd()) this.fail('unterminated string', start);
      const c = this.peek();
      if (c === quote) {
        parts.push(this.text.slice(run, this.pos));
        this.pos++;
        return parts.join('');
      }
      if (c < ' ') this.fail(`raw control character ${this.describeChar()} in a string (must be escaped)`);
      if (c !== '\\') {
        this.pos++;
        continue;
      }
      parts.push(this.text.slice(run, this.pos));
      parts.push(this.parseEscape());
      run = this.pos;
    }
  }

  private parseEscape(): string {
    const at = this.pos;
    const c = this.text.charAt(this.pos + 1);
    this.pos += 2;
    const simple = ESCAPES[c];
    if (simple !== undefined) return simple;
    if (c === "'" && this.lenient) return c;
    if (c === 'u') {
      const hex = this.text.slice(this.pos, this.pos + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('\\u must be followed by 4 hex digits', at);
      this.pos += 4;
      return String.fromCharCode(parseInt(hex, 16)); // may be a lone surrogate, kept as is
    }
    this.fail(c === '' ? 'unterminated string' : 'invalid escape sequence in a string', at);
  }

  private parseNumber(): JsonNode {
    const start = this.pos;
    if (this.peek() === '-') this.pos++;
    const intStart = this.pos;
    this.digits('expected a digit');
    if (this.text[intStart] === '0' && this.pos - intStart > 1) this.fail('leading zeros are not allowed', intStart);
    if (this.peek() === '.') {
      this.pos++;
      this.digits('expected a digit after the decimal point');
    }
    if (this.peek() === 'e' || this.peek() === 'E') {
      this.pos++;
      if (this.peek() === '+' || this.peek() === '-') this.pos++;
      this.digits('expected a digit in the exponent');
    }
    if (this.pos - start > MAX_NUMBER_LENGTH) this.fail(`number longer than ${MAX_NUMBER_LENGTH} characters`, start);
    return { kind: 'number', text: this.text.slice(start, this.pos) };
  }

  private digits(message: string): void {
    const start = this.pos;
    while (this.peek() >= '0' && this.peek() <= '9') this.pos++;
    if (this.pos === start) this.fail(this.atEnd() ? `unexpected end of input, ${message}` : message);
  }

  private literal(length: number, node: JsonNode): JsonNode {
    this.pos += length;
    return node;
  }

  private expect(c: string, message: string): void {
    if (this.peek() !== c) this.fail(this.atEnd() ? `unexpected end of input, ${message}` : `unexpected ${this.describeChar()}, ${message}`);
    this.pos++;
  }

  private describeChar(): string {
    const code = this.text.codePointAt(this.pos) ?? 0;
    const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    return code > 0x20 && code < 0x7f ? `'${String.fromCodePoint(code)}'` : hex;
  }
}

// Plain string concatenation: V8 builds ropes, far cheaper than an array of small parts (a
// 500-user authSync body is ~20k of them).
function writeValue(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return writeObject(node.entries);
    case 'array': {
      let out = '[';
      for (let i = 0; i < node.items.length; i++) out += (i > 0 ? ',' : '') + writeValue(node.items[i]!);
      return `${out}]`;
    }
    case 'string':
      return quote(node.value);
    case 'number':
      return formatNumber(node.text);
    case 'boolean':
      return node.value ? 'true' : 'false';
    case 'null':
      return 'null';
  }
}

function writeObject(entries: Array<[string, JsonNode]>): string {
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i]!;
    out += `${i > 0 ? ',' : ''}${quote(key)}:${writeValue(value)}`;
  }
  return `${out}}`;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/** Jackson's default escaping: quote, backslash and C0 controls only; everything else raw. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

function quote(s: string): string {
  // most strings need no escaping: test once before paying for a replace
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  const escaped = s.replace(
    /["\\\u0000-\u001f]/g,
    (c) => SHORT_ESCAPES[c] ?? `\\u00${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return `"${escaped}"`;
}

function isIntegerToken(text: string): boolean {
  return !/[.eE]/.test(text);
}

/** Integers as Java Integer/Long/BigInteger print them; floats as Jackson writes a Double. */
function formatNumber(text: string): string {
  // the parser admits only canonical integer tokens (no leading zeros), so the text is already
  // what BigInt would print, except -0
  if (isIntegerToken(text)) return text === '-0' ? '0' : text;
  const d = Number(text);
  // Jackson's QUOTE_NON_NUMERIC_NUMBERS (on by default) writes non-finite doubles as strings.
  return Number.isFinite(d) ? javaDoubleToString(d) : `"${d > 0 ? 'Infinity' : '-Infinity'}"`;
}

/**
 * Java Double.toString for finite doubles, JDK 19+ semantics (shortest digits that round-trip;
 * JDK <= 18 differs for a few values, see spec §4.2). Plain notation for 1e-3 <= |d| < 1e7, else
 * computerized scientific; always at least one fractional digit.
 */
function javaDoubleToString(d: number): string {
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0';
  const sign = d < 0 ? '-' : '';
  const { digits, exponent } = javaDigits(Math.abs(d));
  if (exponent >= -3 && exponent < 7) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    return `${sign}${intPart}.${digits.slice(exponent + 1) || '0'}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}E${exponent}`;
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** Significant digits (no trailing zeros) and decimal exponent of a positive finite double. */
function javaDigits(x: number): { digits: string; exponent: number } {
  // toExponential() without an argument yields the shortest round-trip digits, ties to even.
  const [mantissa = '', exp = '0'] = x.toExponential().split('e');
  const shortest = { digits: mantissa.replace('.', ''), exponent: Number(exp) };
  // JDK 19+: when the shortest form has one digit, a two-digit decimal closer to x wins
  // (Double.MIN_VALUE prints 4.9E-324, not 5.0E-324). Only subnormals have rounding intervals
  // wide enough to contain such a decimal.
  if (shortest.digits.length > 1 || x >= MIN_NORMAL) return shortest;
  return closestTwoDigitDecimal(x, shortest.exponent);
}

function closestTwoDigitDecimal(x: number, exponent: number): { digits: string; exponent: number } {
  // x = m * 2^-1074 exactly; candidates n * 10^q with q = exponent - 2 cover both two-digit
  // scales around x (n in 100..990 step 10, and 10..99). Compare |n*10^q - x| exactly, scaled by
  // 2^1074 * 10^-q (q is always negative here).
  const m = BigInt(x * 2 ** 1000 * 2 ** 74);
  const q = exponent - 2;
  const scaledX = m * 10n ** BigInt(-q);
  let best = { digits: '', exponent: 0, distance: -1n };
  for (let n = 10n; n <= 990n; n++) {
    if (n >= 100n && n % 10n !== 0n) continue; // three significant digits
    if (Number(`${n}e${q}`) !== x) continue;
    const diff = n * 2n ** 1074n - scaledX;
    const distance = diff < 0n ? -diff : diff;
    const text = n.toString();
    const digits = text.replace(/0+$/, '');
    const even = Number(digits.at(-1)) % 2 === 0;
    if (best.distance < 0n || distance < best.distance || (distance === best.distance && even)) {
      best = { digits, exponent: q + text.length - 1, distance };
    }
  }
  return { digits: best.digits, exponent: best.exponent };
}

// String helpers that behave like the Python built-ins the reference metrics are written with.
// sacreBLEU, rouge-score and the SQuAD script all lean on str.split(), str.rstrip() and
// collections.Counter; JavaScript's own \s and String.length differ from them in small ways
// (\s has U+FEFF but not U+001C–U+001F or U+0085; length counts UTF-16 units, not code points).

/** The characters Python's str.isspace() accepts: what str.split() and str.strip() cut on. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`, 'u');

/** Python's `s.split()`: split on runs of whitespace, no empty strings. */
export function pySplit(s: string): string[] {
  return s.split(PY_SPACE_RUN).filter((w) => w.length > 0);
}

/** Python's `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(PY_TRAILING_SPACE, '');
}

/** Python's `' '.join(s.split())`: trim and collapse whitespace. */
export function pyCollapseSpace(s: string): string {
  return pySplit(s).join(' ');
}

/** The code points of s, as Python indexes a str. */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/** Python's `len(s)`. */
export function pyLen(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
    else { const d = s.charCodeAt(i + 1); if (d >= 0xdc00 && d <= 0xdfff) i++; n++; }
  }
  return n;
}

/** A multiset: key → count, as collections.Counter. */
export type Counter = Map<string, number>;

export function countItems(items: Iterable<string>): Counter {
  const c: Counter = new Map();
  for (const x of items) c.set(x, (c.get(x) ?? 0) + 1);
  return c;
}

/** Σ min(a[k], b[k]): the size of the multiset intersection (`sum((a & b).values())`). */
export function overlapCount(a: Counter, b: Counter): number {
  let n = 0;
  for (const [k, v] of a) { const w = b.get(k); if (w !== undefined) n += Math.min(v, w); }
  return n;
}

export function totalCount(c: Counter): number {
  let n = 0;
  for (const v of c.values()) n += v;
  return n;
}

// n-gram keys join tokens with U+0001. keyTokens escapes the rare token that holds U+0001 or
// U+0002 (U+0002 → U+0002 U+0003, U+0001 → U+0002 U+0004), so that distinct n-grams (Python
// tuples) never share a key.
const KEY_SEP = '\u0001';
const NEEDS_ESCAPE = /[\u0001\u0002]/;

/** Tokens made safe to join into n-gram keys; the same array when nothing needs escaping. */
export function keyTokens(tokens: string[]): string[] {
  if (!tokens.some((t) => NEEDS_ESCAPE.test(t))) return tokens;
  return tokens.map((t) => t.replace(/\u0002/g, '\u0002\u0003').replace(/\u0001/g, '\u0002\u0004'));
}

/** Counts of the n-grams of one order; pass tokens through keyTokens first. */
export function ngramCounts(tokens: readonly string[], n: number): Counter {
  const c: Counter = new Map();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(KEY_SEP);
    c.set(key, (c.get(key) ?? 0) + 1);
  }
  return c;
}

/** Throws unless `value` is an array of strings; `what` names the argument in the error. */
export function checkStrings(value: unknown, what: string, fn: string): asserts value is string[] {
  if (!Array.isArray(value)) throw new Error(`${fn}: ${what} must be an array of strings, got ${typeof value}`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') throw new Error(`${fn}: ${what}[${i}] must be a string, got ${value[i] === null ? 'null' : typeof value[i]}`);
  }
}

/**
 * References as one list per hypothesis. Accepts string[] (one reference each) or string[][]
 * (several each, as HF evaluate takes them) and checks the lengths line up.
 */
export function referenceLists(refs: unknown, count: number, fn: string, items: 'hyps' | 'preds' = 'hyps'): string[][] {
  if (!Array.isArray(refs)) throw new Error(`${fn}: refs must be string[] or string[][], got ${typeof refs}`);
  if (refs.length !== count) throw new Error(`${fn}: got ${count} ${items} but ${refs.length} refs (refs[i] holds the reference(s) of ${items}[i])`);
  return refs.map((r, i) => {
    if (typeof r === 'string') return [r];
    if (!Array.isArray(r)) throw new Error(`${fn}: refs[${i}] must be a string or an array of strings, got ${r === null ? 'null' : typeof r}`);
    if (r.length === 0) throw new Error(`${fn}: refs[${i}] has no references`);
    for (let j = 0; j < r.length; j++) {
      if (typeof r[j] !== 'string') throw new Error(`${fn}: refs[${i}][${j}] must be a string, got ${r[j] === null ? 'null' : typeof r[j]}`);
    }
    return r as string[];
  });
}

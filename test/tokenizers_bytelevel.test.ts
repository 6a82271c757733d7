// Byte-level BPE against the oracle: GPT-2's vocabulary (imported from js-tiktoken's rank file)
// must give js-tiktoken's ids on all of Tiny Shakespeare and on multilingual text, random Unicode
// must round-trip, and the fused fast path must agree with the generic pipeline.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { fromTiktoken, gpt2Split, normalizers, preTokenizers, Tokenizer, type Encoding } from '../src/tokenizers/index.js';

const SHAKESPEARE = readFileSync(join(process.cwd(), 'data', 'tinyshakespeare.txt'), 'utf8');
const MULTILINGUAL = readFileSync(join(process.cwd(), 'test', 'fixtures', 'tokenizers', 'multilingual.txt'), 'utf8');

const gpt2 = fromTiktoken(gpt2Ranks);
const oracle = new Tiktoken(gpt2Ranks);

/** Same tokenizer, forced onto the generic path (a no-op normalizer disables the fused one). */
function generic(tok: Tokenizer): Tokenizer {
  const g = Tokenizer.fromJSON(JSON.parse(tok.toString()));
  g.normalizer = new normalizers.NormalizerSequence([]);
  return g;
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random text that stresses the split pattern and the byte alphabet: ASCII words, contractions,
 * digits, punctuation, whitespace of every kind, CJK, Arabic, combining marks, emoji with ZWJ and
 * variation selectors, flags, and random code points from all planes (no surrogates).
 */
function randomText(next: () => number, length: number, exclude: Set<number> = new Set()): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const pieces = [
    () => pick(['the', 'The', 'HELLO', 'x', 'naïve', 'Straße', 'don', 'we']),
    () => pick(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'", "’s"]),
    () => String(Math.floor(next() * 10000)),
    () => pick(['.', ',', '!!', '?', '—', '...', '(', ')', '"', '#', '$', '@', '_', '-']),
    () => pick([' ', '  ', '   ', '\t', '\n', '\r\n', '\n\n', ' \n', '\u00a0', '\u3000', '\u2028', '\u0085', '\ufeff', '\u000b', '\f']),
    () => pick(['你好', '世界', '机器学习', 'こんにちは', 'カタカナ', 'مرحبا', 'بِسْمِ', '한국어', 'Ελλάδα', 'हिन्दी']),
    () => pick(['e\u0301', 'a\u0308\u0304', '\u0301', 'n\u0303']),
    () => pick(['😀', '👍🏽', '👩\u200d💻', '👨\u200d👩\u200d👧', '🏳\ufe0f\u200d🌈', '🇯🇵', '🇫🇷🇩🇪', '1\ufe0f\u20e3', '𝐀𝐁', '𠀀']),
    () => {
      let cp: number;
      do cp = Math.floor(next() * 0x110000); while (cp >= 0xd800 && cp < 0xe000);
      return String.fromCodePoint(cp);
    },
  ];
  let s = '';
  while (s.length < length) s += pick(pieces)();
  // Drop excluded code points (whole code points, so no surrogate is cut in half).
  return Array.from(s).filter((ch) => !exclude.has(ch.codePointAt(0)!)).join('');
}

test('GPT-2 ids identical to js-tiktoken on all of Tiny Shakespeare', () => {
  const ids = gpt2.encodeIds(SHAKESPEARE);
  assert.equal(ids.length, oracle.encode(SHAKESPEARE).length);
  assert.deepEqual(ids, oracle.encode(SHAKESPEARE));
  assert.equal(gpt2.decode(ids), SHAKESPEARE);
});

test('GPT-2 ids identical to js-tiktoken on the multilingual text (CJK, Arabic, emoji ZWJ, flags, marks, CRLF)', () => {
  const expected = oracle.encode(MULTILINGUAL);
  assert.deepEqual(gpt2.encodeIds(MULTILINGUAL), expected);
  assert.deepEqual(gpt2.encode(MULTILINGUAL).ids, expected);
  assert.deepEqual(generic(gpt2).encode(MULTILINGUAL).ids, expected);
  // Line by line too, so the cache holds nothing that spans lines.
  gpt2.clearCache();
  for (const line of MULTILINGUAL.split('\n')) assert.deepEqual(gpt2.encodeIds(line), oracle.encode(line), JSON.stringify(line));
});

test('GPT-2 ids identical to js-tiktoken on random Unicode text', () => {
  // js-tiktoken runs the pattern with JS's \s, which disagrees with Unicode White_Space (HF,
  // Rust tiktoken, tlm) on U+0085 and U+FEFF; those two are compared separately below.
  const next = rng(7);
  for (let k = 0; k < 300; k++) {
    const text = randomText(next, 1 + Math.floor(next() * 120), new Set([0x85, 0xfeff]));
    assert.deepEqual(gpt2.encodeIds(text), oracle.encode(text), JSON.stringify(text));
  }
});

test('whitespace follows Unicode White_Space: U+0085 is whitespace, U+FEFF is not', () => {
  // As whitespace, the run before 'b' gives up its last character: 'a', NEL, NEL, 'b'
  // (js-tiktoken's JS \s would see symbols and keep 'a', NEL NEL, 'b').
  assert.deepEqual(piecesOf('a\u0085\u0085b'), ['a', '\u0085', '\u0085', 'b']);
  assert.deepEqual(piecesOf('a \ufeffb'), ['a', ' \ufeff', 'b']);
});

function piecesOf(text: string): string[] {
  const flat = gpt2Split(text);
  const out: string[] = [];
  for (let k = 0; k < flat.length; k += 2) out.push(text.slice(flat[k], flat[k + 1]));
  return out;
}

test('the GPT-2 scanner splits exactly like the GPT-2 regex (with \\s as White_Space)', () => {
  const ws = '\\p{White_Space}';
  const re = new RegExp(`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${ws}\\p{L}\\p{N}]+|[${ws}]+(?![^${ws}])|[${ws}]+`, 'gu');
  const next = rng(11);
  const cases = ['', ' ', '  a', 'a  ', "it's", "''s", " 'll", 'x\t\ty', 'a \n\n b', '\n\n\n', '   x', "I'M", '¿Qué?', '3.14 15', 'x' + ' '.repeat(5)];
  for (let k = 0; k < 500; k++) cases.push(randomText(next, 1 + Math.floor(next() * 60)));
  for (const text of cases) assert.deepEqual(piecesOf(text), text.match(re) ?? [], JSON.stringify(text));
});

test('decode(encode(s)) == s for random Unicode strings (byte-level BPE)', () => {
  const next = rng(3);
  for (let k = 0; k < 500; k++) {
    const text = randomText(next, 1 + Math.floor(next() * 200));
    assert.equal(gpt2.decode(gpt2.encodeIds(text)), text, JSON.stringify(text));
  }
  // Lone surrogates are not text; like TextEncoder, they become U+FFFD rather than crash.
  assert.equal(gpt2.decode(gpt2.encodeIds('a\ud800b\udc00')), 'a\ufffdb\ufffd');
});

test('the fused byte-level path and the generic pipeline agree on ids, tokens and offsets', () => {
  const g = generic(gpt2);
  const check = (fast: Tokenizer, slow: Tokenizer, text: string): void => {
    const a = fast.encode(text);
    const b = slow.encode(text);
    assert.deepEqual(a.ids, b.ids, JSON.stringify(text));
    assert.deepEqual(a.tokens, b.tokens, JSON.stringify(text));
    assert.deepEqual(a.offsets, b.offsets, JSON.stringify(text));
    assert.deepEqual(a.wordIds, b.wordIds, JSON.stringify(text));
  };
  const next = rng(5);
  for (let k = 0; k < 200; k++) check(gpt2, g, randomText(next, 1 + Math.floor(next() * 100)));
  check(gpt2, g, MULTILINGUAL);
  // Also with add_prefix_space (RoBERTa style).
  const prefixed = Tokenizer.fromJSON(JSON.parse(gpt2.toString()));
  prefixed.preTokenizer = new preTokenizers.ByteLevel(true);
  const prefixedSlow = generic(prefixed);
  for (let k = 0; k < 100; k++) check(prefixed, prefixedSlow, randomText(next, 1 + Math.floor(next() * 100)));
  assert.equal(prefixed.encode('Hello').tokens[0], 'ĠHello');
  assert.deepEqual(prefixed.encode('Hello').offsets[0], [0, 5]);
});

test('offsets point at each token\'s source text, in UTF-16 units', () => {
  const text = 'naïve café — 日本語 👩\u200d💻!';
  const enc: Encoding = gpt2.encode(text);
  for (let i = 0; i < enc.length; i++) {
    const [s, e] = enc.offsets[i]!;
    const piece = gpt2.decode([enc.ids[i]!]);
    // A token holding only part of a character's bytes decodes to U+FFFD; its offsets span the
    // whole character.
    if (!piece.includes('\ufffd')) assert.equal(text.slice(s, e), piece, `token ${i}`);
    else assert.ok(e > s && s >= 0 && e <= text.length);
  }
  assert.deepEqual(enc.offsets.map(([s]) => s), [...enc.offsets.map(([s]) => s)].sort((a, b) => a - b), 'offsets are in order');
});

test('special tokens in the text become one id; skipSpecialTokens drops them on decode', () => {
  const ids = gpt2.encodeIds('Hello<|endoftext|>world');
  assert.deepEqual(ids, [...oracle.encode('Hello'), 50256, ...oracle.encode('world')]);
  assert.equal(gpt2.decode(ids), 'Hello<|endoftext|>world');
  assert.equal(gpt2.decode(ids, { skipSpecialTokens: true }), 'Helloworld');
  assert.throws(() => gpt2.decode([50257]), /decode: id 50257 \(position 0\) is not in the vocabulary \(size 50257\)/);
});

test('long words without spaces merge like short ones (heap path vs scan path)', () => {
  // A 3000-byte word exercises the heap merge; the same text cut into short words uses the scan.
  const long = '机器学习'.repeat(250);
  assert.deepEqual(gpt2.encodeIds(long), oracle.encode(long));
  const digits = '1234567890'.repeat(100);
  assert.deepEqual(gpt2.encodeIds(digits), oracle.encode(digits));
  const spaces = ' '.repeat(5000) + 'x';
  assert.deepEqual(gpt2.encodeIds(spaces), oracle.encode(spaces));
});

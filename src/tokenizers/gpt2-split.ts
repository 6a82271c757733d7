// GPT-2's pre-tokenization pattern, as a hand-written scanner instead of a regex:
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// The regex tries its alternatives in order at each position; the scanner does the same, with one
// table lookup per character. Running it over a string with the regex semantics in mind:
// - a contraction ('s 't 're 've 'm 'll 'd, lower case only) is taken first wherever it starts;
// - otherwise a run of letters, of numbers or of "other" characters, optionally preceded by one
//   space (U+0020 only: a tab or newline never glues to the next word);
// - otherwise whitespace: `\s+(?!\S)` takes the run except its last character when a non-space
//   follows (that character then prefixes the next word), and `\s+` takes a lone whitespace
//   character before a non-space.
// `\s` here is Unicode White_Space, as in Oniguruma (HF tokenizers) and the Rust regex crate
// (tiktoken). js-tiktoken runs the pattern on JS's `\s`, which differs on two code points:
// U+0085 (White_Space, not JS \s) and U+FEFF (JS \s, not White_Space).

import { charFlags, LETTER, NUMBER, SPACE } from './unicode.js';

const CLS_OTHER = 0;
const CLS_LETTER = 1;
const CLS_NUMBER = 2;
const CLS_SPACE = 3;

/** Pattern class of every code point below 0x10000, filled lazily by page like unicode.ts. */
const bmpClass = new Uint8Array(0x10000);
const bmpPageDone = new Uint8Array(256);

function classOfFlags(f: number): number {
  return f & LETTER ? CLS_LETTER : f & NUMBER ? CLS_NUMBER : f & SPACE ? CLS_SPACE : CLS_OTHER;
}

function fillBmpPage(page: number): void {
  for (let cp = page << 8; cp < (page + 1) << 8; cp++) bmpClass[cp] = classOfFlags(charFlags(cp));
  bmpPageDone[page] = 1;
}
fillBmpPage(0);

/** Class of the code point starting at unit i; a surrogate pair is looked up as one code point. */
function classAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c >= 0xe000) {
    if (bmpPageDone[c >> 8] === 0) fillBmpPage(c >> 8);
    return bmpClass[c]!;
  }
  if (c < 0xdc00 && i + 1 < text.length) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo < 0xe000) return classOfFlags(charFlags(((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000));
  }
  return CLS_OTHER; // a lone surrogate is neither letter, number nor space
}

/** Width in UTF-16 units of the code point at i (2 for a surrogate pair). */
function widthAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo < 0xe000) return 2;
  }
  return 1;
}

/** End of the run of class `cls` that starts at i. */
function runEnd(text: string, i: number, end: number, cls: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c >= 0xe000) {
      if (bmpPageDone[c >> 8] === 0) fillBmpPage(c >> 8);
      if (bmpClass[c] !== cls) return i;
      i++;
    } else {
      if (classAt(text, i) !== cls) return i;
      i += widthAt(text, i);
    }
  }
  return i;
}

/**
 * The end of the GPT-2 piece that starts at unit `i` of text[.., end). Callers walk a string with
 * `for (let i = s; i < e; ) { const j = gpt2PieceEnd(text, i, e); …; i = j; }`.
 */
export function gpt2PieceEnd(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x27 && i + 1 < end) { // apostrophe: contractions first
    const d = text.charCodeAt(i + 1);
    if (d === 0x73 || d === 0x74 || d === 0x6d || d === 0x64) return i + 2; // 's 't 'm 'd
    if (i + 2 < end) {
      const e = text.charCodeAt(i + 2);
      if ((d === 0x72 && e === 0x65) || (d === 0x76 && e === 0x65) || (d === 0x6c && e === 0x6c)) return i + 3; // 're 've 'll
    }
  }
  if (c === 0x20 && i + 1 < end) { // a space glues to a following letter, number or other run
    const next = classAt(text, i + 1);
    if (next !== CLS_SPACE) return runEnd(text, i + 1, end, next);
  }
  const cls = classAt(text, i);
  if (cls !== CLS_SPACE) return runEnd(text, i, end, cls);
  const k = runEnd(text, i, end, CLS_SPACE);
  // Whitespace is all in the BMP, so the last character of the run is one unit wide.
  if (k === end || k - i < 2) return k;
  return k - 1;
}

/** All pieces of text[start, end) as [start, end) pairs (flat). For tests and the generic path. */
export function gpt2Split(text: string, start = 0, end = text.length): number[] {
  const out: number[] = [];
  for (let i = start; i < end;) {
    const j = gpt2PieceEnd(text, i, end);
    out.push(i, j);
    i = j;
  }
  return out;
}

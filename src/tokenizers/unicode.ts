// Character classes used by the pre-tokenizers and normalizers, looked up per code point.
//
// The Unicode properties come from the JS regex engine (\p{…}), so they follow the Unicode version
// of the running engine. Classifying a code point with a regex is slow, so the answer is cached in
// a flat table: a page of 256 code points is classified the first time any of them is seen, and
// the hot loops afterwards read one byte.

export const LETTER = 1; // \p{L}
export const NUMBER = 2; // \p{N}
export const SPACE = 4; // \p{White_Space}: what Rust's char::is_whitespace and Oniguruma's \s accept
export const PUNCT = 8; // \p{P}
export const OTHER = 16; // \p{C}: control, format, surrogate, private use, unassigned
export const MARK_NONSPACING = 32; // \p{Mn}
export const MARK = 64; // \p{M}
export const CONNECTOR = 128; // \p{Pc}, part of \w

const flags = new Uint8Array(0x110000);
const pageDone = new Uint8Array(0x110000 >> 8);

const TESTS: [RegExp, number][] = [
  [/\p{L}/u, LETTER], [/\p{N}/u, NUMBER], [/\p{White_Space}/u, SPACE], [/\p{P}/u, PUNCT],
  [/\p{C}/u, OTHER], [/\p{Mn}/u, MARK_NONSPACING], [/\p{M}/u, MARK], [/\p{Pc}/u, CONNECTOR],
];

function fillPage(page: number): void {
  const first = page << 8;
  for (let cp = first; cp < first + 256; cp++) {
    const ch = String.fromCodePoint(cp);
    let f = 0;
    for (const [re, bit] of TESTS) if (re.test(ch)) f |= bit;
    flags[cp] = f;
  }
  pageDone[page] = 1;
}

/** The class bits of code point `cp` (an OR of the constants above). */
export function charFlags(cp: number): number {
  if (pageDone[cp >> 8] === 0) fillPage(cp >> 8);
  return flags[cp]!;
}

// ASCII and Latin-1 are on every hot path: classify them up front.
fillPage(0);

/** The code point at `i` (a surrogate pair gives the astral code point; a lone surrogate itself). */
export function codePointAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo < 0xe000) return ((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
  }
  return c;
}

export const isWhitespace = (cp: number): boolean => (charFlags(cp) & SPACE) !== 0;

/** BERT's punctuation: all ASCII symbols (so `$`, `+`, `^` count), plus Unicode category P. */
export function isBertPunctuation(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return (charFlags(cp) & PUNCT) !== 0;
}

/** BERT's "control" characters (removed by clean_text): category C, except tab, newline and CR. */
export function isBertControl(cp: number): boolean {
  if (cp === 9 || cp === 10 || cp === 13) return false;
  return (charFlags(cp) & OTHER) !== 0;
}

/** The CJK Unified Ideographs blocks that BERT splits into single characters. */
export function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

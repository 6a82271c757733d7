// Normalizers: the first pipeline stage, cleaning text before it is split (HF `normalizer`).
// Each one maps an AlignedText to a new AlignedText, so offsets still point into the input.

import { AlignedBuilder, AlignedText } from './aligned.js';
import { Precompiled } from './precompiled.js';
import { asArray, asObject, fail, getBool, getOptBool, getPattern, getString, getType, toPattern, type JsonObject, type Pattern } from './json.js';
import { charFlags, isBertControl, isCjk, isWhitespace, MARK, MARK_NONSPACING } from './unicode.js';

export { Precompiled } from './precompiled.js';

export interface Normalizer {
  normalize(text: AlignedText): AlignedText;
  toJSON(): JsonObject;
}

/** Lower-cases one code point at a time (Rust's char::to_lowercase: no final-sigma rule). */
const lowercaseChar = (cp: number): string | undefined => {
  if (cp < 128) return cp >= 65 && cp <= 90 ? String.fromCharCode(cp + 32) : undefined;
  const ch = String.fromCodePoint(cp);
  const low = ch.toLowerCase();
  return low === ch ? undefined : low;
};

/**
 * Lower-cases with alignment. Usually every unit maps to one unit, so the whole-string
 * toLowerCase can keep the alignment as is; only a capital sigma (JS applies the final-sigma rule,
 * Rust does not) or a change of length (İ → i̇) needs the per-character path.
 */
function lowercaseText(text: AlignedText): AlignedText {
  const low = text.text.toLowerCase();
  if (low === text.text) return text;
  if (low.length === text.length && !text.text.includes('\u03a3')) return new AlignedText(low, text.starts, text.ends, text.base);
  return text.mapChars(lowercaseChar);
}

/** BERT's normalizer: clean control characters, space out CJK, strip accents, lowercase. */
export class BertNormalizer implements Normalizer {
  constructor(readonly opts: { cleanText: boolean; handleChineseChars: boolean; stripAccents: boolean | null; lowercase: boolean } =
  { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true }) {}

  normalize(text: AlignedText): AlignedText {
    const { cleanText, handleChineseChars, lowercase } = this.opts;
    let t = text;
    if (cleanText) {
      // Drop NUL, U+FFFD and control characters; every whitespace character becomes a space.
      t = t.mapChars((cp) => {
        if (cp === 0 || cp === 0xfffd || isBertControl(cp)) return '';
        return cp !== 32 && isWhitespace(cp) ? ' ' : undefined;
      });
    }
    if (handleChineseChars) t = t.mapChars((cp) => isCjk(cp) ? ` ${String.fromCodePoint(cp)} ` : undefined);
    if (this.opts.stripAccents ?? lowercase) t = stripAccents(t);
    if (lowercase) t = lowercaseText(t);
    return t;
  }

  toJSON(): JsonObject {
    const o = this.opts;
    return { type: 'BertNormalizer', clean_text: o.cleanText, handle_chinese_chars: o.handleChineseChars, strip_accents: o.stripAccents, lowercase: o.lowercase };
  }
}

export class Lowercase implements Normalizer {
  normalize(text: AlignedText): AlignedText { return lowercaseText(text); }
  toJSON(): JsonObject { return { type: 'Lowercase' }; }
}

type Form = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/**
 * Unicode normalization with alignment. The text is cut into segments that normalize
 * independently — a starter and the combining marks after it — and each output unit maps to its
 * segment. Hangul vowel and trailing jamo (U+1161–U+11C2) join the preceding segment because
 * they compose with it.
 */
export function unicodeNormalize(text: AlignedText, form: Form): AlignedText {
  const s = text.text;
  if (s.normalize(form) === s) return text;
  const b = new AlignedBuilder(s.length);
  for (let i = 0; i < s.length;) {
    let j = i + (s.codePointAt(i)! > 0xffff ? 2 : 1);
    while (j < s.length) {
      const cp = s.codePointAt(j)!;
      if (!(charFlags(cp) & MARK) && !(cp >= 0x1161 && cp <= 0x11c2)) break;
      j += cp > 0xffff ? 2 : 1;
    }
    const seg = s.slice(i, j);
    const out = seg.normalize(form);
    if (out === seg) b.pushUnits(s, i, j, text);
    else b.push(out, text.startOf(i), text.endOf(j - 1));
    i = j;
  }
  return b.build();
}

export class UnicodeNormalizer implements Normalizer {
  constructor(readonly form: Form) {}
  normalize(text: AlignedText): AlignedText { return unicodeNormalize(text, this.form); }
  toJSON(): JsonObject { return { type: this.form }; }
}

/** NFD, then drop non-spacing marks (accents): 'café' → 'cafe'. */
function stripAccents(text: AlignedText): AlignedText {
  const nfd = unicodeNormalize(text, 'NFD');
  return nfd.mapChars((cp) => (charFlags(cp) & MARK_NONSPACING) !== 0 ? '' : undefined);
}

/** Removes non-spacing marks. Like HF, it expects NFD text (put an NFD normalizer before it). */
export class StripAccents implements Normalizer {
  normalize(text: AlignedText): AlignedText {
    return text.mapChars((cp) => (charFlags(cp) & MARK_NONSPACING) !== 0 ? '' : undefined);
  }
  toJSON(): JsonObject { return { type: 'StripAccents' }; }
}

/** Removes whitespace at the start and/or end. */
export class Strip implements Normalizer {
  constructor(readonly left = true, readonly right = true) {}
  normalize(text: AlignedText): AlignedText {
    const s = text.text;
    let a = 0;
    let b = s.length;
    if (this.left) while (a < b && isWhitespace(s.charCodeAt(a))) a++;
    if (this.right) while (b > a && isWhitespace(s.charCodeAt(b - 1))) b--;
    return text.slice(a, b);
  }
  toJSON(): JsonObject { return { type: 'Strip', strip_left: this.left, strip_right: this.right }; }
}

/** Replaces every match of a pattern; the replacement maps to the span of what it replaced. */
export class Replace implements Normalizer {
  readonly pattern: Pattern;
  constructor(pattern: Pattern | string | RegExp, readonly content: string) {
    this.pattern = typeof pattern === 'string' || pattern instanceof RegExp ? toPattern(pattern) : pattern;
  }
  normalize(text: AlignedText): AlignedText {
    const s = text.text;
    const re = this.pattern.re;
    re.lastIndex = 0;
    let m = re.exec(s);
    if (m === null) return text;
    const b = new AlignedBuilder(s.length);
    let last = 0;
    while (m !== null) {
      const a = m.index;
      const e = a + m[0].length;
      if (e === a) { re.lastIndex++; m = re.exec(s); continue; } // empty matches replace nothing
      b.pushUnits(s, last, a, text);
      const [os, oe] = text.span(a, e);
      b.push(this.content, os, oe);
      last = e;
      m = re.exec(s);
    }
    b.pushUnits(s, last, s.length, text);
    return b.build();
  }
  toJSON(): JsonObject { return { type: 'Replace', pattern: this.pattern.json, content: this.content }; }
}

/** Puts a string in front of non-empty text (aligned with the first character). */
export class Prepend implements Normalizer {
  constructor(readonly prepend: string) {}
  normalize(text: AlignedText): AlignedText {
    if (text.length === 0) return text;
    const b = new AlignedBuilder(text.length + this.prepend.length);
    b.push(this.prepend, text.startOf(0), text.endOf(text.text.codePointAt(0)! > 0xffff ? 1 : 0));
    b.pushUnits(text.text, 0, text.length, text);
    return b.build();
  }
  toJSON(): JsonObject { return { type: 'Prepend', prepend: this.prepend }; }
}

/**
 * SentencePiece's NMT cleanup: drop ASCII control characters, turn other space-like characters
 * (tab, newline, CR, zero-width spaces, U+2581, BOM, U+FFFD, …) into a plain space.
 */
export class Nmt implements Normalizer {
  normalize(text: AlignedText): AlignedText {
    return text.mapChars((cp) => {
      if ((cp >= 1 && cp <= 8) || cp === 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp === 0x7f || cp === 0x8f || cp === 0x9f) return '';
      if (cp === 9 || cp === 10 || cp === 12 || cp === 13 || cp === 0x1680 || (cp >= 0x200b && cp <= 0x200f) || cp === 0x2028 ||
        cp === 0x2029 || cp === 0x2581 || cp === 0xfeff || cp === 0xfffd) return ' ';
      return undefined;
    });
  }
  toJSON(): JsonObject { return { type: 'Nmt' }; }
}

export class NormalizerSequence implements Normalizer {
  constructor(readonly normalizers: Normalizer[]) {}
  normalize(text: AlignedText): AlignedText {
    for (const n of this.normalizers) text = n.normalize(text);
    return text;
  }
  toJSON(): JsonObject { return { type: 'Sequence', normalizers: this.normalizers.map((n) => n.toJSON()) }; }
}

const TYPES = ['BertNormalizer', 'Lowercase', 'NFC', 'NFD', 'NFKC', 'NFKD', 'StripAccents', 'Strip', 'Replace', 'Prepend', 'Nmt', 'Precompiled', 'Sequence'] as const;

export function normalizerFromJSON(json: unknown, path = 'normalizer'): Normalizer | null {
  if (json === null || json === undefined) return null;
  const o = asObject(json, path);
  const type = getType(o, path, 'normalizer', TYPES);
  switch (type) {
    case 'BertNormalizer':
      return new BertNormalizer({
        cleanText: getBool(o, 'clean_text', path, true), handleChineseChars: getBool(o, 'handle_chinese_chars', path, true),
        stripAccents: getOptBool(o, 'strip_accents', path), lowercase: getBool(o, 'lowercase', path, true),
      });
    case 'Lowercase': return new Lowercase();
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': return new UnicodeNormalizer(type);
    case 'StripAccents': return new StripAccents();
    case 'Strip': return new Strip(getBool(o, 'strip_left', path, true), getBool(o, 'strip_right', path, true));
    case 'Replace': return new Replace(getPattern(o, 'pattern', path), getString(o, 'content', path));
    case 'Prepend': return new Prepend(getString(o, 'prepend', path));
    case 'Nmt': return new Nmt();
    case 'Precompiled': {
      const map = o.precompiled_charsmap;
      if (map !== null && map !== undefined && typeof map !== 'string') fail(`${path}.precompiled_charsmap`, `expected a base64 string, got ${typeof map}`);
      return new Precompiled(typeof map === 'string' ? map : '', path);
    }
    default: {
      const list = asArray(o.normalizers, `${path}.normalizers`);
      return new NormalizerSequence(list.map((n, i) => normalizerFromJSON(n, `${path}.normalizers[${i}]`)!).filter((n) => n !== null));
    }
  }
}

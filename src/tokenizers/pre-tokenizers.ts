// Pre-tokenizers: split normalized text into words before the model sees them (HF
// `pre_tokenizer`). A word never crosses a split, which is what keeps BPE merges inside words.

import { AlignedBuilder, AlignedText } from './aligned.js';
import { BYTE_TO_CHAR, utf8Encode } from './byte-level.js';
import { gpt2PieceEnd } from './gpt2-split.js';
import { Metaspace } from './metaspace.js';
import { asArray, asObject, fail, getBool, getPattern, getString, getType, toPattern, type JsonObject, type Pattern } from './json.js';
import { BEHAVIORS, regexMatches, splitAt, type SplitBehavior } from './split-at.js';
export { splitAt, type SplitBehavior } from './split-at.js';
export { Metaspace, type PrependScheme } from './metaspace.js';
import { CONNECTOR, charFlags, isBertPunctuation, isWhitespace, LETTER, MARK, NUMBER } from './unicode.js';

export interface PreTokenizer {
  split(text: AlignedText): AlignedText[];
  toJSON(): JsonObject;
}

/** Spans of maximal runs of code points for which `cls` gives the same non-zero class. */
function runsOf(s: string, cls: (cp: number) => number, individually = false): number[] {
  const out: number[] = [];
  let runStart = -1;
  let runCls = 0;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    const c = cls(cp);
    if (runStart >= 0 && (c !== runCls || individually)) { out.push(runStart, i); runStart = -1; }
    if (c !== 0 && runStart < 0) { runStart = i; runCls = c; }
    i += w;
  }
  if (runStart >= 0) out.push(runStart, s.length);
  return out;
}

/**
 * GPT-2's byte-level pre-tokenizer: optionally a leading space, the GPT-2 split pattern, then each
 * word respelled in the byte-level alphabet (one character per UTF-8 byte, each aligned with the
 * character it came from).
 */
export class ByteLevel implements PreTokenizer {
  constructor(readonly addPrefixSpace = false, readonly trimOffsets = true, readonly useRegex = true) {}

  split(text: AlignedText): AlignedText[] {
    if (this.addPrefixSpace && text.length > 0 && text.text.charCodeAt(0) !== 32) {
      const b = new AlignedBuilder(text.length + 1);
      b.push(' ', text.startOf(0), text.endOf(text.text.codePointAt(0)! > 0xffff ? 1 : 0)); // aligned with the first character
      b.pushUnits(text.text, 0, text.length, text);
      text = b.build();
    }
    const s = text.text;
    const words: AlignedText[] = [];
    if (!this.useRegex) return s.length > 0 ? [toByteLevelAligned(text)] : [];
    for (let i = 0; i < s.length;) {
      const j = gpt2PieceEnd(s, i, s.length);
      words.push(toByteLevelAligned(text.slice(i, j)));
      i = j;
    }
    return words;
  }

  toJSON(): JsonObject {
    return { type: 'ByteLevel', add_prefix_space: this.addPrefixSpace, trim_offsets: this.trimOffsets, use_regex: this.useRegex };
  }
}

let utf8Scratch = new Uint8Array(256);

/** Respells a word in the byte-level alphabet; each byte keeps the span of its character. */
export function toByteLevelAligned(word: AlignedText): AlignedText {
  const s = word.text;
  if (utf8Scratch.length < s.length * 3) utf8Scratch = new Uint8Array(s.length * 3);
  const b = new AlignedBuilder(s.length * 2);
  for (let i = 0; i < s.length;) {
    const w = s.codePointAt(i)! > 0xffff ? 2 : 1;
    const n = utf8Encode(s, i, i + w, utf8Scratch);
    const start = word.startOf(i);
    const end = word.endOf(i + w - 1);
    for (let k = 0; k < n; k++) b.push(BYTE_TO_CHAR[utf8Scratch[k]!]!, start, end);
    i += w;
  }
  return b.build();
}

/** BERT: split on whitespace (dropped) and put every punctuation character on its own. */
export class BertPreTokenizer implements PreTokenizer {
  split(text: AlignedText): AlignedText[] {
    const s = text.text;
    const out: AlignedText[] = [];
    let wordStart = -1;
    for (let i = 0; i < s.length;) {
      const cp = s.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      if (isWhitespace(cp) || isBertPunctuation(cp)) {
        if (wordStart >= 0) { out.push(text.slice(wordStart, i)); wordStart = -1; }
        if (!isWhitespace(cp)) out.push(text.slice(i, i + w));
      } else if (wordStart < 0) wordStart = i;
      i += w;
    }
    if (wordStart >= 0) out.push(text.slice(wordStart, s.length));
    return out;
  }
  toJSON(): JsonObject { return { type: 'BertPreTokenizer' }; }
}

const isWordChar = (cp: number): boolean => cp === 95 || (charFlags(cp) & (LETTER | NUMBER | MARK | CONNECTOR)) !== 0;

/** `\w+|[^\w\s]+`: runs of word characters and runs of symbols; whitespace is dropped. */
export class Whitespace implements PreTokenizer {
  split(text: AlignedText): AlignedText[] {
    const spans = runsOf(text.text, (cp) => isWhitespace(cp) ? 0 : isWordChar(cp) ? 1 : 2);
    const out: AlignedText[] = [];
    for (let k = 0; k < spans.length; k += 2) out.push(text.slice(spans[k]!, spans[k + 1]!));
    return out;
  }
  toJSON(): JsonObject { return { type: 'Whitespace' }; }
}

/** Splits on whitespace only. */
export class WhitespaceSplit implements PreTokenizer {
  split(text: AlignedText): AlignedText[] {
    return splitAt(text, runsOf(text.text, (cp) => isWhitespace(cp) ? 1 : 0), 'Removed');
  }
  toJSON(): JsonObject { return { type: 'WhitespaceSplit' }; }
}

export class Punctuation implements PreTokenizer {
  constructor(readonly behavior: SplitBehavior = 'Isolated') {}
  split(text: AlignedText): AlignedText[] {
    return splitAt(text, runsOf(text.text, (cp) => isBertPunctuation(cp) ? 1 : 0, true), this.behavior);
  }
  toJSON(): JsonObject { return { type: 'Punctuation', behavior: this.behavior }; }
}

export class Digits implements PreTokenizer {
  constructor(readonly individualDigits = false) {}
  split(text: AlignedText): AlignedText[] {
    return splitAt(text, runsOf(text.text, (cp) => (charFlags(cp) & NUMBER) !== 0 ? 1 : 0, this.individualDigits), 'Isolated');
  }
  toJSON(): JsonObject { return { type: 'Digits', individual_digits: this.individualDigits }; }
}

/** Splits on a string or regex pattern; `invert` splits on what does not match instead. */
export class Split implements PreTokenizer {
  readonly pattern: Pattern;
  constructor(pattern: Pattern | string | RegExp, readonly behavior: SplitBehavior = 'Isolated', readonly invert = false) {
    this.pattern = typeof pattern === 'string' || pattern instanceof RegExp ? toPattern(pattern) : pattern;
  }
  split(text: AlignedText): AlignedText[] {
    let spans = regexMatches(this.pattern.re, text.text);
    if (this.invert) {
      const inv: number[] = [];
      let last = 0;
      for (let k = 0; k < spans.length; k += 2) { if (spans[k]! > last) inv.push(last, spans[k]!); last = spans[k + 1]!; }
      if (last < text.length) inv.push(last, text.length);
      spans = inv;
    }
    return splitAt(text, spans, this.behavior);
  }
  toJSON(): JsonObject { return { type: 'Split', pattern: this.pattern.json, behavior: this.behavior, invert: this.invert }; }
}

export class PreTokenizerSequence implements PreTokenizer {
  constructor(readonly preTokenizers: PreTokenizer[]) {}
  split(text: AlignedText): AlignedText[] {
    let words = [text];
    for (const p of this.preTokenizers) words = words.flatMap((w) => p.split(w));
    return words;
  }
  toJSON(): JsonObject { return { type: 'Sequence', pretokenizers: this.preTokenizers.map((p) => p.toJSON()) }; }
}

const TYPES = ['ByteLevel', 'BertPreTokenizer', 'Whitespace', 'WhitespaceSplit', 'Punctuation', 'Digits', 'Split', 'Metaspace', 'Sequence'] as const;

function getBehavior(o: JsonObject, path: string, fallback: SplitBehavior): SplitBehavior {
  const b = getString(o, 'behavior', path, fallback);
  if (!BEHAVIORS.includes(b as SplitBehavior)) fail(`${path}.behavior`, `unknown behavior '${b}' (supported: ${BEHAVIORS.join(', ')})`);
  return b as SplitBehavior;
}

export function preTokenizerFromJSON(json: unknown, path = 'pre_tokenizer'): PreTokenizer | null {
  if (json === null || json === undefined) return null;
  const o = asObject(json, path);
  switch (getType(o, path, 'pre-tokenizer', TYPES)) {
    case 'ByteLevel':
      return new ByteLevel(getBool(o, 'add_prefix_space', path, true), getBool(o, 'trim_offsets', path, true), getBool(o, 'use_regex', path, true));
    case 'BertPreTokenizer': return new BertPreTokenizer();
    case 'Whitespace': return new Whitespace();
    case 'WhitespaceSplit': return new WhitespaceSplit();
    case 'Punctuation': return new Punctuation(getBehavior(o, path, 'Isolated'));
    case 'Digits': return new Digits(getBool(o, 'individual_digits', path, false));
    case 'Split': return new Split(getPattern(o, 'pattern', path), getBehavior(o, path, 'Isolated'), getBool(o, 'invert', path, false));
    case 'Metaspace': return Metaspace.fromJSON(o, path);
    default: {
      const list = asArray(o.pretokenizers, `${path}.pretokenizers`);
      return new PreTokenizerSequence(list.map((p, i) => preTokenizerFromJSON(p, `${path}.pretokenizers[${i}]`)!).filter((p) => p !== null));
    }
  }
}

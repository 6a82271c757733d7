// SentencePiece's word boundary as HF's Metaspace pre-tokenizer and decoder: spaces become '▁'
// (U+2581), a '▁' is put in front of the text (prepend_scheme), and words are cut before each '▁',
// so "Hey friend!" → "▁Hey", "▁friend!". Decoding turns '▁' back into spaces and drops the
// prepended one.

import { AlignedBuilder, type AlignedText } from './aligned.js';
import { fail, getBool, getString, type JsonObject } from './json.js';
import type { PreTokenizer } from './pre-tokenizers.js';
import { splitAt } from './split-at.js';

/** always: every piece; first: only the piece at the very start of the input; never. */
export type PrependScheme = 'always' | 'first' | 'never';
const SCHEMES: readonly PrependScheme[] = ['always', 'first', 'never'];

/** `text` with `prefix` in front, the prefix aligned with the first character (HF prepend). */
export function prependAligned(text: AlignedText, prefix: string): AlignedText {
  if (text.length === 0) return text;
  const b = new AlignedBuilder(text.length + prefix.length);
  b.push(prefix, text.startOf(0), text.endOf(text.text.codePointAt(0)! > 0xffff ? 1 : 0));
  b.pushUnits(text.text, 0, text.length, text);
  return b.build();
}

export class Metaspace implements PreTokenizer {
  constructor(readonly replacement = '\u2581', readonly prependScheme: PrependScheme = 'always', readonly splitWords = true) {
    if ([...replacement].length !== 1) throw new RangeError(`Metaspace: replacement must be one character, got ${JSON.stringify(replacement)}`);
  }

  split(text: AlignedText): AlignedText[] {
    const rep = this.replacement;
    let t = text.mapChars((cp) => cp === 32 ? rep : undefined);
    // 'first' means: only a piece whose original offset is 0, as HF checks it — so not a piece
    // after an added token, nor one whose leading characters a normalizer stripped.
    const first = text.length > 0 && text.startOf(0) === 0;
    const prepend = this.prependScheme === 'always' || (this.prependScheme === 'first' && first);
    if (prepend && !t.text.startsWith(rep)) t = prependAligned(t, rep);
    if (t.length === 0) return [];
    if (!this.splitWords) return [t];
    const cuts: number[] = [];
    for (let i = t.text.indexOf(rep); i >= 0; i = t.text.indexOf(rep, i + rep.length)) cuts.push(i, i + rep.length);
    return splitAt(t, cuts, 'MergedWithNext');
  }

  toJSON(): JsonObject {
    return { type: 'Metaspace', replacement: this.replacement, prepend_scheme: this.prependScheme, split: this.splitWords };
  }

  /**
   * Reads the current layout and the older ones: before prepend_scheme existed, add_prefix_space
   * said always (true) or never (false); a file that says both must agree, as HF checks.
   */
  static fromJSON(o: JsonObject, path: string): Metaspace {
    const replacement = getString(o, 'replacement', path, '\u2581');
    let scheme = getString(o, 'prepend_scheme', path, 'always');
    if (!SCHEMES.includes(scheme as PrependScheme)) fail(`${path}.prepend_scheme`, `unknown scheme '${scheme}' (supported: ${SCHEMES.join(', ')})`);
    if (o.add_prefix_space === false) {
      if (o.prepend_scheme !== undefined && scheme !== 'never') fail(`${path}.add_prefix_space`, `false does not match prepend_scheme '${scheme}'`);
      scheme = 'never';
    }
    if ([...replacement].length !== 1) fail(`${path}.replacement`, `expected one character, got ${JSON.stringify(replacement)}`);
    return new Metaspace(replacement, scheme as PrependScheme, getBool(o, 'split', path, true));
  }
}

/**
 * The decoder: '▁' → ' ', except in the first token, where (unless the scheme is 'never') every
 * '▁' is dropped — HF drops them all, not just the leading one, and so does this.
 */
export class MetaspaceDecoder {
  constructor(readonly replacement = '\u2581', readonly prependScheme: PrependScheme = 'always', readonly splitWords = true) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => t.replaceAll(this.replacement, i === 0 && this.prependScheme !== 'never' ? '' : ' '));
  }
  toJSON(): JsonObject {
    return { type: 'Metaspace', replacement: this.replacement, prepend_scheme: this.prependScheme, split: this.splitWords };
  }
  static fromJSON(o: JsonObject, path: string): MetaspaceDecoder {
    const m = Metaspace.fromJSON(o, path);
    return new MetaspaceDecoder(m.replacement, m.prependScheme, m.splitWords);
  }
}

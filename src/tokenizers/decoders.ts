// Decoders: turn a list of token strings back into text (HF `decoder`). Each maps the token list
// to a new list; the tokenizer joins the final list with ''.

import { CHAR_TO_BYTE, utf8Decode } from './byte-level.js';
import { MetaspaceDecoder } from './metaspace.js';
import { asArray, asObject, getBool, getInt, getPattern, getString, getType, toPattern, type JsonObject, type Pattern } from './json.js';

export { MetaspaceDecoder } from './metaspace.js';

export interface Decoder {
  decodeChain(tokens: string[]): string[];
  toJSON(): JsonObject;
}

/** Byte-level: every character back to its byte, then the bytes as UTF-8 (invalid → U+FFFD). */
export class ByteLevelDecoder implements Decoder {
  /** The options are only carried for tokenizer.json round trips; decoding does not use them. */
  constructor(readonly addPrefixSpace = true, readonly trimOffsets = true, readonly useRegex = true) {}
  decodeChain(tokens: string[]): string[] {
    let n = 0;
    for (const t of tokens) n += t.length * 4;
    const bytes = new Uint8Array(n);
    let k = 0;
    for (const t of tokens) {
      let ok = true;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c]! : -1;
        if (b < 0) { ok = false; break; }
        bytes[k + i] = b;
      }
      if (ok) { k += t.length; continue; }
      // A token outside the byte alphabet (an added token such as "日本") stands for itself.
      const raw = new TextEncoder().encode(t);
      bytes.set(raw, k);
      k += raw.length;
    }
    return [utf8Decode(bytes.subarray(0, k))];
  }
  toJSON(): JsonObject {
    return { type: 'ByteLevel', add_prefix_space: this.addPrefixSpace, trim_offsets: this.trimOffsets, use_regex: this.useRegex };
  }
}

/** BERT's spacing rules undone: " ." → ".", " n't" → "n't", … */
export function cleanupSpaces(s: string): string {
  return s.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s").replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

/** WordPiece: glue "##" continuations to the previous token, put a space before the others. */
export class WordPieceDecoder implements Decoder {
  constructor(readonly prefix = '##', readonly cleanup = true) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => {
      if (i > 0) t = t.startsWith(this.prefix) ? t.slice(this.prefix.length) : ` ${t}`;
      return this.cleanup ? cleanupSpaces(t) : t;
    });
  }
  toJSON(): JsonObject { return { type: 'WordPiece', prefix: this.prefix, cleanup: this.cleanup }; }
}

/** Classic BPE with an end-of-word suffix: the suffix becomes a space (none after the last token). */
export class BPEDecoder implements Decoder {
  constructor(readonly suffix = '</w>') {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => t.replaceAll(this.suffix, i === tokens.length - 1 ? '' : ' '));
  }
  toJSON(): JsonObject { return { type: 'BPEDecoder', suffix: this.suffix }; }
}

/** Concatenates the tokens (character-level vocabularies). */
export class FuseDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] { return [tokens.join('')]; }
  toJSON(): JsonObject { return { type: 'Fuse' }; }
}

/** Removes up to `start` leading and `stop` trailing copies of `content` from each token. */
export class StripDecoder implements Decoder {
  constructor(readonly content: string, readonly start: number, readonly stop: number) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t) => {
      const chars = Array.from(t);
      let a = 0;
      while (a < this.start && a < chars.length && chars[a] === this.content) a++;
      let b = chars.length;
      while (chars.length - b < this.stop && b > a && chars[b - 1] === this.content) b--;
      return chars.slice(a, b).join('');
    });
  }
  toJSON(): JsonObject { return { type: 'Strip', content: this.content, start: this.start, stop: this.stop }; }
}

export class ReplaceDecoder implements Decoder {
  readonly pattern: Pattern;
  constructor(pattern: Pattern | string | RegExp, readonly content: string) {
    this.pattern = typeof pattern === 'string' || pattern instanceof RegExp ? toPattern(pattern) : pattern;
  }
  decodeChain(tokens: string[]): string[] { return tokens.map((t) => t.replace(this.pattern.re, this.content)); }
  toJSON(): JsonObject { return { type: 'Replace', pattern: this.pattern.json, content: this.content }; }
}

/** Runs of <0xXX> byte tokens (SentencePiece byte fallback) back to text. */
export class ByteFallbackDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    const out: string[] = [];
    let pending: number[] = [];
    const flush = (): void => {
      if (pending.length === 0) return;
      // Invalid byte sequences give one U+FFFD per byte, as HF does.
      try {
        out.push(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(pending)));
      } catch {
        out.push('\ufffd'.repeat(pending.length));
      }
      pending = [];
    };
    for (const t of tokens) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
      if (m !== null) pending.push(parseInt(m[1]!, 16));
      else { flush(); out.push(t); }
    }
    flush();
    return out;
  }
  toJSON(): JsonObject { return { type: 'ByteFallback' }; }
}

export class DecoderSequence implements Decoder {
  constructor(readonly decoders: Decoder[]) {}
  decodeChain(tokens: string[]): string[] {
    for (const d of this.decoders) tokens = d.decodeChain(tokens);
    return tokens;
  }
  toJSON(): JsonObject { return { type: 'Sequence', decoders: this.decoders.map((d) => d.toJSON()) }; }
}

const TYPES = ['ByteLevel', 'WordPiece', 'BPEDecoder', 'Fuse', 'Strip', 'Replace', 'ByteFallback', 'Metaspace', 'Sequence'] as const;

export function decoderFromJSON(json: unknown, path = 'decoder'): Decoder | null {
  if (json === null || json === undefined) return null;
  const o = asObject(json, path);
  switch (getType(o, path, 'decoder', TYPES)) {
    case 'ByteLevel':
      return new ByteLevelDecoder(getBool(o, 'add_prefix_space', path, true), getBool(o, 'trim_offsets', path, true), getBool(o, 'use_regex', path, true));
    case 'WordPiece': return new WordPieceDecoder(getString(o, 'prefix', path, '##'), getBool(o, 'cleanup', path, true));
    case 'BPEDecoder': return new BPEDecoder(getString(o, 'suffix', path, '</w>'));
    case 'Fuse': return new FuseDecoder();
    case 'Strip': return new StripDecoder(getString(o, 'content', path), getInt(o, 'start', path, 0), getInt(o, 'stop', path, 0));
    case 'Replace': return new ReplaceDecoder(getPattern(o, 'pattern', path), getString(o, 'content', path));
    case 'ByteFallback': return new ByteFallbackDecoder();
    case 'Metaspace': return MetaspaceDecoder.fromJSON(o, path);
    default: {
      const list = asArray(o.decoders, `${path}.decoders`);
      return new DecoderSequence(list.map((d, i) => decoderFromJSON(d, `${path}.decoders[${i}]`)!).filter((d) => d !== null));
    }
  }
}

// SentencePiece's precompiled normalizer (HF normalizer type "Precompiled", in T5, ALBERT, XLNet,
// mBART files): `precompiled_charsmap` is base64 of
//   [u32 LE trie size in bytes][darts-clone double-array trie of UTF-8 keys][NUL-terminated outputs]
// and each key found in the text is replaced by its output.
//
// As HF applies it (normalizers/precompiled.rs): the text is walked by grapheme cluster; a cluster
// shorter than 6 UTF-8 bytes is looked up whole, else (or when that finds nothing) each character
// is looked up alone. A lookup takes the *first* (shortest) key that prefixes the chunk and
// replaces the whole chunk with that key's output — HF's comment calls this weird but
// load-bearing, and it is kept.

import { AlignedBuilder, type AlignedText } from './aligned.js';
import { fail, type JsonObject } from './json.js';
import type { Normalizer } from './normalizers.js';

const hasLeaf = (u: number): boolean => ((u >>> 8) & 1) === 1;
const value = (u: number): number => u & 0x7fffffff;
const label = (u: number): number => (u & 0x800000ff) >>> 0;
const offset = (u: number): number => (u >>> 10) << ((u & (1 << 9)) >>> 6);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class Precompiled implements Normalizer {
  private readonly units: Uint32Array;
  private readonly outputs: Uint8Array;
  private readonly segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

  /** `charsmap`: the base64 text of tokenizer.json; empty means no rules. */
  constructor(readonly charsmap: string, path = 'normalizer') {
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(charsmap), (c) => c.charCodeAt(0));
    } catch {
      fail(`${path}.precompiled_charsmap`, 'is not valid base64');
    }
    if (bytes.length === 0) { this.units = new Uint32Array(0); this.outputs = bytes; return; }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieBytes = bytes.length >= 4 ? view.getUint32(0, true) : -1;
    if (trieBytes < 4 || trieBytes % 4 !== 0 || 4 + trieBytes > bytes.length) {
      fail(`${path}.precompiled_charsmap`, `the trie size ${trieBytes} does not fit the ${bytes.length}-byte charsmap`);
    }
    this.units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.outputs = bytes.subarray(4 + trieBytes);
    try { decoder.decode(this.outputs); } catch { fail(`${path}.precompiled_charsmap`, 'the replacement strings are not valid UTF-8'); }
  }

  /** The output of the first key that prefixes `chunk`, or null. */
  transform(chunk: string): string | null {
    const units = this.units;
    if (units.length === 0) return null;
    let pos = offset(units[0]!);
    for (const c of encoder.encode(chunk)) {
      if (c === 0) break;
      pos ^= c;
      const u = units[pos];
      if (u === undefined || label(u) !== c) return null;
      pos ^= offset(u);
      if (hasLeaf(u)) {
        const at = units[pos];
        if (at === undefined) return null;
        const start = value(at);
        let end = start;
        while (end < this.outputs.length && this.outputs[end] !== 0) end++;
        return decoder.decode(this.outputs.subarray(start, end));
      }
    }
    return null;
  }

  normalize(text: AlignedText): AlignedText {
    if (this.units.length === 0 || text.length === 0) return text;
    const s = text.text;
    const b = new AlignedBuilder(s.length);
    let changed = false;
    for (const { segment, index } of this.segmenter.segment(s)) {
      const whole = encoder.encode(segment).length < 6 ? this.transform(segment) : null;
      if (whole !== null) {
        b.push(whole, text.startOf(index), text.endOf(index + segment.length - 1));
        changed = true;
        continue;
      }
      for (let i = index; i < index + segment.length;) {
        const w = s.codePointAt(i)! > 0xffff ? 2 : 1;
        const rep = this.transform(s.slice(i, i + w));
        if (rep === null) b.pushUnits(s, i, i + w, text);
        else { b.push(rep, text.startOf(i), text.endOf(i + w - 1)); changed = true; }
        i += w;
      }
    }
    return changed ? b.build() : text;
  }

  toJSON(): JsonObject { return { type: 'Precompiled', precompiled_charsmap: this.charsmap }; }
}

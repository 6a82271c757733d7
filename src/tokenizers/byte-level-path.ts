// The fused path for byte-level BPE without a normalizer (GPT-2 and its kin): the GPT-2 scanner
// walks the raw input and the BPE model reads each piece's bytes straight from it, with a cache of
// piece → ids — no normalized copy, no byte-level string, no per-word objects. Its output is
// identical to the generic pipeline's (a test compares both on random text).
//
// Offsets come from each token's length in bytes: a token covers the characters its bytes belong
// to, so a character split across tokens gives each of them its whole span, as in HF.

import { utf8UnitBytes } from './byte-level.js';
import type { Encoding } from './encoding.js';
import { gpt2PieceEnd } from './gpt2-split.js';
import type { BPE } from './models/bpe.js';

const tokenBytes: number[] = [];

/**
 * Appends the tokens of input[s, e) to `enc` (only ids when `idsOnly`); `word` is the index of
 * the first GPT-2 piece, and the next free index is returned.
 */
export function encodeByteLevel(model: BPE, enc: Encoding, input: string, s: number, e: number, prefixSpace: boolean, word: number, idsOnly: boolean): number {
  let text = input;
  let from = s;
  let to = e;
  // With add_prefix_space the scan runs on ' ' + text; unit u of it is input unit s + u - 1, and
  // the added space takes the span of the first character (as HF aligns it).
  const prefixed = prefixSpace && input.charCodeAt(s) !== 32;
  if (prefixed) { text = ' ' + input.slice(s, e); from = 0; to = text.length; }
  const firstWidth = utf8UnitBytes(input, s) === 4 ? 2 : 1;
  const startOf = (u: number): number => prefixed ? (u === 0 ? s : s + u - 1) : u;
  const endOf = (u: number): number => prefixed ? (u === 0 ? s + firstWidth : s + u) : u + 1;

  for (let i = from; i < to;) {
    const j = gpt2PieceEnd(text, i, to);
    if (idsOnly) {
      model.encodeBytes(text, i, j, enc.ids);
      word++;
      i = j;
      continue;
    }
    const first = enc.ids.length;
    tokenBytes.length = 0;
    model.encodeBytes(text, i, j, enc.ids, tokenBytes);
    let total = 0;
    for (let k = 0; k < tokenBytes.length; k++) total += tokenBytes[k]!;
    let u = i; // unit of the character holding the token's first byte
    if (total === j - i) { // ASCII: one byte per unit
      for (let k = 0; k < tokenBytes.length; k++) {
        enc.offsets.push([startOf(u), endOf(u + tokenBytes[k]! - 1)]);
        u += tokenBytes[k]!;
      }
    } else {
      let used = 0; // bytes of that character already taken by earlier tokens
      for (let k = 0; k < tokenBytes.length; k++) {
        const start = startOf(u);
        let need = tokenBytes[k]!;
        let last = u;
        while (need > 0) {
          const cb = utf8UnitBytes(text, u);
          const width = cb === 4 ? 2 : 1;
          const take = Math.min(need, cb - used);
          need -= take;
          used += take;
          last = u + width - 1;
          if (used === cb) { u += width; used = 0; }
        }
        enc.offsets.push([start, endOf(last)]);
      }
    }
    for (let k = first; k < enc.ids.length; k++) { enc.tokens.push(model.idToToken(enc.ids[k]!)!); enc.wordIds.push(word); }
    word++;
    i = j;
  }
  return word;
}

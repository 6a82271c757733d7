// GPT-2 byte-level decoding straight from a tokenizer.json (independent of src/tokenizers), as an
// oracle for the streamers.
import { readFileSync } from 'node:fs';
import type { TokenDecoder } from '../../src/generate/streamers.js';

/** GPT-2's byte-level decoding from a tokenizer.json vocab (bytes_to_unicode, inverted). */
export function byteLevelDecoderFrom(file: string): TokenDecoder {
  const tj = JSON.parse(readFileSync(file, 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: { id: number; content: string; special: boolean }[] };
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const byteOf = new Map(cs.map((c, i) => [String.fromCharCode(c), bs[i]!]));
  const tokens = new Map(Object.entries(tj.model.vocab).map(([s, id]) => [id, s]));
  const special = new Set(tj.added_tokens.filter((t) => t.special).map((t) => t.id));
  return {
    decode(ids, opts) {
      const bytes: number[] = [];
      for (const id of ids) {
        if (opts?.skipSpecialTokens && special.has(id)) continue;
        for (const ch of tokens.get(id) ?? '') bytes.push(byteOf.get(ch)!);
      }
      return new TextDecoder().decode(Uint8Array.from(bytes));
    },
  };
}

// Importing tiktoken vocabularies (OpenAI's GPT-2 "r50k"/"gpt2" encoding and its kin).
//
// tiktoken stores only token bytes and ranks; BPE by merges needs the pair each token was merged
// from. That pair is recovered by running BPE on the token's own bytes with the ranks below its
// rank until two parts remain: for a consistent rank table this reproduces tiktoken's encoding
// exactly (a test checks it against js-tiktoken on all of Tiny Shakespeare).

import { BYTE_TO_CHAR } from './byte-level.js';
import { fail } from './json.js';
import { BPE } from './models/bpe.js';
import { byteLevelTokenizer } from './presets.js';
import type { Tokenizer } from './tokenizer.js';

/** The split pattern of tiktoken's gpt2, r50k_base and p50k_base encodings. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** js-tiktoken's rank files ({ pat_str, special_tokens, bpe_ranks }). */
export interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  /** Either the .tiktoken text ("base64 rank" per line) or js-tiktoken's compressed lines. */
  bpe_ranks: string;
}

function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** token bytes and rank, from either rank file format. */
export function parseTiktokenRanks(text: string): [Uint8Array, number][] {
  const out: [Uint8Array, number][] = [];
  text.split('\n').forEach((line, i) => {
    if (line.length === 0) return;
    const parts = line.split(' ');
    if (parts.length === 2) { // .tiktoken: "<base64> <rank>"
      const rank = Number(parts[1]);
      if (!Number.isInteger(rank)) fail(`bpe_ranks line ${i + 1}`, `expected "<base64> <rank>"`);
      out.push([base64ToBytes(parts[0]!), rank]);
    } else { // js-tiktoken: "<marker> <first rank> <base64> <base64> …"
      const first = Number(parts[1]);
      if (!Number.isInteger(first)) fail(`bpe_ranks line ${i + 1}`, 'expected "<marker> <offset> <base64>…"');
      parts.slice(2).forEach((b64, k) => out.push([base64ToBytes(b64), first + k]));
    }
  });
  return out;
}

const spell = (bytes: Uint8Array): string => Array.from(bytes, (b) => BYTE_TO_CHAR[b]).join('');

/** Builds a GPT-2-style tokenizer with the same ids as a tiktoken encoding. */
export function fromTiktoken(ranks: TiktokenRanks): Tokenizer {
  if (ranks.pat_str !== GPT2_PATTERN) {
    fail('pat_str', "only GPT-2's split pattern is supported (the gpt2, r50k_base and p50k_base encodings)");
  }
  const tokens = parseTiktokenRanks(ranks.bpe_ranks).sort((x, y) => x[1] - y[1]);
  const vocab = new Map<string, number>();
  for (const [bytes, rank] of tokens) vocab.set(spell(bytes), rank);
  const merges: [string, string][] = [];
  for (const [bytes, rank] of tokens) {
    if (bytes.length < 2) continue;
    // tiktoken's own merge rule on the token's bytes, limited to lower ranks.
    let parts = Array.from(bytes, (b) => BYTE_TO_CHAR[b]!);
    while (parts.length > 2) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = vocab.get(parts[i]! + parts[i + 1]!);
        if (r !== undefined && r < rank && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) fail(`bpe_ranks rank ${rank}`, `token ${JSON.stringify(spell(bytes))} cannot be built from two lower-ranked tokens`);
    merges.push([parts[0]!, parts[1]!]);
  }
  const tok = byteLevelTokenizer(new BPE(vocab, merges));
  for (const [content, id] of Object.entries(ranks.special_tokens)) {
    tok.addedTokens.add({ id, content, singleWord: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  return tok;
}

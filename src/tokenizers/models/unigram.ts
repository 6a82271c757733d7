// Unigram language model (HF model type "Unigram"; SentencePiece's T5, ALBERT, XLNet models): a
// vocabulary of pieces with log-probabilities, and each word split into the pieces whose scores
// sum highest (Viterbi over every segmentation).
//
// As HF does it:
// - a character that starts no piece of its own length becomes the unknown piece, scored
//   (lowest score - 10) so that known pieces always win;
// - runs of unknown characters are fused into one unknown token;
// - with byte_fallback, an unknown run becomes its UTF-8 bytes as <0xXX> tokens, if they all exist;
// - ties keep the segment found first: the earlier start, i.e. the longer last piece.

import { asArray, fail, getBool, type JsonObject } from '../json.js';
import { utf8Encode } from '../byte-level.js';
import type { TokenModel, TokenSink } from './model.js';
import { PieceCache } from './piece-cache.js';
import { PieceTrie } from './piece-trie.js';

/** HF's kUnkPenalty: how far below the lowest piece score an unknown character is scored. */
export const UNK_PENALTY = 10;

let bestScore = new Float64Array(256);
let bestStart = new Int32Array(256);
let bestId = new Int32Array(256);
let byteScratch = new Int32Array(64);

export class Unigram implements TokenModel {
  readonly type = 'Unigram' as const;
  /** [piece, score] by id, as in tokenizer.json. */
  readonly pieces: [string, number][];
  readonly unkId: number | null;
  readonly byteFallback: boolean;
  readonly minScore: number;
  private readonly vocab = new Map<string, number>();
  private readonly trie = new PieceTrie();
  private readonly cache = new PieceCache();

  constructor(pieces: [string, number][], unkId: number | null = null, byteFallback = false, path = 'model') {
    if (unkId !== null && pieces.length === 0) fail(`${path}.vocab`, 'the vocabulary is empty but unk_id needs an entry');
    if (unkId !== null && (!Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length)) {
      fail(`${path}.unk_id`, `${unkId} is not an id of the vocabulary (size ${pieces.length})`);
    }
    this.pieces = pieces;
    this.unkId = unkId;
    this.byteFallback = byteFallback;
    let min = Infinity;
    pieces.forEach(([piece, score], id) => {
      this.vocab.set(piece, id);
      this.trie.add(piece, id);
      if (score < min) min = score; // NaN (the trainer's <UNK>) never compares lower
    });
    this.minScore = min;
  }

  get vocabSize(): number { return this.pieces.length; }
  get unkToken(): string | null { return this.unkId === null ? null : this.pieces[this.unkId]![0]; }
  tokenToId(token: string): number | undefined { return this.vocab.get(token); }
  idToToken(id: number): string | undefined { return this.pieces[id]?.[0]; }
  getVocab(): Map<string, number> { return new Map(this.vocab); }
  clearCache(): void { this.cache.clear(); }

  /** The best segmentation of `word` as [start, end) spans, unknown runs fused, and their ids. */
  segment(word: string): { spans: number[]; ids: number[] } {
    const n = word.length;
    if (bestScore.length <= n) { bestScore = new Float64Array(n * 2 + 1); bestStart = new Int32Array(n * 2 + 1); bestId = new Int32Array(n * 2 + 1); }
    bestStart.fill(-1, 0, n + 1);
    bestScore[0] = 0;
    const unkScore = this.minScore - UNK_PENALTY;
    for (let start = 0; start < n;) {
      const here = bestScore[start]!;
      const charLen = word.codePointAt(start)! > 0xffff ? 2 : 1;
      let single = false;
      this.trie.prefixes(word, start, (len, id) => {
        const end = start + len;
        const score = here + this.pieces[id]![1];
        if (bestStart[end]! < 0 || score > bestScore[end]!) { bestScore[end] = score; bestStart[end] = start; bestId[end] = id; }
        if (len === charLen) single = true;
      });
      if (!single) {
        if (this.unkId === null) throw new Error(`Unigram: encountered an unknown token (${JSON.stringify(word.slice(start, start + charLen))}) but unk_id is missing`);
        const end = start + charLen;
        const score = here + unkScore;
        if (bestStart[end]! < 0 || score > bestScore[end]!) { bestScore[end] = score; bestStart[end] = start; bestId[end] = this.unkId; }
      }
      start += charLen;
    }
    // Walk back from the end; consecutive unknown pieces merge into one span.
    const spans: number[] = [];
    const ids: number[] = [];
    for (let end = n; end > 0;) {
      const start = bestStart[end]!;
      const id = bestId[end]!;
      const last = ids.length - 1;
      if (id === this.unkId && last >= 0 && ids[last] === this.unkId && spans[2 * last] === end) spans[2 * last] = start;
      else { spans.push(start, end); ids.push(id); }
      end = start;
    }
    // Reverse the (start, end) pairs.
    const outSpans: number[] = [];
    for (let k = ids.length - 1; k >= 0; k--) outSpans.push(spans[2 * k]!, spans[2 * k + 1]!);
    return { spans: outSpans, ids: ids.reverse() };
  }

  tokenize(word: string, out: TokenSink): void {
    if (word.length === 0) return;
    const h = PieceCache.hash(word, 0, word.length);
    const hit = this.cache.find(word, 0, word.length, h);
    if (hit >= 0) {
      const v = this.cache.values();
      const end = this.cache.valueStart(hit) + this.cache.valueLength(hit);
      for (let k = this.cache.valueStart(hit); k < end; k += 3) { out.ids.push(v[k]!); out.starts.push(v[k + 1]!); out.ends.push(v[k + 2]!); }
      return;
    }
    const { spans, ids } = this.segment(word);
    const packed: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      const s = spans[2 * k]!;
      const e = spans[2 * k + 1]!;
      // HF looks each piece's text up again: a fused unknown run that spells a piece gets its id.
      const text = word.slice(s, e);
      const id = this.vocab.get(text);
      if (id !== undefined) { packed.push(id, s, e); continue; }
      if (this.byteFallback && this.pushBytes(text, s, e, packed)) continue;
      packed.push(this.unkId!, s, e);
    }
    for (let k = 0; k < packed.length; k += 3) { out.ids.push(packed[k]!); out.starts.push(packed[k + 1]!); out.ends.push(packed[k + 2]!); }
    this.cache.add(word, 0, word.length, h, Int32Array.from(packed), packed.length);
  }

  /** <0xXX> tokens for every UTF-8 byte of `text`, each spanning the whole run; false if one is missing. */
  private pushBytes(text: string, s: number, e: number, packed: number[]): boolean {
    if (byteScratch.length < text.length * 3) byteScratch = new Int32Array(text.length * 3);
    const n = utf8Encode(text, 0, text.length, byteScratch);
    const ids: number[] = [];
    for (let k = 0; k < n; k++) {
      const id = this.vocab.get(`<0x${byteScratch[k]!.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id === undefined) return false;
      ids.push(id);
    }
    for (const id of ids) packed.push(id, s, e);
    return true;
  }

  toJSON(): JsonObject {
    return { type: 'Unigram', unk_id: this.unkId, vocab: this.pieces.map(([p, s]) => [p, s]), byte_fallback: this.byteFallback };
  }

  static fromJSON(o: JsonObject, path = 'model'): Unigram {
    if (o.vocab === undefined) fail(`${path}.vocab`, 'missing (expected [["piece", score], …])');
    const pieces = asArray(o.vocab, `${path}.vocab`).map((item, i): [string, number] => {
      if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'string' && typeof item[1] === 'number') return [item[0], item[1]];
      fail(`${path}.vocab[${i}]`, `expected ["piece", score], got ${JSON.stringify(item)?.slice(0, 60)}`);
    });
    const unk = o.unk_id;
    if (unk !== undefined && unk !== null && (typeof unk !== 'number' || !Number.isInteger(unk))) fail(`${path}.unk_id`, `expected an integer or null, got ${JSON.stringify(unk)}`);
    return new Unigram(pieces, (unk ?? null) as number | null, getBool(o, 'byte_fallback', path, false), path);
  }
}

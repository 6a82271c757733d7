// WordPiece (BERT): each word is cut greedily into the longest vocabulary entries from the left,
// pieces after the first spelled with the continuation prefix ("##"). A word that cannot be
// spelled this way, or is longer than maxInputCharsPerWord characters, becomes one [UNK].

import { fail, getInt, getString, type JsonObject } from '../json.js';
import { vocabFromJSON } from './bpe.js';
import { vocabToJSON, type TokenModel, type TokenSink } from './model.js';
import { PieceCache } from './piece-cache.js';

export interface WordPieceOptions {
  unkToken?: string;
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
}

export class WordPiece implements TokenModel {
  readonly type = 'WordPiece' as const;
  readonly vocab: Map<string, number>;
  readonly unkToken: string;
  readonly prefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly idToTokenArr: (string | undefined)[] = [];
  private readonly unkId: number;
  private readonly cache = new PieceCache();
  /** Longest vocabulary entry in UTF-16 units (bounds the greedy search). */
  private readonly longest: number;

  constructor(vocab: Map<string, number>, options: WordPieceOptions = {}, path = 'model') {
    this.vocab = vocab;
    this.unkToken = options.unkToken ?? '[UNK]';
    this.prefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    let longest = 0;
    for (const [t, id] of vocab) { this.idToTokenArr[id] = t; longest = Math.max(longest, t.length); }
    this.longest = longest;
    const unk = vocab.get(this.unkToken);
    if (unk === undefined) fail(`${path}.unk_token`, `'${this.unkToken}' is not in the vocabulary`);
    this.unkId = unk;
  }

  get vocabSize(): number { return this.vocab.size; }
  tokenToId(token: string): number | undefined { return this.vocab.get(token); }
  idToToken(id: number): string | undefined { return this.idToTokenArr[id]; }
  getVocab(): Map<string, number> { return new Map(this.vocab); }
  clearCache(): void { this.cache.clear(); }

  tokenize(word: string, out: TokenSink): void {
    if (word.length === 0) return;
    const h = PieceCache.hash(word, 0, word.length);
    const hit = this.cache.find(word, 0, word.length, h);
    const v = hit >= 0 ? this.cache.values() : this.split(word);
    const start = hit >= 0 ? this.cache.valueStart(hit) : 0;
    const end = hit >= 0 ? start + this.cache.valueLength(hit) : v.length;
    for (let k = start; k < end; k += 3) { out.ids.push(v[k]!); out.starts.push(v[k + 1]!); out.ends.push(v[k + 2]!); }
    if (hit < 0) this.cache.add(word, 0, word.length, h, v, v.length);
  }

  /** Greedy longest-match-first; returns packed (id, start, end) triplets. */
  private split(word: string): Int32Array {
    let chars = 0;
    for (let i = 0; i < word.length; i++) { const c = word.charCodeAt(i); if (c < 0xdc00 || c >= 0xe000) chars++; }
    const unk = Int32Array.of(this.unkId, 0, word.length);
    if (chars > this.maxInputCharsPerWord) return unk;
    const out: number[] = [];
    for (let start = 0; start < word.length;) {
      let end = Math.min(word.length, start + this.longest);
      let found = -1;
      while (end > start) {
        const low = word.charCodeAt(end - 1);
        // never cut between the halves of a surrogate pair
        if (!(end < word.length && low >= 0xd800 && low < 0xdc00)) {
          const piece = start > 0 ? this.prefix + word.slice(start, end) : word.slice(start, end);
          const id = this.vocab.get(piece);
          if (id !== undefined) { found = id; break; }
        }
        end--;
      }
      if (found < 0) return unk;
      out.push(found, start, end);
      start = end;
    }
    return Int32Array.from(out);
  }

  toJSON(): JsonObject {
    return {
      type: 'WordPiece', unk_token: this.unkToken, continuing_subword_prefix: this.prefix,
      max_input_chars_per_word: this.maxInputCharsPerWord, vocab: vocabToJSON(this.idToTokenArr),
    };
  }

  static fromJSON(o: JsonObject, path = 'model'): WordPiece {
    return new WordPiece(vocabFromJSON(o.vocab, `${path}.vocab`), {
      unkToken: getString(o, 'unk_token', path, '[UNK]'), continuingSubwordPrefix: getString(o, 'continuing_subword_prefix', path, '##'),
      maxInputCharsPerWord: getInt(o, 'max_input_chars_per_word', path, 100),
    }, path);
  }
}

/** WordLevel: each word is one token, or the unknown token. */
export class WordLevel implements TokenModel {
  readonly type = 'WordLevel' as const;
  private readonly idToTokenArr: (string | undefined)[] = [];
  private readonly unkId: number;

  constructor(readonly vocab: Map<string, number>, readonly unkToken = '[UNK]', path = 'model') {
    for (const [t, id] of vocab) this.idToTokenArr[id] = t;
    const unk = vocab.get(unkToken);
    if (unk === undefined) fail(`${path}.unk_token`, `'${unkToken}' is not in the vocabulary`);
    this.unkId = unk;
  }

  get vocabSize(): number { return this.vocab.size; }
  tokenToId(token: string): number | undefined { return this.vocab.get(token); }
  idToToken(id: number): string | undefined { return this.idToTokenArr[id]; }
  getVocab(): Map<string, number> { return new Map(this.vocab); }
  clearCache(): void { /* nothing cached */ }

  tokenize(word: string, out: TokenSink): void {
    if (word.length === 0) return;
    out.ids.push(this.vocab.get(word) ?? this.unkId); out.starts.push(0); out.ends.push(word.length);
  }

  toJSON(): JsonObject { return { type: 'WordLevel', vocab: vocabToJSON(this.idToTokenArr), unk_token: this.unkToken }; }

  static fromJSON(o: JsonObject, path = 'model'): WordLevel {
    return new WordLevel(vocabFromJSON(o.vocab, `${path}.vocab`), getString(o, 'unk_token', path, '[UNK]'), path);
  }
}

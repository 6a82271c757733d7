// What every tokenization model (BPE, WordPiece, WordLevel, Unigram) provides to the pipeline.

import type { JsonObject } from '../json.js';
import { OrderedObject } from '../json-writer.js';

/** Where a model appends the tokens of one word: ids and each token's [start, end) in the word. */
export interface TokenSink {
  ids: number[];
  starts: number[];
  ends: number[];
}

export interface TokenModel {
  readonly type: 'BPE' | 'WordPiece' | 'WordLevel' | 'Unigram';
  /** Appends the tokens of `word` (a pre-tokenized piece) to `out`. Never throws on unknown text. */
  tokenize(word: string, out: TokenSink): void;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Number of entries in the model's vocabulary. */
  readonly vocabSize: number;
  getVocab(): Map<string, number>;
  /** Empties the word cache (for benchmarks measuring a cold start). */
  clearCache(): void;
  toJSON(): JsonObject;
}

/** Vocabulary as tokenizer.json writes it: an object whose keys are in id order. */
export function vocabToJSON(idToToken: readonly (string | undefined)[]): OrderedObject {
  const entries: [string, number][] = [];
  idToToken.forEach((t, id) => { if (t !== undefined) entries.push([t, id]); });
  return new OrderedObject(entries);
}

// What a trainer gets (word counts from the tokenizer's normalizer and pre-tokenizer) and gives
// back (a model and the special tokens to register).

import type { TokenModel } from '../models/model.js';

export interface TrainProgress {
  stage: 'alphabet' | 'pairs' | 'merges' | 'em' | 'done';
  done: number;
  total: number;
}

export interface Trainer {
  train(wordCounts: Map<string, number>): { model: TokenModel; specialTokens: string[] };
}

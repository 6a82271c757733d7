// WordPiece training as HF does it: run the BPE trainer with the "##" continuation prefix and keep
// its vocabulary (the merges are not needed: WordPiece encodes by greedy longest match).

import { WordPiece } from '../models/wordpiece.js';
import type { TokenModel } from '../models/model.js';
import { BpeTrainer, type BpeTrainerOptions } from './bpe-trainer.js';
import type { Trainer } from './trainer.js';

export interface WordPieceTrainerOptions extends Omit<BpeTrainerOptions, 'endOfWordSuffix' | 'maxTokenLength'> {
  /** Default '[UNK]'; must be among the special tokens. */
  unkToken?: string;
}

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export class WordPieceTrainer implements Trainer {
  private readonly bpe: BpeTrainer;
  readonly unkToken: string;
  readonly prefix: string;

  constructor(opts: WordPieceTrainerOptions = {}) {
    this.unkToken = opts.unkToken ?? '[UNK]';
    this.prefix = opts.continuingSubwordPrefix ?? '##';
    const specialTokens = opts.specialTokens ?? BERT_SPECIAL_TOKENS;
    if (!specialTokens.includes(this.unkToken)) throw new RangeError(`WordPieceTrainer: the unknown token '${this.unkToken}' must be one of the special tokens`);
    this.bpe = new BpeTrainer({ ...opts, specialTokens, continuingSubwordPrefix: this.prefix, unkToken: null });
  }

  train(wordCounts: Map<string, number>): { model: TokenModel; specialTokens: string[] } {
    const { vocab } = this.bpe.trainMerges(wordCounts);
    const model = new WordPiece(new Map(vocab.map((t, id) => [t, id])), { unkToken: this.unkToken, continuingSubwordPrefix: this.prefix });
    return { model, specialTokens: this.bpe.opts.specialTokens };
  }
}

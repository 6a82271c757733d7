// Character-level vocabularies (nanoGPT's Shakespeare model): one token per character, the most
// frequent `vocabSize - specials` characters kept, the rest mapped to the unknown token. Saved as
// an HF BPE model with no merges, which HF tokenizers reads as-is.

import { BPE } from '../models/bpe.js';
import type { TokenModel } from '../models/model.js';
import type { Trainer, TrainProgress } from './trainer.js';

export interface CharTrainerOptions {
  /** Upper bound on the vocabulary, special tokens included. Default: every character seen. */
  vocabSize?: number;
  /** Default ['[UNK]']. */
  specialTokens?: string[];
  /** Default '[UNK]' (null: unknown characters are dropped). Must be a special token. */
  unkToken?: string | null;
  onProgress?: (p: TrainProgress) => void;
}

export class CharTrainer implements Trainer {
  constructor(readonly opts: CharTrainerOptions = {}) {
    const unk = opts.unkToken === undefined ? '[UNK]' : opts.unkToken;
    if (unk !== null && !(opts.specialTokens ?? ['[UNK]']).includes(unk)) throw new RangeError(`CharTrainer: unkToken '${unk}' must be one of the special tokens`);
  }

  train(wordCounts: Map<string, number>): { model: TokenModel; specialTokens: string[] } {
    const specials = this.opts.specialTokens ?? ['[UNK]'];
    const unk = this.opts.unkToken === undefined ? '[UNK]' : this.opts.unkToken;
    const freq = new Map<string, number>();
    for (const [word, count] of wordCounts) for (const ch of word) freq.set(ch, (freq.get(ch) ?? 0) + count);
    const room = Math.max(0, (this.opts.vocabSize ?? Infinity) - specials.length);
    // Most frequent first (ties by code point), then the kept ones in code point order.
    const byCp = (x: string, y: string): number => x.codePointAt(0)! - y.codePointAt(0)!;
    const chars = [...freq.entries()].filter(([ch]) => !specials.includes(ch))
      .sort((x, y) => y[1] - x[1] || byCp(x[0], y[0])).slice(0, room).map(([ch]) => ch).sort(byCp);
    const vocab = new Map<string, number>();
    for (const t of [...specials, ...chars]) if (!vocab.has(t)) vocab.set(t, vocab.size);
    this.opts.onProgress?.({ stage: 'done', done: vocab.size, total: vocab.size });
    return { model: new BPE(vocab, [], { unkToken: unk }), specialTokens: specials };
  }
}

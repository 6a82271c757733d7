// Language-model pretraining as a TrainingTask: random windows of a token stream (causal: next-token
// targets; masked: BERT's 80/10/10 masking), scored by cross-entropy; evaluated as nanoGPT's
// estimate_loss, on batches that do not depend on training's RNG.

import { crossEntropy } from '../tensor/ops/nn.js';
import { Generator } from '../tensor/random.js';
import { tidy } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { causalBatch, mlmBatch, type MlmOptions, type TokenStream } from './data.js';
import type { TrainingTask } from './task.js';
import { readScalarsAndDispose } from './readback.js';

export interface LmOptions {
  objective: 'clm' | 'mlm';
  batchSize: number;
  blockSize: number;
  /** Batches per evaluation (of each split). */
  evalIters: number;
  mlm?: MlmOptions;
}

/** A model that gives logits for token ids (GPT-2, BERT with its MLM head). */
export interface LanguageModel extends Module {
  forward(inputs: { inputIds: Tensor }): { logits: Tensor };
  /** Masked LMs may score the masked positions alone (BertForMaskedLM.maskedLmLoss): the same loss, a cheaper head. */
  maskedLmLoss?(inputs: { inputIds: Tensor }, positions: Tensor, targets: Tensor): Tensor;
}

type LmBatch = { x: Tensor; y: Tensor; masked?: { positions: Tensor; targets: Tensor } };

export class LanguageModelingTask implements TrainingTask<LanguageModel, LmBatch> {
  readonly metricForBest = 'val_loss';
  constructor(readonly data: { train: TokenStream; val: TokenStream }, readonly o: LmOptions, readonly seed: number) {
    if (o.objective === 'mlm' && !o.mlm) throw new Error('Trainer: the mlm objective needs mlm options (mask id, vocab size)');
    for (const split of ['train', 'val'] as const) {
      const need = o.objective === 'clm' ? o.blockSize + 1 : o.blockSize;
      if (data[split].length < need) {
        throw new Error(`block size ${o.blockSize} is larger than the ${split} split (${data[split].length} tokens); use a smaller --block-size or more data`);
      }
    }
  }

  private batch(split: 'train' | 'val', gen: Generator): LmBatch {
    const s = this.data[split];
    return this.o.objective === 'clm' ? causalBatch(s, this.o.batchSize, this.o.blockSize, gen)
      : mlmBatch(s, this.o.batchSize, this.o.blockSize, this.o.mlm!, gen);
  }

  trainBatch(gen: Generator): { inputs: LmBatch; tokens: number } {
    return { inputs: this.batch('train', gen), tokens: this.o.batchSize * this.o.blockSize };
  }

  /** Mean loss on (x, y): causal targets, or masked positions (labels -100 elsewhere). */
  loss(model: LanguageModel, inputs: LmBatch): Tensor {
    const m = inputs.masked;
    if (m && model.maskedLmLoss && m.positions.shape[0]! > 0) return model.maskedLmLoss({ inputIds: inputs.x }, m.positions, m.targets);
    const { logits } = model.forward({ inputIds: inputs.x });
    const V = logits.shape[logits.ndim - 1]!;
    return crossEntropy(logits.reshape(-1, V), inputs.y.reshape(-1), { ignoreIndex: -100 });
  }

  /** Mean loss over evalIters batches of each split (the batch losses read back together, once per split). */
  async evaluate(model: LanguageModel, step: number): Promise<Record<string, number>> {
    const gen = new Generator(this.seed * 7919 + step);
    const out: Record<string, number> = {};
    for (const split of ['train', 'val'] as const) {
      const batchLosses: Tensor[] = [];
      for (let i = 0; i < this.o.evalIters; i++) batchLosses.push(tidy(() => this.loss(model, this.batch(split, gen))));
      let total = 0;
      for (const v of await readScalarsAndDispose(batchLosses)) total += v;
      out[`${split}_loss`] = total / this.o.evalIters;
    }
    return out;
  }
}

// Embedding, as torch.nn.Embedding: a lookup table of numEmbeddings rows, N(0, 1) initialised,
// with the paddingIdx row zero and never updated.

import { embedding } from '../tensor/ops/nn.js';
import { empty } from '../tensor/ops/core.js';
import { noGrad } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { normal_ } from './init.js';
import { Module } from './module.js';

export class Embedding extends Module {
  override readonly role = 'embedding' as const;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, opts: number | null | { paddingIdx?: number | null } = {}) {
    super();
    let pad = typeof opts === 'object' && opts !== null ? opts.paddingIdx ?? null : opts;
    if (pad !== null) {
      if (pad >= numEmbeddings || pad < -numEmbeddings) throw new Error(`Embedding: paddingIdx ${pad} is out of range for ${numEmbeddings} embeddings`);
      if (pad < 0) pad += numEmbeddings;
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = pad;
    this.weight = this.registerParameter('weight', empty([numEmbeddings, embeddingDim]))!;
    this.resetParameters();
  }

  resetParameters(): void {
    normal_(this.weight);
    this.zeroPaddingRow();
  }

  /** Zeroes the padding row (after a custom init). */
  zeroPaddingRow(): void {
    if (this.paddingIdx !== null) { const p = this.paddingIdx; noGrad(() => this.weight.narrow(0, p, 1).fill_(0)); }
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, { paddingIdx: this.paddingIdx });
  }

  override setParameter(name: string, t: Tensor): void {
    super.setParameter(name, t);
    if (name === 'weight') this.weight = t;
  }
}

// Dropout, as torch.nn.Dropout: active in train(), the identity in eval().

import { dropout } from '../tensor/ops/nn.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class Dropout extends Module {
  readonly p: number;
  constructor(p = 0.5) {
    super();
    if (p < 0 || p > 1) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
    this.p = p;
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

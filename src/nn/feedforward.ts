// The position-wise feed-forward block of the Transformer: linear → activation → dropout → linear.
// (torch's layers inline it as linear1/linear2, whose keys TransformerEncoderLayer keeps; this is
// the same block as a module of its own, for models built from parts.)

import type { Tensor } from '../tensor/tensor.js';
import { getActivation, type Activation } from './activation.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface FeedForwardOptions {
  dModel: number;
  dimFeedforward?: number;
  dropout?: number;
  activation?: string | Activation;
  bias?: boolean;
}

export class FeedForward extends Module {
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly activation: Activation;
  constructor(opts: FeedForwardOptions) {
    super();
    const ff = opts.dimFeedforward ?? 4 * opts.dModel;
    this.linear1 = this.registerModule('linear1', new Linear(opts.dModel, ff, { bias: opts.bias ?? true }));
    this.dropout = this.registerModule('dropout', new Dropout(opts.dropout ?? 0));
    this.linear2 = this.registerModule('linear2', new Linear(ff, opts.dModel, { bias: opts.bias ?? true }));
    this.activation = getActivation(opts.activation ?? 'relu');
  }
  forward(x: Tensor): Tensor {
    return this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x))));
  }
}

// LayerNorm and BatchNorm1d, as torch.nn. BatchNorm is here for the LayerNorm-vs-BatchNorm
// comparison: over a batch of padded sequences its statistics mix positions and examples.

import { layerNorm } from '../tensor/ops/nn.js';
import { empty } from '../tensor/ops/core.js';
import { full } from '../tensor/ops/creation.js';
import { noGrad } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { ones_, zeros_ } from './init.js';
import { Module } from './module.js';

export interface LayerNormOptions { eps?: number; elementwiseAffine?: boolean; bias?: boolean }

export class LayerNorm extends Module {
  override readonly role = 'norm' as const;
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: number | LayerNormOptions = {}) {
    super();
    const o = typeof opts === 'number' ? { eps: opts } : opts;
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = o.eps ?? 1e-5;
    const affine = o.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? ones_(empty(this.normalizedShape)) : null);
    this.bias = this.registerParameter('bias', affine && (o.bias ?? true) ? zeros_(empty(this.normalizedShape)) : null);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override setParameter(name: string, t: Tensor): void {
    super.setParameter(name, t);
    if (name === 'weight') this.weight = t;
    else if (name === 'bias') this.bias = t;
  }
}

export interface BatchNormOptions { eps?: number; momentum?: number | null; affine?: boolean; trackRunningStats?: boolean }

/** Normalises each channel of [N, C] or [N, C, L] over the batch (and length) dims. */
export class BatchNorm1d extends Module {
  override readonly role = 'norm' as const;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly trackRunningStats: boolean;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const affine = opts.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? full([numFeatures], 1) : null);
    this.bias = this.registerParameter('bias', affine ? full([numFeatures], 0) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', full([numFeatures], 0));
      this.registerBuffer('running_var', full([numFeatures], 1));
      this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'int32' }));
    }
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 2 && x.ndim !== 3) throw new Error(`BatchNorm1d: expected [N, C] or [N, C, L] input, got [${x.shape.join(',')}]`);
    if (x.shape[1] !== this.numFeatures) throw new Error(`BatchNorm1d: input has ${x.shape[1]} channels, expected ${this.numFeatures}`);
    const dims = x.ndim === 2 ? [0] : [0, 2];
    // Per-channel statistics broadcast against x: [1, C] or [1, C, 1].
    const statShape = x.ndim === 2 ? [1, this.numFeatures] : [1, this.numFeatures, 1];
    let mean: Tensor, variance: Tensor;
    if (this.training || !this.trackRunningStats) {
      mean = x.mean(dims, true);
      variance = x.sub(mean).square().mean(dims, true); // biased, as torch normalises
      if (this.training && this.trackRunningStats) this.updateRunningStats(mean, variance, x.numel / this.numFeatures);
    } else {
      mean = this.getBuffer('running_mean').reshape(statShape);
      variance = this.getBuffer('running_var').reshape(statShape);
    }
    let y = x.sub(mean).mul(variance.add(this.eps).rsqrt());
    if (this.weight) y = y.mul(this.weight.reshape(statShape));
    if (this.bias) y = y.add(this.bias.reshape(statShape));
    return y;
  }

  private updateRunningStats(mean: Tensor, biasedVar: Tensor, n: number): void {
    noGrad(() => {
      const tracked = this.getBuffer('num_batches_tracked');
      const next = tracked.add(1);
      tracked.copy_(next); // on the device: no read back
      next.dispose();
      // A null momentum is a cumulative moving average, as torch (this one reads the count).
      const m = this.momentum ?? 1 / tracked.item();
      const rm = this.getBuffer('running_mean'), rv = this.getBuffer('running_var');
      const unbiased = biasedVar.mul(n / Math.max(n - 1, 1)).reshape([this.numFeatures]);
      const newMean = rm.mul(1 - m).add(mean.reshape([this.numFeatures]).mul(m));
      const newVar = rv.mul(1 - m).add(unbiased.mul(m));
      rm.copy_(newMean); rv.copy_(newVar);
      for (const t of [unbiased, newMean, newVar]) t.dispose();
    });
  }
}

// Linear and Identity, as torch.nn.

import { linear } from '../tensor/ops/linalg.js';
import { empty } from '../tensor/ops/core.js';
import type { Tensor } from '../tensor/tensor.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';

export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

/** y = x Wᵀ + b with W [out, in]; torch's init: kaiming_uniform(a=√5), i.e. U(±1/√in) for W and b. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: boolean | { bias?: boolean } = {}) {
    super();
    const useBias = typeof opts === 'boolean' ? opts : opts.bias ?? true;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures]))!;
    this.bias = this.registerParameter('bias', useBias ? empty([outFeatures]) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override setParameter(name: string, t: Tensor): void {
    super.setParameter(name, t);
    if (name === 'weight') this.weight = t;
    else if (name === 'bias') this.bias = t;
  }
}

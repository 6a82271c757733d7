// torch.nn.init: in-place initialisers, drawn from a seedable Generator (the default one, which
// manualSeed seeds, unless one is passed). Same distributions and fan rules as PyTorch; the numbers
// differ from torch's because the generators differ.

import { noGrad } from '../tensor/engine.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';

let skipping = 0;

/**
 * Runs fn with the random initialisers turned off (tensors keep whatever values they have), as
 * HF's no_init_weights: for modules whose weights are about to be loaded or re-initialised anyway.
 */
export function noInit<T>(fn: () => T): T {
  skipping++;
  try {
    return fn();
  } finally {
    skipping--;
  }
}

function fillWith(t: Tensor, draw: (() => number) | ((out: Float32Array) => void)): Tensor {
  if (skipping > 0) return t;
  const values = new Float32Array(t.numel);
  if (draw.length === 1) (draw as (out: Float32Array) => void)(values); // bulk fill
  else for (let i = 0; i < values.length; i++) values[i] = (draw as () => number)();
  noGrad(() => {
    const src = tensor(values, { shape: t.shape, device: t.device });
    t.copy_(src);
    src.dispose();
  });
  return t;
}

/** torch's _calculate_fan_in_and_fan_out: dim 1 is fan in, dim 0 fan out, the rest the receptive field. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) throw new Error(`init: fan in and fan out need a tensor with at least 2 dims, got [${t.shape.join(',')}]`);
  const receptive = t.shape.slice(2).reduce((a, d) => a * d, 1);
  return [t.shape[1]! * receptive, t.shape[0]! * receptive];
}

export function uniform_(t: Tensor, a = 0, b = 1, generator: Generator = defaultGenerator): Tensor {
  return fillWith(t, (out: Float32Array) => { generator.fillUniform(out, a, b); });
}

export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  return fillWith(t, (out: Float32Array) => { generator.fillNormal(out, mean, std); });
}

/** normal(mean, std) redrawn until inside [a, b], as torch.nn.init.trunc_normal_. */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, generator: Generator = defaultGenerator): Tensor {
  return fillWith(t, () => {
    for (;;) { const v = mean + std * generator.normal(); if (v >= a && v <= b) return v; }
  });
}

export const constant_ = (t: Tensor, value: number): Tensor => noGrad(() => t.fill_(value));
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export function calculateGain(nonlinearity: 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu', param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': { const s = param ?? 0.01; return Math.sqrt(2 / (1 + s * s)); }
  }
}

export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, generator);
}

export function xavierNormal_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), generator);
}

export interface KaimingOptions { a?: number; mode?: 'fan_in' | 'fan_out'; nonlinearity?: 'relu' | 'leaky_relu'; generator?: Generator }

export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const fan = (opts.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  const bound = gain * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound, opts.generator);
}

export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const fan = (opts.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return normal_(t, 0, gain / Math.sqrt(fan), opts.generator);
}

// Shared by the quantized-kernel tests (and their child processes): a quantized layer's product
// checked against the float64 product with its dequantized weight.

import { tensor, type Tensor } from '../../src/index.js';
import { QuantizedLinear } from '../../src/nn/quantized.js';
import { Generator } from '../../src/tensor/random.js';
import type { QuantBits } from '../../src/backend/quant_format.js';

export const rnd = (n: number, seed: number, scale = 1) => new Generator(seed).fillUniform(new Float32Array(n), -scale, scale);
export const rand = (shape: number[], seed: number, scale = 1) => tensor(rnd(shape.reduce((a, b) => a * b, 1), seed, scale), { shape });

/** A quantized layer [N, K] from a seeded float32 weight (and bias when asked). */
export function quantLayer(bits: QuantBits, N: number, K: number, seed: number, withBias: boolean): QuantizedLinear {
  const w = rand([N, K], seed), b = withBias ? rand([N], seed + 1) : null;
  const layer = QuantizedLinear.quantize(w, b, { bits });
  w.dispose(); b?.dispose();
  return layer;
}

/**
 * The worst ratio, over y's elements, of |y - ref| to the float32 bound (K + 2)·u·Σ|x||w| + u·|b|,
 * ref being Σ x·w + b in float64 with w the layer's dequantized weight (q·scale as float32).
 * Above 1 means the kernel is not computing this product.
 */
export function errorRatio(layer: QuantizedLinear, x: Tensor, y: Tensor): number {
  const K = layer.inFeatures, N = layer.outFeatures, M = x.numel / K;
  const W = layer.dequantize(), w = W.dataSync() as Float32Array;
  W.dispose();
  const xs = x.contiguous().dataSync() as Float32Array, ys = y.dataSync() as Float32Array;
  const b = layer.bias ? layer.bias.dataSync() as Float32Array : null;
  const u = 2 ** -24;
  let worst = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0, mag = 0;
      for (let k = 0; k < K; k++) { const p = xs[m * K + k]! * w[n * K + k]!; s += p; mag += Math.abs(p); }
      if (b) s += b[n]!;
      const bound = (K + 2) * u * mag + u * Math.abs(b ? b[n]! : 0) + 1e-30;
      worst = Math.max(worst, Math.abs(ys[m * N + n]! - s) / bound);
    }
  }
  return worst;
}

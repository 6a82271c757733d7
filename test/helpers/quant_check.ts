// Shared by the quantized-kernel tests (and their child processes): a quantized layer's product
// checked against the float64 product with its dequantized weight.

import { tensor, type Tensor } from '../../src/index.js';
import { QuantizedLinear } from '../../src/nn/quantized.js';
import { Generator } from '../../src/tensor/random.js';
import { quantValue, type QuantBits } from '../../src/backend/quant_format.js';

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
 * xLevels > 0: the kernel rounds each row of x to that many levels a side (the WebAssembly kernel:
 * int16, 32767), which may move an output by max|x| / xLevels / 2 · Σ|w| more.
 * Above 1 means the kernel is not computing this product.
 */
export function errorRatio(layer: QuantizedLinear, x: Tensor, y: Tensor, xLevels = 0): number {
  const K = layer.inFeatures, N = layer.outFeatures, M = x.numel / K;
  const W = layer.dequantize(), w = W.dataSync() as Float32Array;
  W.dispose();
  const xs = x.contiguous().dataSync() as Float32Array, ys = y.dataSync() as Float32Array;
  const b = layer.bias ? layer.bias.dataSync() as Float32Array : null;
  const u = 2 ** -24;
  let worst = 0;
  for (let m = 0; m < M; m++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(xs[m * K + k]!));
    for (let n = 0; n < N; n++) {
      let s = 0, mag = 0, wabs = 0;
      for (let k = 0; k < K; k++) { const p = xs[m * K + k]! * w[n * K + k]!; s += p; mag += Math.abs(p); wabs += Math.abs(w[n * K + k]!); }
      if (b) s += b[n]!;
      const rounding = xLevels > 0 ? (amax / xLevels / 2) * wabs * (1 + 1e-6) : 0;
      const bound = (K + 2) * u * mag + u * Math.abs(b ? b[n]! : 0) + rounding + 1e-30;
      worst = Math.max(worst, Math.abs(ys[m * N + n]! - s) / bound);
    }
  }
  return worst;
}

const roundHalfAway = (v: number) => (v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5));

/**
 * The worst ratio of |y - ref| to its float32 bound for the native 4-bit VNNI kernel, ref being that
 * kernel's arithmetic done exactly: x quantized per row (xs = max|x|/127, xq = round(x/xs) in
 * [-127, 127], halves away from zero), y = xs · Σ_g scale_g · Σ_{k in g} xq·q + b. Also returns the
 * worst ratio of |y - ref32| to the bound of x's rounding, ref32 being the float kernels' product
 * (Σ x·w with w = q·scale): xs/2 · Σ|w| plus float32 rounding.
 */
export function vnniErrorRatios(layer: QuantizedLinear, x: Tensor, y: Tensor): { exact: number; vsFloat: number } {
  const K = layer.inFeatures, N = layer.outFeatures, M = x.numel / K, G = K / 32;
  const W = layer.dequantize(), w = W.dataSync() as Float32Array;
  W.dispose();
  const scales = layer.scales.dataSync() as Float32Array, qw = layer.qweight.dataSync() as Int32Array;
  const xs = x.contiguous().dataSync() as Float32Array, ys = y.dataSync() as Float32Array;
  const b = layer.bias ? layer.bias.dataSync() as Float32Array : null;
  const u = 2 ** -24;
  let exact = 0, vsFloat = 0;
  for (let m = 0; m < M; m++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(xs[m * K + k]!));
    const s = Math.fround(amax / 127);
    const xq = Array.from({ length: K }, (_, k) => (s === 0 ? 0 : Math.max(-127, Math.min(127, roundHalfAway(Math.fround(xs[m * K + k]! / s))))));
    for (let n = 0; n < N; n++) {
      let sum = 0, mag = 0, fsum = 0, fmag = 0, wabs = 0;
      for (let g = 0; g < G; g++) {
        // The kernel's int32 lanes hold xq·(q + 8) - 8·xq, 8 inputs each: their magnitudes bound its float roundings.
        let d = 0, lanes = 0;
        for (let k = g * 32; k < g * 32 + 32; k++) { const q = quantValue(qw, layer.layout, n, k); d += xq[k]! * q; lanes += Math.abs(xq[k]!) * (q + 16); }
        sum += d * scales[n * G + g]!; mag += lanes * Math.abs(scales[n * G + g]!);
      }
      for (let k = 0; k < K; k++) { const p = xs[m * K + k]! * w[n * K + k]!; fsum += p; fmag += Math.abs(p); wabs += Math.abs(w[n * K + k]!); }
      const bias = b ? b[n]! : 0, got = ys[m * N + n]!;
      const ref = sum * s + bias, ref32 = fsum + bias;
      exact = Math.max(exact, Math.abs(got - ref) / ((G + 24) * u * mag * s + u * Math.abs(bias) + 1e-30));
      vsFloat = Math.max(vsFloat, Math.abs(got - ref32) / ((s / 2) * wabs + (G + 24) * u * mag * s + (K + 2) * u * fmag + u * Math.abs(bias) + 1e-30));
    }
  }
  return { exact, vsFloat };
}

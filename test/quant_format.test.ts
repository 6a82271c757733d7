// The weight-only quantization format (src/backend/quant_format.ts): the bytes it lays out, the
// rounding, and the error of quantize → dequantize, for int8 (one scale per output channel) and
// 4-bit (one scale per 32 inputs).

import test from 'node:test';
import assert from 'node:assert/strict';
import { dequantizeWeight, quantizeWeight, quantLayout, quantShapes, quantValue, rowWords } from '../src/backend/quant_format.js';
import { Generator } from '../src/tensor/random.js';

const normal = (n: number, seed: number, std = 0.02) => {
  const g = new Generator(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.normal() * std;
  return out;
};

test('int8 layout: K bytes per row in little-endian int32 words, pad bytes zero; halves round away from zero', () => {
  const l = quantLayout(8, 2, 5);
  assert.deepEqual(quantShapes(l), { qweight: [2, 2], scales: [2] });
  // Row 0: max |w| = 127 gives scale 1, so w/scale is w itself: ±2.5 → ±3, ±0.5 → ±1 (halves away from zero).
  const w = new Float32Array([127, 2.5, -2.5, 0.5, -0.5, /* row 1, all zero */ 0, 0, 0, 0, 0]);
  const { qweight, scales } = quantizeWeight(w, l);
  assert.deepEqual([...scales], [1, 0]);
  assert.deepEqual([...new Int8Array(qweight.buffer)], [127, 3, -3, 1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(qweight[0], 127 | (3 << 8) | (-3 & 0xff) << 16 | (1 << 24)); // little-endian words
  assert.deepEqual([0, 1, 2, 3, 4].map((k) => quantValue(qweight, l, 0, k)), [127, 3, -3, 1, -1]);
});

test('4-bit layout: q + 8 in nibbles, even k in the low one; the largest magnitude lands on -8', () => {
  const l = quantLayout(4, 2, 32);
  assert.deepEqual(quantShapes(l), { qweight: [2, 4], scales: [2, 1] });
  const w = new Float32Array(64);
  // Row 0: m = 8 (largest magnitude) gives scale 8 / -8 = -1: q = -w, clamped to [-8, 7].
  w.set([8, -7, 1, 0.5, -0.5, 3], 0);
  const { qweight, scales } = quantizeWeight(w, l);
  assert.deepEqual([...scales], [-1, 0]);
  const q = Array.from({ length: 6 }, (_, k) => quantValue(qweight, l, 0, k));
  assert.deepEqual(q, [-8, 7, -1, -1, 1, -3]); // -0.5 / -1 = 0.5 → 1; 0.5 / -1 → -1
  const bytes = new Uint8Array(qweight.buffer);
  assert.equal(bytes[0], (-8 + 8) | ((7 + 8) << 4));
  assert.equal(bytes[1], (-1 + 8) | ((-1 + 8) << 4));
  assert.ok(bytes.subarray(16).every((b) => b === 0x88), 'an all-zero row stores q = 0 (nibbles 8)');
  assert.deepEqual([...dequantizeWeight(qweight, scales, l).subarray(0, 6)], [8, -7, 1, 1, -1, 3]);
});

test('quantize → dequantize: int8 within half a step of each weight (step = max|row| / 127)', () => {
  for (const [N, K] of [[7, 67], [16, 768], [3, 1]] as const) {
    const l = quantLayout(8, N, K), w = normal(N * K, N + K);
    const { qweight, scales } = quantizeWeight(w, l);
    const d = dequantizeWeight(qweight, scales, l);
    assert.equal(qweight.length, N * rowWords(l));
    for (let n = 0; n < N; n++) {
      let amax = 0;
      for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(w[n * K + k]!));
      assert.ok(Math.abs(scales[n]! - amax / 127) <= 1e-7 * amax, `row ${n}: scale ${scales[n]} vs ${amax / 127}`);
      for (let k = 0; k < K; k++) {
        const err = Math.abs(d[n * K + k]! - w[n * K + k]!);
        assert.ok(err <= scales[n]! * 0.5 * (1 + 1e-5), `int8 [${n}, ${k}]: |error| ${err} > half a step ${scales[n]! / 2}`);
      }
    }
    // Relative RMS error of int8 on Gaussian weights: about (max/127)/√12 over σ, ~0.7% for a 768-wide row.
    if (K === 768) {
      let se = 0, s = 0;
      for (let i = 0; i < w.length; i++) { se += (d[i]! - w[i]!) ** 2; s += w[i]! ** 2; }
      assert.ok(Math.sqrt(se / s) < 0.012, `int8 relative RMS error ${Math.sqrt(se / s)}`);
    }
  }
});

test('quantize → dequantize: 4-bit within half a step (|scale| / 2), a clamped +8 within one step', () => {
  const N = 24, K = 256, l = quantLayout(4, N, K), w = normal(N * K, 3);
  const { qweight, scales } = quantizeWeight(w, l);
  const d = dequantizeWeight(qweight, scales, l);
  let se = 0, s = 0, clamped = 0;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < K / 32; g++) {
      const sc = Math.abs(scales[n * (K / 32) + g]!);
      let m = 0;
      for (let k = g * 32; k < g * 32 + 32; k++) if (Math.abs(w[n * K + k]!) > Math.abs(m)) m = w[n * K + k]!;
      assert.ok(Math.abs(sc * 8 - Math.abs(m)) <= 1e-7 * Math.abs(m), 'scale = max magnitude / 8');
      for (let k = g * 32; k < g * 32 + 32; k++) {
        const err = Math.abs(d[n * K + k]! - w[n * K + k]!), q = quantValue(qweight, l, n, k);
        if (q === 7 && err > sc * 0.5 * (1 + 1e-5)) { clamped++; assert.ok(err <= sc * (1 + 1e-5)); continue; }
        assert.ok(err <= sc * 0.5 * (1 + 1e-5), `4-bit [${n}, ${k}]: |error| ${err} > half a step ${sc / 2}`);
      }
    }
  }
  for (let i = 0; i < w.length; i++) { se += (d[i]! - w[i]!) ** 2; s += w[i]! ** 2; }
  // (max/8)/√12 over σ for groups of 32 Gaussians: ~0.07 relative.
  assert.ok(Math.sqrt(se / s) < 0.1, `4-bit relative RMS error ${Math.sqrt(se / s)}`);
  assert.ok(clamped < w.length / 100, `${clamped} weights clamped at +7`);
});

test('a transposed weight ([in, out], as GPT-2 Conv1D) quantizes as its transpose', () => {
  for (const bits of [8, 4] as const) {
    const N = 5, K = 64, l = quantLayout(bits, N, K), w = normal(N * K, 9);
    const wt = new Float32Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * N + n] = w[n * K + k]!;
    const a = quantizeWeight(w, l), b = quantizeWeight(wt, l, true);
    assert.deepEqual(b.qweight, a.qweight);
    assert.deepEqual(b.scales, a.scales);
  }
});

test('bad layouts and weights: one-line errors', () => {
  assert.throws(() => quantLayout(3, 4, 32), /bits must be 8 or 4, got 3/);
  assert.throws(() => quantLayout(4, 4, 48), /4-bit weights need in_features divisible by 32, got 48/);
  assert.throws(() => quantLayout(8, 0, 32), /weight shape \[0, 32\]/);
  assert.throws(() => quantizeWeight(new Float32Array(5), quantLayout(8, 2, 3)), /expected 6 values for \[2, 3\], got 5/);
  assert.throws(() => quantizeWeight(new Float32Array([1, NaN, 0]), quantLayout(8, 1, 3)), /row 0 holds a non-finite weight/);
});

// The one-pass inference kernels (RMSNorm, rotary embedding) against the composite ops they stand in
// for, which run whenever a gradient is needed: same values, strided and broadcast inputs included.

import test from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, tensor, type Tensor } from '../src/index.js';
import { rmsNorm, rotaryEmbedding } from '../src/tensor/ops/fused.js';
import { Generator } from '../src/tensor/random.js';

const rand = (shape: number[], seed: number) => tensor(new Generator(seed).fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), -2, 2), { shape });
const close = (a: Tensor, b: Tensor, what: string) => {
  const x = a.contiguous().dataSync(), y = b.contiguous().dataSync();
  assert.deepEqual(a.shape, b.shape, what);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= 1e-6 * Math.max(1, Math.abs(y[i]!)), `${what} [${i}]: ${x[i]} vs ${y[i]}`);
};
/** The same op with a gradient wanted: the composite path. */
const composite = <T>(f: (x: Tensor) => T, x: Tensor): T => f(x.detach().requiresGrad_());

test('rmsNorm: the kernel equals the composite (with and without weight, strided input)', () => {
  const x = rand([3, 5, 24], 1), w = rand([24], 2);
  close(noGrad(() => rmsNorm(x, w, 1e-5)), composite((v) => rmsNorm(v, w, 1e-5), x), 'weighted');
  close(noGrad(() => rmsNorm(x, null, 1e-6)), composite((v) => rmsNorm(v, null, 1e-6), x), 'no weight');
  const strided = rand([24, 15], 3).transpose(0, 1); // [15, 24], not contiguous
  close(noGrad(() => rmsNorm(strided, w, 1e-5)), composite((v) => rmsNorm(v, w, 1e-5), strided), 'strided');
  assert.throws(() => rmsNorm(x, rand([23], 4), 1e-5), /rmsNorm: weight \[23\] must be \[24\]/);
});

test('rotaryEmbedding: the kernel equals the composite (head views of a projection, per-row and broadcast angles)', () => {
  const [B, H, T, D] = [2, 3, 4, 8];
  const q = rand([B, T, H * D], 5).reshape(B, T, H, D).transpose(1, 2); // heads view, as attention makes it
  for (const rows of [1, B]) {
    const cos = rand([rows, 1, T, D], 6), sin = rand([rows, 1, T, D], 7);
    close(noGrad(() => rotaryEmbedding(q, cos, sin)), composite((v) => rotaryEmbedding(v, cos, sin), q), `angles for ${rows} row(s)`);
  }
  assert.throws(() => rotaryEmbedding(rand([2, 3, 5], 8), rand([1, 1, 3, 5], 9), rand([1, 1, 3, 5], 9)), /must be \[B, H, T, D\] with D even/);
});

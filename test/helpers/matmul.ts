// Matrix-product checks shared by the cpu kernel tests: operands in every layout, the float64
// reference with float32's error bound, and the backend's matmul kernel called directly.

import assert from 'node:assert/strict';
import * as tlm from '../../src/index.js';
import { tensor, type Tensor } from '../../src/index.js';
import { getKernel } from '../../src/backend/registry.js';
import { backend } from '../../src/tensor/engine.js';
import { Generator } from '../../src/tensor/random.js';

/** Deterministic uniform values in [-scale, scale), from the project's seeded generator. */
export const rnd = (n: number, seed: number, scale = 1) => new Generator(seed).fillUniform(new Float32Array(n), -scale, scale);
export const rand = (shape: number[], seed: number, scale = 1) => tensor(rnd(shape.reduce((a, b) => a * b, 1), seed, scale), { shape });

const vals = (t: Tensor) => Array.from(t.contiguous().dataSync());

/** [B, R, C] operands in several layouts: contiguous, transposed, strided, batch-broadcast, batch-permuted. */
export function operand(layout: string, B: number, R: number, C: number, seed: number): Tensor {
  switch (layout) {
    case 'n': return rand([B, R, C], seed);
    case 't': return rand([B, C, R], seed).transpose(1, 2);
    case 's': return rand([B, R, 2 * C + 1], seed).slice(2, 1, 2 * C + 1, 2);
    case 'b': return rand([1, R, C], seed).expand([B, R, C]);
    case 'p': return rand([R, B, C], seed).permute([1, 0, 2]);
    default: throw new Error(layout);
  }
}

/** Checks out against the float64 product with the float32 error bound (K+2)·u·Σ|a||b| per element. */
export function checkMatmul(a: Tensor, c: Tensor, out: Tensor, what: string): void {
  const [B, M, K] = a.shape as [number, number, number];
  const N = c.shape[2]!;
  const A = vals(a), C = vals(c), O = vals(out);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0, abs = 0;
        for (let k = 0; k < K; k++) {
          const p = A[(b * M + i) * K + k]! * C[(b * K + k) * N + j]!;
          s += p; abs += Math.abs(p);
        }
        const got = O[(b * M + i) * N + j]!;
        const tol = 1.2e-7 * (K + 2) * abs;
        if (!(Math.abs(got - s) <= tol)) assert.fail(`${what}: [${b},${i},${j}] = ${got}, expected ${s} (tolerance ${tol})`);
      }
    }
  }
}

export function matmulKernel(a: Tensor, c: Tensor): Tensor {
  const out = tlm.full([a.shape[0]!, a.shape[1]!, c.shape[2]!], NaN);
  const b = backend();
  getKernel('matmul', 'cpu')(b, a, c, out);
  return out;
}


// Matmul in plain TypeScript: the portable fallback of the WASM SIMD kernel (cpu/wasm).

import type { Backend, TensorInfo } from '../../backend.js';
import { arr } from './elementwise.js';

/** Copies batch `bi` of a [B, R, C] strided view into a contiguous [R, C] Float32Array. */
function packMatrix(x: TensorInfo, bi: number, into: Float32Array): Float32Array {
  const X = arr(x) as Float32Array;
  const [, R, C] = x.shape as [number, number, number];
  const [sb, sr, sc] = x.strides as [number, number, number];
  const base = x.offset + bi * sb;
  if (sc === 1 && sr === C) return X.subarray(base, base + R * C);
  for (let r = 0; r < R; r++) {
    const row = base + r * sr;
    for (let c = 0; c < C; c++) into[r * C + c] = X[row + c * sc]!;
  }
  return into;
}

export function matmul(_b: Backend, a: TensorInfo, c: TensorInfo, out: TensorInfo): void {
  const [B, M, K] = a.shape as [number, number, number];
  const N = c.shape[2]!;
  const O = arr(out) as Float32Array;
  const tmpA = new Float32Array(M * K), tmpB = new Float32Array(K * N);
  for (let bi = 0; bi < B; bi++) {
    const A = packMatrix(a, bi, tmpA);
    const Bm = packMatrix(c, bi, tmpB);
    const o0 = out.offset + bi * M * N;
    O.fill(0, o0, o0 + M * N);
    // i-k-j order: the inner loop streams one row of B into one row of the output.
    for (let i = 0; i < M; i++) {
      const orow = o0 + i * N;
      for (let k = 0; k < K; k++) {
        // No skipping of zeros: 0 · inf must give NaN, as in torch and the WASM kernel.
        const av = A[i * K + k]!;
        const brow = k * N;
        for (let j = 0; j < N; j++) O[orow + j]! += av * Bm[brow + j]!;
      }
    }
  }
}

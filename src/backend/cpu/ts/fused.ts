// Fused inference kernels for the Llama family, in plain TypeScript: RMSNorm and rotary embedding
// as one pass each instead of a chain of elementwise ops (at batch-1 decoding the chain's dispatch
// costs more than its arithmetic). Used only when no gradient is needed; training takes the
// composite ops, whose gradients autograd derives.

import type { Backend, TensorInfo } from '../../backend.js';
import { arr } from './elementwise.js';

/** out[r] = x[r] / sqrt(mean(x[r]²) + eps) · weight, rows of contiguous [rows, n]; float32 at each step, as the composite. */
export function rmsNorm(_b: Backend, x: TensorInfo, weight: TensorInfo | null, rows: number, n: number, eps: number, out: TensorInfo): void {
  const X = arr(x), O = arr(out), W = weight ? arr(weight) : null, wo = weight?.offset ?? 0;
  for (let r = 0; r < rows; r++) {
    const xi = x.offset + r * n, oi = out.offset + r * n;
    let ss = 0;
    for (let k = 0; k < n; k++) { const v = X[xi + k]!; ss += Math.fround(v * v); }
    const inv = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(ss / n) + eps)));
    for (let k = 0; k < n; k++) {
      const v = Math.fround(X[xi + k]! * inv);
      O[oi + k] = W ? Math.fround(v * W[wo + k]!) : v;
    }
  }
}

/**
 * Rotary embedding, rotate-half layout: out = x·cos + rotate_half(x)·sin over x [B, H, T, D] (any
 * strides), cos and sin [B|1, 1, T, D] views (any strides, 0 = broadcast); out contiguous [B, H, T, D].
 */
export function rotary(_b: Backend, x: TensorInfo, cos: TensorInfo, sin: TensorInfo, out: TensorInfo): void {
  const [B, H, T, D] = x.shape as [number, number, number, number];
  const X = arr(x), C = arr(cos), S = arr(sin), O = arr(out);
  const [xb, xh, xt, xd] = x.strides as [number, number, number, number];
  const [cb, , ct, cd] = cos.strides as [number, number, number, number];
  const [sb, , st, sd] = sin.strides as [number, number, number, number];
  const half = D / 2;
  let o = out.offset;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const xi = x.offset + b * xb + h * xh + t * xt, ci = cos.offset + b * cb + t * ct, si = sin.offset + b * sb + t * st;
        for (let d = 0; d < D; d++) {
          const rot = d < half ? -X[xi + (d + half) * xd]! : X[xi + (d - half) * xd]!;
          O[o++] = Math.fround(Math.fround(X[xi + d * xd]! * C[ci + d * cd]!) + Math.fround(rot * S[si + d * sd]!));
        }
      }
    }
  }
}

// Matmul on quantized weights: y [M, N] = x [M, K] · Wᵀ (+ bias), W int8 with a scale per row or
// 4-bit with a scale per 32 inputs (layout: src/backend/quant_format.ts). Each vector of W is
// widened to floats in registers and used at once; no dequantized copy of W is made. Items are
// blocks of ROWS rows of W: a thread streams its block once per row of x (decoding has one).
//
// Every output is computed alone, by the same sequence whatever M or the thread: so a row of x
// gets the same bits alone or in a batch.
//  - int8: 4 accumulators (vector i of each 16-byte chunk into the i-th), added as (0+1)+(2+3),
//    lanes summed, the k tail added one by one, then times the row's scale.
//  - 4-bit: per group, the 8 products x·q summed as a tree, times the group's scale, added to one
//    accumulator; its lanes summed at the end.

import { hsum } from './simd';

const ROWS = 16;

export function quantMatmul(start: i32, end: i32, _tid: i32, x: usize, M: i32, K: i32, q: usize, scales: usize, bits: i32,
  bias: usize, y: usize, N: i32): void {
  const rowBytes = bits == 8 ? (K + 3) & ~3 : K >> 1;
  const n1 = min(N, end * ROWS);
  for (let n = start * ROWS; n < n1; n++) {
    const w = q + <usize>n * <usize>rowBytes;
    const b: f32 = bias ? load<f32>(bias + (<usize>n << 2)) : 0;
    for (let m = 0; m < M; m++) {
      const xr = x + (<usize>m * <usize>K << 2);
      let v: f32 = bits == 8 ? dot8(xr, w, K) * load<f32>(scales + (<usize>n << 2)) : dot4(xr, w, K, scales + (<usize>n * <usize>(K >> 5) << 2));
      if (bias) v += b;
      store<f32>(y + ((<usize>m * <usize>N + <usize>n) << 2), v);
    }
  }
}

/** Σ_k x[k]·q[k] over a row of int8 q. */
// @ts-ignore: decorator
@inline function dot8(x: usize, w: usize, K: i32): f32 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, k = 0;
  for (; k + 16 <= K; k += 16) {
    const v = v128.load(w + <usize>k), xp = x + (<usize>k << 2);
    const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo))));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(xp, 16), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo))));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(xp, 32), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi))));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(xp, 48), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi))));
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; k < K; k++) s += load<f32>(x + (<usize>k << 2)) * <f32>load<i8>(w + <usize>k);
  return s;
}

/** Σ_k x[k]·q[k] of 16 signed bytes q (in k order) against 16 floats of x. */
// @ts-ignore: decorator
@inline function dot16(x: usize, v: v128): v128 {
  const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
  const p0 = f32x4.mul(v128.load(x), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)));
  const p1 = f32x4.mul(v128.load(x, 16), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)));
  const p2 = f32x4.mul(v128.load(x, 32), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)));
  const p3 = f32x4.mul(v128.load(x, 48), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)));
  return f32x4.add(f32x4.add(p0, p1), f32x4.add(p2, p3));
}

/** Σ_groups scale[g] · Σ_{k in g} x[k]·q[k] over a row of 4-bit q (K a multiple of 32). */
// @ts-ignore: decorator
@inline function dot4(x: usize, w: usize, K: i32, s: usize): f32 {
  let acc = f32x4.splat(0);
  const mask = i8x16.splat(15), eight = i8x16.splat(8);
  for (let g = 0; g < (K >> 5); g++) {
    const v = v128.load(w + (<usize>g << 4)), xg = x + (<usize>g << 7);
    // Low nibbles hold the even k, high ones the odd k: interleaved back into k order, minus 8.
    const lo = i8x16.sub(v128.and(v, mask), eight), hi = i8x16.sub(i8x16.shr_u(v, 4), eight);
    const q0 = i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const q1 = i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const p = f32x4.add(dot16(xg, q0), dot16(xg + 64, q1));
    acc = f32x4.add(acc, f32x4.mul(p, f32x4.splat(load<f32>(s + (<usize>g << 2)))));
  }
  return hsum(acc);
}

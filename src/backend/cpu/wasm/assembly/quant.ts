// Matmul on quantized weights: y [M, N] = x [M, K] · Wᵀ (+ bias), W int8 with a scale per row or
// 4-bit with a scale per 32 inputs (layout: src/backend/quant_format.ts). No dequantized copy of W
// is made: W's bytes meet x in integer dot products (i32x4.dot_i16x8_s: 8 products per
// instruction, where widening each weight to a float took four instructions more).
//
// So x is first rounded per row to int16 (quantPrepareX): xs = max|x| / 32767, x16 = round(x / xs)
// (halves away from zero). That rounding moves an output by at most xs/2 · Σ_k |w| — about 1e-5 of
// its scale, far below the weights' own rounding. Then, per output, everything is integer until
// one conversion per 2048 inputs (int8) or per group (4-bit):
//  - int8: Σ q·x16 in int32 lanes, flushed to float lanes every 2048 inputs (no overflow:
//    127 · 32767 · 2 · 128 < 2³¹), lanes summed, the K tail added, times xs · scale[n];
//  - 4-bit: per group, Σ (q + 8)·x16 - 8·Σ x16 (the correction prepared with x) in int32 lanes,
//    converted, times the group's scale, added to float lanes; lanes summed, times xs.
// Items are blocks of ROWS rows of W; every output is computed alone by the same sequence, so a row
// of x gets the same bits alone or in a batch.

import { hsum } from './simd';

const ROWS = 16;
/** int8: 16-input chunks between flushes of the int32 lanes. */
const FLUSH = 128;

/** Bytes of prepared x per row (quantPrepareX's layout). */
// @ts-ignore: decorator
@inline function xStride(K: i32, bits: i32): i32 {
  return bits == 8 ? ((K + 15) & ~15) << 1 : (K >> 5) * 80;
}

/**
 * Rounds x's rows to int16 at `out` (xStride bytes a row; each row's xs at `scales` + 4m):
 * int8 layout: x16 in order, zero-padded to a multiple of 16; 4-bit: per group of 32, the 16 even
 * inputs, the 16 odd ones (the order a group's bytes yield their low and high nibbles), then 4 int32:
 * 8 · the sum of the x16 that meet each lane of the group's dot products (bytes 2i, 2i+1, 8+2i, 9+2i).
 */
export function quantPrepareX(x: usize, M: i32, K: i32, bits: i32, out: usize, scales: usize): void {
  const stride = <usize>xStride(K, bits);
  for (let m = 0; m < M; m++) {
    const xr = x + (<usize>m * <usize>K << 2), row = out + <usize>m * stride;
    let amax: f32 = 0;
    for (let k = 0; k < K; k++) amax = max(amax, abs(load<f32>(xr + (<usize>k << 2))));
    const s: f32 = amax / 32767;
    store<f32>(scales + (<usize>m << 2), s);
    memory.fill(row, 0, stride);
    for (let k = 0; k < K; k++) {
      const q = round16(load<f32>(xr + (<usize>k << 2)), s);
      if (bits == 8) { store<i16>(row + (<usize>k << 1), q); continue; }
      const g = k >> 5, j = k & 31, byte = j >> 1, lane = (byte & 7) >> 1;
      const grp = row + <usize>g * 80;
      store<i16>(grp + (<usize>((j & 1) * 16 + byte) << 1), q);
      const c = grp + 64 + (<usize>lane << 2);
      store<i32>(c, load<i32>(c) + 8 * <i32>q);
    }
  }
}

// @ts-ignore: decorator
@inline function round16(v: f32, s: f32): i16 {
  if (s == 0) return 0;
  const t = v / s, r = t < 0 ? -Mathf.floor(-t + 0.5) : Mathf.floor(t + 0.5);
  return <i16>(<i32>max<f32>(-32767, min<f32>(32767, r)));
}

export function quantMatmul(start: i32, end: i32, _tid: i32, xp: usize, xs: usize, M: i32, K: i32, q: usize, scales: usize, bits: i32,
  bias: usize, y: usize, N: i32): void {
  const rowBytes = bits == 8 ? (K + 3) & ~3 : K >> 1, stride = <usize>xStride(K, bits);
  const n1 = min(N, end * ROWS);
  for (let n = start * ROWS; n < n1; n++) {
    const w = q + <usize>n * <usize>rowBytes;
    for (let m = 0; m < M; m++) {
      const xr = xp + <usize>m * stride;
      let v: f32 = bits == 8 ? dot8(xr, w, K) * load<f32>(scales + (<usize>n << 2)) : dot4(xr, w, K, scales + (<usize>n * <usize>(K >> 5) << 2));
      v *= load<f32>(xs + (<usize>m << 2));
      if (bias) v += load<f32>(bias + (<usize>n << 2));
      store<f32>(y + ((<usize>m * <usize>N + <usize>n) << 2), v);
    }
  }
}

/** Σ_k x16[k]·q[k] over a row of int8 q. */
// @ts-ignore: decorator
@inline function dot8(x: usize, w: usize, K: i32): f32 {
  let f = f32x4.splat(0), k = 0;
  const K16 = K & ~15;
  while (k < K16) {
    let a = i32x4.splat(0), b = a;
    const stop = min(K16, k + FLUSH * 16);
    for (; k < stop; k += 16) {
      const v = v128.load(w + <usize>k), xk = x + (<usize>k << 1);
      a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(xk)));
      b = i32x4.add(b, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load(xk, 16)));
    }
    f = f32x4.add(f, f32x4.add(f32x4.convert_i32x4_s(a), f32x4.convert_i32x4_s(b)));
  }
  let t: i32 = 0;
  for (; k < K; k++) t += <i32>load<i16>(x + (<usize>k << 1)) * <i32>load<i8>(w + <usize>k);
  return hsum(f) + <f32>t;
}

/** Σ_groups scale[g] · Σ_{k in g} x16[k]·q[k] over a row of 4-bit q (K a multiple of 32). */
// @ts-ignore: decorator
@inline function dot4(x: usize, w: usize, K: i32, s: usize): f32 {
  let acc = f32x4.splat(0);
  const mask = i8x16.splat(15);
  for (let g = 0; g < (K >> 5); g++) {
    const v = v128.load(w + (<usize>g << 4)), xg = x + <usize>g * 80;
    // (q + 8) of the even k, of the odd k (a 16-bit shift and a mask: x64 has no byte shift)
    const lo = v128.and(v, mask), hi = v128.and(i16x8.shr_u(v, 4), mask);
    let d = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), v128.load(xg)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), v128.load(xg, 16)));
    d = i32x4.add(d, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), v128.load(xg, 32)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), v128.load(xg, 48))));
    d = i32x4.sub(d, v128.load(xg, 64));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(d), f32x4.splat(load<f32>(s + (<usize>g << 2)))));
  }
  return hsum(acc);
}

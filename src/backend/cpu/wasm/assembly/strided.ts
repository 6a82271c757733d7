// Layout work on 4-byte elements (float32 and int32 alike): strided copies, and sums over the middle
// dim of a contiguous [outer, r, inner] view. The TypeScript side merges dims first (strided.ts's
// planStrided), so a copy here has at most four dims and a unit-stride inner run in the common
// cases: the heads transpose [B,T,H,Dh] ↔ [B,H,T,Dh], a slice written into a larger gradient.

/**
 * Items are rows of dims [d0, d1, d2, n] (d0 implied by the item count). Element (i0, i1, i2, k) is
 * read at src + (i0·s0 + i1·s1 + i2·s2 + k·sn)·4 and written at dst + (the same with t·)·4.
 */
export function copyRows(start: i32, end: i32, _tid: i32, src: usize, dst: usize, d1: i32, d2: i32, n: i32,
  s0: i32, s1: i32, s2: i32, sn: i32, t0: i32, t1: i32, t2: i32, tn: i32): void {
  for (let row = start; row < end; row++) {
    const i2 = row % d2, rest = row / d2, i1 = rest % d1, i0 = rest / d1;
    const sp = src + (<usize>(i0 * s0 + i1 * s1 + i2 * s2) << 2), dp = dst + (<usize>(i0 * t0 + i1 * t1 + i2 * t2) << 2);
    if (sn == 1 && tn == 1) { copyRun(sp, dp, n); continue; }
    for (let k = 0; k < n; k++) store<u32>(dp + (<usize>(k * tn) << 2), load<u32>(sp + (<usize>(k * sn) << 2)));
  }
}

// @ts-ignore: decorator
@inline function copyRun(sp: usize, dp: usize, n: i32): void {
  if (n >= 256) { memory.copy(dp, sp, <usize>n << 2); return; } // long runs: the engine's block copy
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    const o = <usize>k << 2;
    v128.store(dp + o, v128.load(sp + o));
    v128.store(dp + o, v128.load(sp + o, 16), 16);
  }
  for (; k + 4 <= n; k += 4) v128.store(dp + (<usize>k << 2), v128.load(sp + (<usize>k << 2)));
  for (; k < n; k++) store<u32>(dp + (<usize>k << 2), load<u32>(sp + (<usize>k << 2)));
}

/** Adds the four lanes of f32x4 v to the two f64x2 accumulators lo (lanes 0, 1) and hi (2, 3). */
// @ts-ignore: decorator
@inline function widen(v: v128, lane: i32): v128 {
  return lane == 0 ? f64x2.promote_low_f32x4(v) : f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 2, 3));
}

/**
 * Items are rows o of a contiguous [rows, r] float32 view: out[o] = Σ x[o, 0:r], accumulated in
 * float64 (as the TypeScript kernel): eight partial sums, added in a fixed order. out is float64
 * where wide (partial sums of one long row, added by the caller), else float32.
 */
export function sumLast(start: i32, end: i32, _tid: i32, x: usize, r: i32, out: usize, wide: i32): void {
  for (let o = start; o < end; o++) {
    const row = x + (<usize>o * <usize>r << 2);
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
    let k = 0;
    for (; k + 8 <= r; k += 8) {
      const v = v128.load(row + (<usize>k << 2)), w = v128.load(row + (<usize>k << 2), 16);
      a0 = f64x2.add(a0, widen(v, 0)); a1 = f64x2.add(a1, widen(v, 1));
      a2 = f64x2.add(a2, widen(w, 0)); a3 = f64x2.add(a3, widen(w, 1));
    }
    const a = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3));
    let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
    for (; k < r; k++) s += <f64>load<f32>(row + (<usize>k << 2));
    if (wide) store<f64>(out + (<usize>o << 3), s);
    else store<f32>(out + (<usize>o << 2), <f32>s);
  }
}

/**
 * Column sums of a contiguous [outer, r, inner] float32 view into float32 out [outer, inner]. Items
 * are (o, block of 8 columns); each block sums its r rows in float64, in row order.
 */
export function sumMiddle(start: i32, end: i32, _tid: i32, x: usize, r: i32, inner: i32, out: usize): void {
  const blocks = (inner + 7) >> 3;
  const ld = <usize>inner << 2;
  for (let item = start; item < end; item++) {
    const o = item / blocks, c0 = (item % blocks) << 3;
    const base = x + (<usize>o * <usize>r * ld) + (<usize>c0 << 2);
    const dst = out + ((<usize>o * <usize>inner + <usize>c0) << 2);
    if (c0 + 8 <= inner) {
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
      for (let k = 0; k < r; k++) {
        const p = base + <usize>k * ld;
        const v = v128.load(p), w = v128.load(p, 16);
        a0 = f64x2.add(a0, widen(v, 0)); a1 = f64x2.add(a1, widen(v, 1));
        a2 = f64x2.add(a2, widen(w, 0)); a3 = f64x2.add(a3, widen(w, 1));
      }
      v128.store(dst, f32x4.demote_f64x2_zero(a0), 0); // lanes 2, 3 are overwritten next
      v128.store64_lane(dst, f32x4.demote_f64x2_zero(a1), 0, 8);
      v128.store64_lane(dst, f32x4.demote_f64x2_zero(a2), 0, 16);
      v128.store64_lane(dst, f32x4.demote_f64x2_zero(a3), 0, 24);
      continue;
    }
    for (let c = 0; c < inner - c0; c++) {
      let s: f64 = 0;
      for (let k = 0; k < r; k++) s += <f64>load<f32>(base + <usize>k * ld + (<usize>c << 2));
      store<f32>(dst + (<usize>c << 2), <f32>s);
    }
  }
}

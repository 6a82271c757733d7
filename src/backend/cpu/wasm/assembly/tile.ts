// The register-blocked micro-kernel: C[4×8] (+)= A[4×kc] · B[kc×8], eight f32x4 accumulators.
//
// 4×8 is what fits: V8 gives wasm 16 xmm registers (one is its scratch), and 8 accumulators + 2 B
// vectors + a broadcast + a product leave no room for 6×8 or 4×12 (measured: they spill and run at
// ~25 GFLOP/s against ~45 for 4×8 on one Zen 5 core). No relaxed-SIMD FMA: Node 20 needs a flag for
// it, and Zen 5 issues the separate mul and add on separate pipes at the same rate anyway.
//
// B is always a packed panel: row k of the panel is 8 floats at b + 32k. A comes in two layouts:
//  - tileRows: A row r at a + r·lda, its k-th element at +4k (plain row-major operands);
//  - tileCols: the 4 rows' k-th elements are 4 consecutive floats at a + k·aks (packed A panels with
//    aks = 16, and transposed operands such as dSᵀ in attention).
// Edge tiles (mr < 4 or nr < 8) go through a 32-float scratch tile `tmp` (one per thread).

// @ts-ignore: decorator
@inline function put(c: usize, v: v128, acc: bool): void {
  v128.store(c, acc ? f32x4.add(v128.load(c), v) : v);
}

// @ts-ignore: decorator
@inline function writeTile(c: usize, ldc: usize, mr: i32, nr: i32, acc: bool, tmp: usize,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  if (mr == 4 && nr == 8) {
    put(c, c00, acc); put(c + 16, c01, acc); c += ldc;
    put(c, c10, acc); put(c + 16, c11, acc); c += ldc;
    put(c, c20, acc); put(c + 16, c21, acc); c += ldc;
    put(c, c30, acc); put(c + 16, c31, acc);
    return;
  }
  v128.store(tmp, c00); v128.store(tmp, c01, 16); v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64); v128.store(tmp, c21, 80); v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
  for (let r = 0; r < mr; r++) {
    const row = c + <usize>r * ldc, t = tmp + (<usize>r << 5);
    for (let j = 0; j < nr; j++) {
      const p = row + (<usize>j << 2);
      const v = load<f32>(t + (<usize>j << 2));
      store<f32>(p, acc ? load<f32>(p) + v : v);
    }
  }
}

/** A row-major with row stride lda (bytes); rows past mr alias row 0 so nothing reads out of bounds. */
export function tileRows(a: usize, lda: usize, b: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, acc: bool, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let a0 = a;
  let a1 = mr > 1 ? a + lda : a, a2 = mr > 2 ? a + 2 * lda : a, a3 = mr > 3 ? a + 3 * lda : a;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a0);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(a1);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(a2);
    c20 = f32x4.add(c20, f32x4.mul(x, b0)); c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(a3);
    c30 = f32x4.add(c30, f32x4.mul(x, b0)); c31 = f32x4.add(c31, f32x4.mul(x, b1));
    a0 += 4; a1 += 4; a2 += 4; a3 += 4; b += 32;
  }
  writeTile(c, ldc, mr, nr, acc, tmp, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** A's 4 rows interleaved: their k-th elements are 4 consecutive floats at a + k·aks (16 readable bytes). */
export function tileCols(a: usize, aks: usize, b: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, acc: bool, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(x, b0)); c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(x, b0)); c31 = f32x4.add(c31, f32x4.mul(x, b1));
    a += aks; b += 32;
  }
  writeTile(c, ldc, mr, nr, acc, tmp, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** 4×4 transpose of rows r0..r3, stored as 4 vectors at dst, dst+ds, dst+2ds, dst+3ds. */
// @ts-ignore: decorator
@inline export function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, ds: usize): void {
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = f32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(dst + ds, f32x4.shuffle(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * ds, f32x4.shuffle(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * ds, f32x4.shuffle(t2, t3, 2, 3, 6, 7));
}

/**
 * Packs columns [c0, c0+8) of a [K × N] operand (element (k, j) at src + k·sk + j·sj, strides in
 * bytes) into a panel of K rows of 8 floats at dst, zero past column N.
 */
export function packPanel8(src: usize, sk: usize, sj: usize, K: i32, N: i32, c0: i32, dst: usize): void {
  const nr = min(8, N - c0);
  src += <usize>c0 * sj;
  if (nr == 8 && sj == 4) { // row-major: two loads per row
    for (let k = 0; k < K; k++) {
      const s = src + <usize>k * sk;
      v128.store(dst, v128.load(s)); v128.store(dst, v128.load(s, 16), 16);
      dst += 32;
    }
    return;
  }
  if (nr == 8 && sk == 4) { // column-major (a transposed weight): 4×4 transposes
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const s = src + (<usize>k << 2);
      transpose4(v128.load(s), v128.load(s + sj), v128.load(s + 2 * sj), v128.load(s + 3 * sj), dst, 32);
      const s4 = s + 4 * sj;
      transpose4(v128.load(s4), v128.load(s4 + sj), v128.load(s4 + 2 * sj), v128.load(s4 + 3 * sj), dst + 16, 32);
      dst += 128;
    }
    for (; k < K; k++) {
      const s = src + (<usize>k << 2);
      for (let j = 0; j < 8; j++) store<f32>(dst + (<usize>j << 2), load<f32>(s + <usize>j * sj));
      dst += 32;
    }
    return;
  }
  for (let k = 0; k < K; k++) {
    const s = src + <usize>k * sk;
    for (let j = 0; j < 8; j++) store<f32>(dst + (<usize>j << 2), j < nr ? load<f32>(s + <usize>j * sj) : 0);
    dst += 32;
  }
}

/**
 * Packs rows [r0, r0+4) of an [M × K] operand (element (i, k) at src + i·si + k·sk, bytes) into
 * K groups of 4 floats at dst (the tileCols layout with aks = 16), zero past row M.
 */
export function packPanel4(src: usize, si: usize, sk: usize, M: i32, K: i32, r0: i32, dst: usize): void {
  const mr = min(4, M - r0);
  src += <usize>r0 * si;
  if (mr == 4 && sk == 4) { // row-major: 4×4 transposes
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const s = src + (<usize>k << 2);
      transpose4(v128.load(s), v128.load(s + si), v128.load(s + 2 * si), v128.load(s + 3 * si), dst, 16);
      dst += 64;
    }
    for (; k < K; k++) {
      const s = src + (<usize>k << 2);
      store<f32>(dst, load<f32>(s)); store<f32>(dst, load<f32>(s + si), 4);
      store<f32>(dst, load<f32>(s + 2 * si), 8); store<f32>(dst, load<f32>(s + 3 * si), 12);
      dst += 16;
    }
    return;
  }
  if (mr == 4 && si == 4) { // column-major: one load per k
    for (let k = 0; k < K; k++) { v128.store(dst, v128.load(src + <usize>k * sk)); dst += 16; }
    return;
  }
  for (let k = 0; k < K; k++) {
    const s = src + <usize>k * sk;
    for (let r = 0; r < 4; r++) store<f32>(dst + (<usize>r << 2), r < mr ? load<f32>(s + <usize>r * si) : 0);
    dst += 16;
  }
}

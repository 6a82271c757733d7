// The register-blocked micro-kernel: C[2×16] (+)= A[2×kc] · B[kc×16], eight f32x4 accumulators.
//
// The tile shape is measured, not guessed (one Zen 5 core, Node 20, kc = 256 in L1): 2×16 runs at
// ~57 GFLOP/s, 4×8 at ~46, and 6×8, 5×8, 4×12, 3×12, 2×20 spill registers and fall to 20–30. V8
// gives wasm 15 usable xmm registers: 8 accumulators + 4 B vectors + a broadcast + a product fit,
// and 2×16 needs two broadcasts per k where 4×8 needs four (V8 spends an extra lea on each). No
// relaxed-SIMD FMA: Node 20 needs a flag for it, and Zen 5 runs separate mul and add on separate
// pipes anyway.
//
// B is always a packed panel: row k of the panel is 16 floats at b + 64k. A comes in two layouts:
//  - tileRows: A row r at a + r·lda, its k-th element at +4k (plain row-major operands);
//  - tileCols: the 2 rows' k-th elements are 2 consecutive floats at a + k·aks (packed A panels with
//    aks = 8, and transposed operands such as dSᵀ in attention).
// Edge tiles (mr < 2 or nr < 16) go through a 32-float scratch tile `tmp` (one per thread).
// Both tile functions are inlined into their callers' loops: as calls (ten arguments, eight v128
// locals to set up per tile) they cost a fifth of the throughput (measured 45 against 56 GFLOP/s).

export const MR = 2;
export const NR = 16;

// @ts-ignore: decorator
@inline function put(c: usize, v: v128, acc: bool): void {
  v128.store(c, acc ? f32x4.add(v128.load(c), v) : v);
}

// @ts-ignore: decorator
@inline function writeTile(c: usize, ldc: usize, mr: i32, nr: i32, acc: bool, tmp: usize,
  c00: v128, c01: v128, c02: v128, c03: v128, c10: v128, c11: v128, c12: v128, c13: v128): void {
  if (mr == 2 && nr == 16) {
    put(c, c00, acc); put(c + 16, c01, acc); put(c + 32, c02, acc); put(c + 48, c03, acc); c += ldc;
    put(c, c10, acc); put(c + 16, c11, acc); put(c + 32, c12, acc); put(c + 48, c13, acc);
    return;
  }
  v128.store(tmp, c00); v128.store(tmp, c01, 16); v128.store(tmp, c02, 32); v128.store(tmp, c03, 48);
  v128.store(tmp, c10, 64); v128.store(tmp, c11, 80); v128.store(tmp, c12, 96); v128.store(tmp, c13, 112);
  for (let r = 0; r < mr; r++) {
    const row = c + <usize>r * ldc, t = tmp + (<usize>r << 6);
    for (let j = 0; j < nr; j++) {
      const p = row + (<usize>j << 2);
      const v = load<f32>(t + (<usize>j << 2));
      store<f32>(p, acc ? load<f32>(p) + v : v);
    }
  }
}

/** A row-major with row stride lda (bytes); a missing second row aliases the first (no out-of-bounds read). */
// @ts-ignore: decorator
@inline export function tileRows(a: usize, lda: usize, b: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, acc: bool, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  const d = mr > 1 ? lda : 0;
  const end = b + (<usize>kc << 6);
  while (b < end) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    let x = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    c02 = f32x4.add(c02, f32x4.mul(x, b2)); c03 = f32x4.add(c03, f32x4.mul(x, b3));
    x = v128.load32_splat(a + d);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    c12 = f32x4.add(c12, f32x4.mul(x, b2)); c13 = f32x4.add(c13, f32x4.mul(x, b3));
    a += 4; b += 64;
  }
  writeTile(c, ldc, mr, nr, acc, tmp, c00, c01, c02, c03, c10, c11, c12, c13);
}

/** A's 2 rows interleaved: their k-th elements are 2 consecutive floats at a + k·aks. */
// @ts-ignore: decorator
@inline export function tileCols(a: usize, aks: usize, b: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, acc: bool, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  const end = b + (<usize>kc << 6);
  while (b < end) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    let x = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    c02 = f32x4.add(c02, f32x4.mul(x, b2)); c03 = f32x4.add(c03, f32x4.mul(x, b3));
    x = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    c12 = f32x4.add(c12, f32x4.mul(x, b2)); c13 = f32x4.add(c13, f32x4.mul(x, b3));
    a += aks; b += 64;
  }
  writeTile(c, ldc, mr, nr, acc, tmp, c00, c01, c02, c03, c10, c11, c12, c13);
}

/** 4×4 transpose of rows r0..r3, stored as 4 vectors at dst, dst+ds, dst+2ds, dst+3ds. */
// @ts-ignore: decorator
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, ds: usize): void {
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = f32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(dst + ds, f32x4.shuffle(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * ds, f32x4.shuffle(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * ds, f32x4.shuffle(t2, t3, 2, 3, 6, 7));
}

/**
 * Packs columns [c0, c0+16) of a [K × N] operand (element (k, j) at src + k·sk + j·sj, strides in
 * bytes) into a panel of K rows of 16 floats at dst, zero past column N.
 */
export function packPanel16(src: usize, sk: usize, sj: usize, K: i32, N: i32, c0: i32, dst: usize): void {
  const nr = min(NR, N - c0);
  src += <usize>c0 * sj;
  if (nr == NR && sj == 4) { // row-major: four loads per row
    for (let k = 0; k < K; k++) {
      const s = src + <usize>k * sk;
      v128.store(dst, v128.load(s)); v128.store(dst, v128.load(s, 16), 16);
      v128.store(dst, v128.load(s, 32), 32); v128.store(dst, v128.load(s, 48), 48);
      dst += 64;
    }
    return;
  }
  if (nr == NR && sk == 4) { // column-major (a transposed weight): 4×4 transposes
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      for (let g = 0; g < 4; g++) {
        const s = src + (<usize>k << 2) + <usize>(g << 2) * sj;
        transpose4(v128.load(s), v128.load(s + sj), v128.load(s + 2 * sj), v128.load(s + 3 * sj), dst + (<usize>g << 4), 64);
      }
      dst += 256;
    }
    for (; k < K; k++) {
      const s = src + (<usize>k << 2);
      for (let j = 0; j < NR; j++) store<f32>(dst + (<usize>j << 2), load<f32>(s + <usize>j * sj));
      dst += 64;
    }
    return;
  }
  for (let k = 0; k < K; k++) {
    const s = src + <usize>k * sk;
    for (let j = 0; j < NR; j++) store<f32>(dst + (<usize>j << 2), j < nr ? load<f32>(s + <usize>j * sj) : 0);
    dst += 64;
  }
}

/**
 * Packs rows [r0, r0+2) of an [M × K] operand (element (i, k) at src + i·si + k·sk, bytes) into
 * K pairs of floats at dst (the tileCols layout with aks = 8), zero past row M.
 */
export function packPanel2(src: usize, si: usize, sk: usize, M: i32, K: i32, r0: i32, dst: usize): void {
  const mr = min(MR, M - r0);
  src += <usize>r0 * si;
  if (mr == 2 && sk == 4) { // row-major: interleave 4 k's of the two rows at a time
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const x = v128.load(src + (<usize>k << 2)), y = v128.load(src + si + (<usize>k << 2));
      v128.store(dst, f32x4.shuffle(x, y, 0, 4, 1, 5)); v128.store(dst, f32x4.shuffle(x, y, 2, 6, 3, 7), 16);
      dst += 32;
    }
    for (; k < K; k++) {
      store<f32>(dst, load<f32>(src + (<usize>k << 2))); store<f32>(dst, load<f32>(src + si + (<usize>k << 2)), 4);
      dst += 8;
    }
    return;
  }
  if (mr == 2 && si == 4) { // column-major: the pair is adjacent
    for (let k = 0; k < K; k++) { store<u64>(dst, load<u64>(src + <usize>k * sk)); dst += 8; }
    return;
  }
  for (let k = 0; k < K; k++) {
    const s = src + <usize>k * sk;
    store<f32>(dst, load<f32>(s)); store<f32>(dst, mr > 1 ? load<f32>(s + si) : 0, 4);
    dst += 8;
  }
}

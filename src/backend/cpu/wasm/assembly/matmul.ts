// Batched matmul C[b] = A[b] · B[b] (Goto/BLIS): both operands are first packed into panels (which
// also absorbs any strides, transposes and the batch broadcast), then each work item computes an
// MC × NC block of C, looping KC-deep slices so that the B panel (KC × 16) stays in L1 and the A
// block (MC × KC) in L2. Every exported job takes (start, end, tid, ...) and handles items
// [start, end): the thread pool hands out item ranges.

import { MR, NR, packPanel16, packPanel2, tileCols } from './tile';

const KC = 256;

/**
 * Packs both operands in one job. Items [0, nA): A's (batch, 2-row panel), landing at
 * pa + item·K·8; items [nA, end): B's (batch, 16-column panel) at pb + (item - nA)·K·64. Strides in
 * elements (batch, row, column); a broadcast operand is packed once (the caller passes nA for one
 * batch).
 */
export function packAB(start: i32, end: i32, _tid: i32, a: usize, sab: i32, sai: i32, sak: i32, M: i32, K: i32, pa: usize, nA: i32,
  b: usize, sbb: i32, sbk: i32, sbj: i32, N: i32, pb: usize): void {
  const panelsA = (M + MR - 1) / MR, panelsB = (N + NR - 1) / NR;
  for (let item = start; item < end; item++) {
    if (item < nA) {
      const bi = item / panelsA, p = item % panelsA;
      packPanel2(a + (<usize>bi * <usize>sab << 2), <usize>sai << 2, <usize>sak << 2, M, K, p * MR, pa + <usize>item * <usize>K * (MR * 4));
    } else {
      const it = item - nA, bi = it / panelsB, p = it % panelsB;
      packPanel16(b + (<usize>bi * <usize>sbb << 2), <usize>sbk << 2, <usize>sbj << 2, K, N, p * NR, pb + <usize>it * <usize>K * (NR * 4));
    }
  }
}

/**
 * Items (batch, MC-row block, NC-column block) of C [batch, M, N]. pa/pb hold the packed operands;
 * bcastA/bcastB: one packed copy serves every batch (batch stride 0). tmp: 128 bytes per thread.
 */
export function gemm(start: i32, end: i32, tid: i32, pa: usize, pb: usize, c: usize, M: i32, N: i32, K: i32,
  bcastA: i32, bcastB: i32, MC: i32, NC: i32, tmp: usize): void {
  tmp += <usize>tid << 7;
  const tilesM = (M + MC - 1) / MC, tilesN = (N + NC - 1) / NC;
  const panelsA = (M + MR - 1) / MR, panelsB = (N + NR - 1) / NR;
  const ldc = <usize>N << 2;
  for (let item = start; item < end; item++) {
    const b = item / (tilesM * tilesN), t = item % (tilesM * tilesN);
    const i0 = (t / tilesN) * MC, j0 = (t % tilesN) * NC;
    const i1 = min(M, i0 + MC), j1 = min(N, j0 + NC);
    const A = pa + (bcastA ? 0 : <usize>b * <usize>panelsA * <usize>K * (MR * 4));
    const B = pb + (bcastB ? 0 : <usize>b * <usize>panelsB * <usize>K * (NR * 4));
    const C = c + <usize>b * <usize>M * ldc;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      for (let j = j0; j < j1; j += NR) {
        const bp = B + (<usize>(j / NR) * <usize>K + <usize>pc) * (NR * 4);
        for (let i = i0; i < i1; i += MR) {
          const ap = A + (<usize>(i / MR) * <usize>K + <usize>pc) * (MR * 4);
          tileCols(ap, MR * 4, bp, kc, C + <usize>i * ldc + (<usize>j << 2), ldc, min(MR, M - i), min(NR, N - j), pc > 0, tmp);
        }
      }
    }
  }
}

/**
 * One row of A times B without packing (M = 1: generation's matvecs, where packing B would cost as
 * much as the product, and the product is bound by reading B once). Items are (batch, 8-column
 * group) of C; B's element (k, j) at b + k·sk + j·sj (elements), batch strides sab / sbb.
 *
 * What makes a matvec fast here is reading B as one sequential stream: on the machines measured
 * (Zen 4/5) a single stream through memory runs at ~27 GB/s on one core, while the same bytes read
 * as 8 interleaved streams (8 rows, or 8-column strips down the rows) run at 12–17 GB/s. So:
 *  - row-major B (sj = 1, a Conv1D weight [in, out]): C[j0:j1] += a[k]·B[k, j0:j1] one row at a
 *    time, C's segment staying in L1 — memory order when the range is all of N (the caller runs
 *    row-major matvecs on one thread: splitting columns between threads breaks the stream);
 *  - column-major B (sk = 1, a transposed nn.Linear weight [out, in]): one dot product per column,
 *    the columns of a range being consecutive in memory (threads split them cleanly);
 *  - other strides: scalar.
 */
export function gemv(start: i32, end: i32, _tid: i32, a0: usize, sab: i32, sa: i32, b0: usize, sbb: i32, sk: i32, sj: i32,
  K: i32, N: i32, c0: usize): void {
  const groups = (N + 7) >> 3;
  let item = start;
  while (item < end) {
    const bi = item / groups, g0 = item % groups;
    const g1 = min(groups, g0 + (end - item)); // this batch's share of the range
    item += g1 - g0;
    const a = a0 + (<usize>bi * <usize>sab << 2), b = b0 + (<usize>bi * <usize>sbb << 2), c = c0 + (<usize>bi * <usize>N << 2);
    const j0 = g0 << 3, j1 = min(N, g1 << 3);
    if (sj == 1) gemvRowMajor(a, sa, b, sk, K, c, j0, j1);
    else if (sk == 1 && sa == 1) gemvColMajor(a, b, sj, K, c, j0, j1);
    else {
      for (let j = j0; j < j1; j++) {
        let s: f32 = 0;
        for (let k = 0; k < K; k++) s += load<f32>(a + (<usize>k * <usize>sa << 2)) * load<f32>(b + ((<usize>k * <usize>sk + <usize>j * <usize>sj) << 2));
        store<f32>(c + (<usize>j << 2), s);
      }
    }
  }
}

/** c[j0:j1] = Σ_k a[k]·B[k, j0:j1], B row-major with row stride sk (elements), one row at a time. */
function gemvRowMajor(a: usize, sa: i32, b: usize, sk: i32, K: i32, c: usize, j0: i32, j1: i32): void {
  const ska = <usize>sa << 2, ldb = <usize>sk << 2;
  const s = <usize>j0 << 2, e = <usize>j1 << 2, e16 = s + (<usize>((j1 - j0) & ~15) << 2), e4 = s + (<usize>((j1 - j0) & ~3) << 2);
  for (let o = s; o < e; o += 4) store<f32>(c + o, 0);
  for (let k = 0; k < K; k++) {
    const xf = load<f32>(a + <usize>k * ska), x = f32x4.splat(xf), r = b + <usize>k * ldb;
    let o = s;
    for (; o < e16; o += 64) {
      v128.store(c + o, f32x4.add(v128.load(c + o), f32x4.mul(x, v128.load(r + o))));
      v128.store(c + o, f32x4.add(v128.load(c + o, 16), f32x4.mul(x, v128.load(r + o, 16))), 16);
      v128.store(c + o, f32x4.add(v128.load(c + o, 32), f32x4.mul(x, v128.load(r + o, 32))), 32);
      v128.store(c + o, f32x4.add(v128.load(c + o, 48), f32x4.mul(x, v128.load(r + o, 48))), 48);
    }
    for (; o < e4; o += 16) v128.store(c + o, f32x4.add(v128.load(c + o), f32x4.mul(x, v128.load(r + o))));
    for (; o < e; o += 4) store<f32>(c + o, load<f32>(c + o) + xf * load<f32>(r + o));
  }
}

/** c[j] = Σ_k a[k]·B[j][k] for j in [j0, j1): B's columns contiguous, column stride sj (elements); a contiguous. */
function gemvColMajor(a: usize, b: usize, sj: i32, K: i32, c: usize, j0: i32, j1: i32): void {
  const ld = <usize>sj << 2, k8 = <usize>(K & ~7) << 2, ke = <usize>K << 2;
  for (let j = j0; j < j1; j++) {
    const col = b + <usize>j * ld;
    let acc = f32x4.splat(0), acc2 = f32x4.splat(0);
    for (let o: usize = 0; o < k8; o += 32) {
      acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(col + o)));
      acc2 = f32x4.add(acc2, f32x4.mul(v128.load(a + o, 16), v128.load(col + o, 16)));
    }
    const v = f32x4.add(acc, acc2);
    let t = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
    for (let o = k8; o < ke; o += 4) t += load<f32>(a + o) * load<f32>(col + o);
    store<f32>(c + (<usize>j << 2), t);
  }
}

/**
 * A row-major matvec split by rows of B, for several threads: item p streams the contiguous block of
 * rows [K·p/parts, K·(p+1)/parts) of B (one sequential stream per thread, as gemv wants) into its
 * own partial row P[p] of N floats; sumParts then adds the partials into C.
 */
export function gemvSplitK(start: i32, end: i32, _tid: i32, a: usize, sa: i32, b: usize, sk: i32, K: i32, N: i32, parts: i32, P: usize): void {
  for (let p = start; p < end; p++) {
    const k0 = <i32>((<i64>K * p) / parts), k1 = <i32>((<i64>K * (p + 1)) / parts);
    gemvRowMajor(a + (<usize>k0 * <usize>sa << 2), sa, b + (<usize>k0 * <usize>sk << 2), sk, k1 - k0, P + (<usize>p * <usize>N << 2), 0, N);
  }
}

/** C[j] = Σ_p P[p][j] over items of 256 columns. */
export function sumParts(start: i32, end: i32, _tid: i32, P: usize, parts: i32, N: i32, c: usize): void {
  const ld = <usize>N << 2;
  for (let item = start; item < end; item++) {
    const j0 = item << 8, j1 = min(N, j0 + 256);
    const s = <usize>j0 << 2, e = <usize>j1 << 2, e4 = s + (<usize>((j1 - j0) & ~3) << 2);
    let o = s;
    for (; o < e4; o += 16) {
      let v = v128.load(P + o);
      for (let p = 1; p < parts; p++) v = f32x4.add(v, v128.load(P + <usize>p * ld + o));
      v128.store(c + o, v);
    }
    for (; o < e; o += 4) {
      let v = load<f32>(P + o);
      for (let p = 1; p < parts; p++) v += load<f32>(P + <usize>p * ld + o);
      store<f32>(c + o, v);
    }
  }
}

/**
 * C[M, N] = A[M, K] · B[K, N] for a few rows (a batch's decode step: one row per sequence), without
 * packing: at small M, packing B costs about as much as the product. Items are 16-column strips
 * (row-major B, sj = 1) or 8-column groups (column-major B, sk = 1, A's rows contiguous); within an
 * item, rows go four at a time, the strip of B staying in cache between them. Every C element sums
 * over k in exactly gemv's order, so a row's result does not depend on the rows beside it: a
 * sequence decoded in a batch gets the same numbers as decoded alone. A's row stride: sa; C: M × N.
 */
export function gemmSmallM(start: i32, end: i32, _tid: i32, a: usize, sa: i32, b: usize, sk: i32, sj: i32,
  M: i32, K: i32, N: i32, c: usize): void {
  const lda = <usize>sa << 2, ldc = <usize>N << 2;
  for (let item = start; item < end; item++) {
    if (sj == 1) {
      const j0 = item << 4, j1 = min(N, j0 + 16);
      let m = 0;
      if (j1 - j0 == 16) for (; m + 4 <= M; m += 4) strip4x16(a + <usize>m * lda, lda, b, <usize>sk << 2, K, c + <usize>m * ldc + (<usize>j0 << 2), ldc, j0);
      for (; m < M; m++) gemvRowMajor(a + <usize>m * lda, 1, b, sk, K, c + <usize>m * ldc, j0, j1);
    } else {
      const j0 = item << 3, j1 = min(N, j0 + 8);
      let m = 0;
      for (; m + 4 <= M; m += 4) {
        let j = j0;
        for (; j + 2 <= j1; j += 2) dots4x2(a + <usize>m * lda, lda, b + <usize>j * (<usize>sj << 2), <usize>sj << 2, K, c + <usize>m * ldc + (<usize>j << 2), ldc);
        if (j < j1) dots4(a + <usize>m * lda, lda, b, <usize>sj << 2, K, c + <usize>m * ldc, ldc, j, j1);
      }
      for (; m < M; m++) gemvColMajor(a + <usize>m * lda, b, sj, K, c + <usize>m * ldc, j0, j1);
    }
  }
}

/** Four rows of A times B[:, j0:j0+16] (row-major, row stride ldb bytes), accumulated in registers. */
function strip4x16(a: usize, lda: usize, b: usize, ldb: usize, K: i32, c: usize, ldc: usize, j0: i32): void {
  const z = f32x4.splat(0);
  let c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
  let c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
  let r = b + (<usize>j0 << 2);
  for (let k = 0; k < K; k++) {
    const o = <usize>k << 2;
    const b0 = v128.load(r), b1 = v128.load(r, 16), b2 = v128.load(r, 32), b3 = v128.load(r, 48);
    const x0 = f32x4.splat(load<f32>(a + o)), x1 = f32x4.splat(load<f32>(a + lda + o));
    const x2 = f32x4.splat(load<f32>(a + 2 * lda + o)), x3 = f32x4.splat(load<f32>(a + 3 * lda + o));
    c00 = f32x4.add(c00, f32x4.mul(x0, b0)); c01 = f32x4.add(c01, f32x4.mul(x0, b1)); c02 = f32x4.add(c02, f32x4.mul(x0, b2)); c03 = f32x4.add(c03, f32x4.mul(x0, b3));
    c10 = f32x4.add(c10, f32x4.mul(x1, b0)); c11 = f32x4.add(c11, f32x4.mul(x1, b1)); c12 = f32x4.add(c12, f32x4.mul(x1, b2)); c13 = f32x4.add(c13, f32x4.mul(x1, b3));
    c20 = f32x4.add(c20, f32x4.mul(x2, b0)); c21 = f32x4.add(c21, f32x4.mul(x2, b1)); c22 = f32x4.add(c22, f32x4.mul(x2, b2)); c23 = f32x4.add(c23, f32x4.mul(x2, b3));
    c30 = f32x4.add(c30, f32x4.mul(x3, b0)); c31 = f32x4.add(c31, f32x4.mul(x3, b1)); c32 = f32x4.add(c32, f32x4.mul(x3, b2)); c33 = f32x4.add(c33, f32x4.mul(x3, b3));
    r += ldb;
  }
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c02, 32); v128.store(c, c03, 48);
  c += ldc;
  v128.store(c, c10); v128.store(c, c11, 16); v128.store(c, c12, 32); v128.store(c, c13, 48);
  c += ldc;
  v128.store(c, c20); v128.store(c, c21, 16); v128.store(c, c22, 32); v128.store(c, c23, 48);
  c += ldc;
  v128.store(c, c30); v128.store(c, c31, 16); v128.store(c, c32, 32); v128.store(c, c33, 48);
}

/** Four rows of A dotted with columns j0..j1 of a column-major B (column stride ldb bytes), in gemvColMajor's order. */
function dots4(a: usize, lda: usize, b: usize, ldb: usize, K: i32, c: usize, ldc: usize, j0: i32, j1: i32): void {
  const k8 = <usize>(K & ~7) << 2, ke = <usize>K << 2;
  const a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
  for (let j = j0; j < j1; j++) {
    const col = b + <usize>j * ldb;
    const z = f32x4.splat(0);
    let p0 = z, q0 = z, p1 = z, q1 = z, p2 = z, q2 = z, p3 = z, q3 = z;
    for (let o: usize = 0; o < k8; o += 32) {
      const u = v128.load(col + o), w = v128.load(col + o, 16);
      p0 = f32x4.add(p0, f32x4.mul(v128.load(a + o), u)); q0 = f32x4.add(q0, f32x4.mul(v128.load(a + o, 16), w));
      p1 = f32x4.add(p1, f32x4.mul(v128.load(a1 + o), u)); q1 = f32x4.add(q1, f32x4.mul(v128.load(a1 + o, 16), w));
      p2 = f32x4.add(p2, f32x4.mul(v128.load(a2 + o), u)); q2 = f32x4.add(q2, f32x4.mul(v128.load(a2 + o, 16), w));
      p3 = f32x4.add(p3, f32x4.mul(v128.load(a3 + o), u)); q3 = f32x4.add(q3, f32x4.mul(v128.load(a3 + o, 16), w));
    }
    const cj = c + (<usize>j << 2);
    store<f32>(cj, laneSum(f32x4.add(p0, q0), a, col, k8, ke));
    store<f32>(cj + ldc, laneSum(f32x4.add(p1, q1), a1, col, k8, ke));
    store<f32>(cj + 2 * ldc, laneSum(f32x4.add(p2, q2), a2, col, k8, ke));
    store<f32>(cj + 3 * ldc, laneSum(f32x4.add(p3, q3), a3, col, k8, ke));
  }
}

/** dots4 for two adjacent columns at once (each A load serves both): C[0..3][0..1], same order per element. */
function dots4x2(a: usize, lda: usize, col: usize, ldb: usize, K: i32, c: usize, ldc: usize): void {
  const k8 = <usize>(K & ~7) << 2, ke = <usize>K << 2;
  const a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, col1 = col + ldb;
  const z = f32x4.splat(0);
  let p0 = z, q0 = z, p1 = z, q1 = z, p2 = z, q2 = z, p3 = z, q3 = z;
  let r0 = z, s0 = z, r1 = z, s1 = z, r2 = z, s2 = z, r3 = z, s3 = z;
  for (let o: usize = 0; o < k8; o += 32) {
    const u = v128.load(col + o), w = v128.load(col + o, 16), u1 = v128.load(col1 + o), w1 = v128.load(col1 + o, 16);
    let x = v128.load(a + o), y = v128.load(a + o, 16);
    p0 = f32x4.add(p0, f32x4.mul(x, u)); q0 = f32x4.add(q0, f32x4.mul(y, w)); r0 = f32x4.add(r0, f32x4.mul(x, u1)); s0 = f32x4.add(s0, f32x4.mul(y, w1));
    x = v128.load(a1 + o); y = v128.load(a1 + o, 16);
    p1 = f32x4.add(p1, f32x4.mul(x, u)); q1 = f32x4.add(q1, f32x4.mul(y, w)); r1 = f32x4.add(r1, f32x4.mul(x, u1)); s1 = f32x4.add(s1, f32x4.mul(y, w1));
    x = v128.load(a2 + o); y = v128.load(a2 + o, 16);
    p2 = f32x4.add(p2, f32x4.mul(x, u)); q2 = f32x4.add(q2, f32x4.mul(y, w)); r2 = f32x4.add(r2, f32x4.mul(x, u1)); s2 = f32x4.add(s2, f32x4.mul(y, w1));
    x = v128.load(a3 + o); y = v128.load(a3 + o, 16);
    p3 = f32x4.add(p3, f32x4.mul(x, u)); q3 = f32x4.add(q3, f32x4.mul(y, w)); r3 = f32x4.add(r3, f32x4.mul(x, u1)); s3 = f32x4.add(s3, f32x4.mul(y, w1));
  }
  store<f32>(c, laneSum(f32x4.add(p0, q0), a, col, k8, ke)); store<f32>(c, laneSum(f32x4.add(r0, s0), a, col1, k8, ke), 4);
  store<f32>(c + ldc, laneSum(f32x4.add(p1, q1), a1, col, k8, ke)); store<f32>(c + ldc, laneSum(f32x4.add(r1, s1), a1, col1, k8, ke), 4);
  store<f32>(c + 2 * ldc, laneSum(f32x4.add(p2, q2), a2, col, k8, ke)); store<f32>(c + 2 * ldc, laneSum(f32x4.add(r2, s2), a2, col1, k8, ke), 4);
  store<f32>(c + 3 * ldc, laneSum(f32x4.add(p3, q3), a3, col, k8, ke)); store<f32>(c + 3 * ldc, laneSum(f32x4.add(r3, s3), a3, col1, k8, ke), 4);
}

/** gemvColMajor's finish: the four lanes in order, then the k tail. */
@inline function laneSum(v: v128, a: usize, col: usize, k8: usize, ke: usize): f32 {
  let t = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
  for (let o = k8; o < ke; o += 4) t += load<f32>(a + o) * load<f32>(col + o);
  return t;
}

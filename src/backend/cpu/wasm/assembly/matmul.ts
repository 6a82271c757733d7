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
export function gemmSmallM(start: i32, end: i32, tid: i32, a: usize, sa: i32, b: usize, sk: i32, sj: i32,
  M: i32, K: i32, N: i32, c: usize, scratch: usize): void {
  const panel = scratch + <usize>tid * SCRATCH;
  const lda = <usize>sa << 2, ldc = <usize>N << 2;
  for (let item = start; item < end; item++) {
    if (sj == 1) {
      // G 16-column strips, KS rows (k) at a time, copied into this thread's panels first: memory
      // is read in row segments of G·64 contiguous bytes (a lone strip's 64-byte pieces, a row of
      // B apart, arrive at a fraction of memory's speed; G = 4 measured best against 1, 2, 3, 6, 8
      // and 16), and each strip's panel is then contiguous in L1 for every row pair (in place, the
      // strip's rows, N floats apart, often share a few L1 sets and evict each other).
      const j0 = item * (G << 4), j1 = min(N, j0 + (G << 4)), ldb = <usize>sk << 2;
      const full = (j1 - j0) >> 4; // whole strips in this item
      for (let k0 = 0; k0 < K; k0 += KS) {
        const kn = min(KS, K - k0), ak = a + (<usize>k0 << 2);
        let src = b + <usize>k0 * ldb + (<usize>j0 << 2);
        for (let k: usize = 0; k < <usize>kn; k++) {
          for (let g: usize = 0; g < <usize>full; g++) copy64(src + (g << 6), panel + g * (<usize>KS << 6) + (k << 6));
          src += ldb;
        }
        for (let g = 0; g < full; g++) {
          const pg = panel + <usize>g * (<usize>KS << 6), cj = c + (<usize>(j0 + (g << 4)) << 2);
          let m = 0;
          for (; m + 2 <= M; m += 2) strip2x16(ak + <usize>m * lda, lda, pg, 64, kn, cj + <usize>m * ldc, ldc, k0 > 0);
          if (m < M) strip1x16(ak + <usize>m * lda, pg, 64, kn, cj + <usize>m * ldc, k0 > 0);
        }
      }
      const jt = j0 + (full << 4); // a last partial strip: plain gemv rows
      if (jt < j1) for (let m = 0; m < M; m++) gemvRowMajor(a + <usize>m * lda, 1, b, sk, K, c + <usize>m * ldc, jt, j1);
    } else {
      // Column-major B (a transposed weight: the LM head over the embeddings). Sixteen columns,
      // KS k at a time, transposed into the panel, then the row-major strip kernel, run once per
      // k mod 8: gemvColMajor sums column j's products in eight interleaved partial sums (its two
      // 4-lane accumulators) and combines them at the end; keeping those eight partials apart and
      // combining them the same way gives gemv's bits at the speed of the 2×16 tile.
      const j0 = item << 4, j1 = min(N, j0 + 16), ldb = <usize>sj << 2;
      if (j1 - j0 < 16) {
        for (let m = 0; m < M; m++) gemvColMajor(a + <usize>m * lda, b, sj, K, c + <usize>m * ldc, j0, j1);
        continue;
      }
      const K8 = K & ~7, parts = panel + (<usize>KS << 6); // partials: [8 residues][M rows][16 columns]
      for (let k0 = 0; k0 < K8; k0 += KS) {
        const kn = min(KS, K8 - k0);
        packTransposed(b + <usize>j0 * ldb + (<usize>k0 << 2), ldb, kn, panel);
        for (let r = 0; r < 8; r++) {
          const steps = (kn - r + 7) >> 3, pr = parts + <usize>r * <usize>M * 64;
          if (steps <= 0) continue;
          const ak = a + (<usize>(k0 + r) << 2), br = panel + (<usize>r << 6);
          let m = 0;
          for (; m + 2 <= M; m += 2) strip2x16(ak + <usize>m * lda, lda, br, 512, steps, pr + <usize>m * 64, 64, k0 > 0, 32);
          if (m < M) strip1x16(ak + <usize>m * lda, br, 512, steps, pr + <usize>m * 64, k0 > 0, 32);
        }
      }
      for (let m = 0; m < M; m++) {
        const am = a + <usize>m * lda;
        for (let j = 0; j < 16; j++) {
          let t: f32 = 0;
          if (K8 > 0) {
            const q = parts + <usize>m * 64 + (<usize>j << 2), stride = <usize>M * 64;
            // (S0 + S4) + (S1 + S5) + (S2 + S6) + (S3 + S7): gemvColMajor's lane sum, in its order.
            t = (load<f32>(q) + load<f32>(q + 4 * stride)) + (load<f32>(q + stride) + load<f32>(q + 5 * stride));
            t += load<f32>(q + 2 * stride) + load<f32>(q + 6 * stride);
            t += load<f32>(q + 3 * stride) + load<f32>(q + 7 * stride);
          }
          const col = b + <usize>(j0 + j) * ldb;
          for (let k = K8; k < K; k++) t += load<f32>(am + (<usize>k << 2)) * load<f32>(col + (<usize>k << 2));
          store<f32>(c + <usize>m * ldc + (<usize>(j0 + j) << 2), t);
        }
      }
    }
  }
}

/** panel[k][0..16) = columns 0..15 of a column-major block (column stride ldb bytes) at k, for k < kn (kn % 4 == 0), by 4×4 transposes. */
function packTransposed(b: usize, ldb: usize, kn: i32, panel: usize): void {
  for (let g: usize = 0; g < 4; g++) {
    const c0 = b + g * 4 * ldb, c1 = c0 + ldb, c2 = c1 + ldb, c3 = c2 + ldb;
    for (let k: usize = 0; k < <usize>kn; k += 4) {
      const o = k << 2;
      const r0 = v128.load(c0 + o), r1 = v128.load(c1 + o), r2 = v128.load(c2 + o), r3 = v128.load(c3 + o);
      const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const p = panel + (k << 6) + (g << 4);
      v128.store(p, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(p + 64, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(p + 128, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(p + 192, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
  }
}

// @ts-ignore: decorator
@inline function copy64(q: usize, p: usize): void {
  v128.store(p, v128.load(q)); v128.store(p, v128.load(q, 16), 16);
  v128.store(p, v128.load(q, 32), 32); v128.store(p, v128.load(q, 48), 48);
}

/** Rows of B per packed strip panel (24 KiB: stays in L1 beside two rows of A). */
const KS = 384;
/** Strips per work item for a row-major B. */
const G = 4;
/** Bytes of scratch per thread (kernels.ts allocates it): G strip panels; for a column-major B, one panel and 8 partial sums of up to 32 rows × 16 columns. */
const SCRATCH: usize = G * (KS << 6);

/** One row of A times a 16-column panel b (row stride ldb bytes): strip2x16's leftover row. */
function strip1x16(a: usize, b: usize, ldb: usize, K: i32, c: usize, more: bool, astep: usize = 4): void {
  const z = f32x4.splat(0);
  let c0 = more ? v128.load(c) : z, c1 = more ? v128.load(c, 16) : z, c2 = more ? v128.load(c, 32) : z, c3 = more ? v128.load(c, 48) : z;
  let r = b;
  for (let k = 0; k < K; k++) {
    const x = f32x4.splat(load<f32>(a + <usize>k * astep));
    c0 = f32x4.add(c0, f32x4.mul(x, v128.load(r))); c1 = f32x4.add(c1, f32x4.mul(x, v128.load(r, 16)));
    c2 = f32x4.add(c2, f32x4.mul(x, v128.load(r, 32))); c3 = f32x4.add(c3, f32x4.mul(x, v128.load(r, 48)));
    r += ldb;
  }
  v128.store(c, c0); v128.store(c, c1, 16); v128.store(c, c2, 32); v128.store(c, c3, 48);
}

/**
 * Two rows of A times B[:, j0:j0+16] (row-major B, row stride ldb bytes): tile.ts's 2×16 register
 * tile (8 accumulators + 4 B vectors + a broadcast + a product fit V8's 15 xmm registers; 4×16
 * spills and runs at half the speed). more: carry on from the partial sums in C.
 */
// @ts-ignore: decorator
@inline function strip2x16(a: usize, lda: usize, b: usize, ldb: usize, K: i32, c: usize, ldc: usize, more: bool, astep: usize = 4): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  if (more) {
    c00 = v128.load(c); c01 = v128.load(c, 16); c02 = v128.load(c, 32); c03 = v128.load(c, 48);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16); c12 = v128.load(c + ldc, 32); c13 = v128.load(c + ldc, 48);
  }
  const end = a + <usize>K * astep;
  while (a < end) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    let x = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    c02 = f32x4.add(c02, f32x4.mul(x, b2)); c03 = f32x4.add(c03, f32x4.mul(x, b3));
    x = v128.load32_splat(a + lda);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    c12 = f32x4.add(c12, f32x4.mul(x, b2)); c13 = f32x4.add(c13, f32x4.mul(x, b3));
    a += astep; b += ldb;
  }
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c02, 32); v128.store(c, c03, 48);
  c += ldc;
  v128.store(c, c10); v128.store(c, c11, 16); v128.store(c, c12, 32); v128.store(c, c13, 48);
}


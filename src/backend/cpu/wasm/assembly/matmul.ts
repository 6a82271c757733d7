// Batched matmul C[b] = A[b] · B[b] (Goto/BLIS): both operands are first packed into panels (which
// also absorbs any strides, transposes and the batch broadcast), then each work item computes an
// MC × NC block of C, looping KC-deep slices so that the B panel (KC × 8) stays in L1 and the A
// block (MC × KC) in L2. Every exported job takes (start, end, tid, ...) and handles items
// [start, end): the thread pool hands out item ranges.

import { packPanel4, packPanel8, tileCols } from './tile';

const KC = 256;

/** Items (batch, 4-row panel). Strides in elements; panels land at dst + (b·panels + p)·K·16. */
export function packA(start: i32, end: i32, _tid: i32, src: usize, sb: i32, si: i32, sk: i32, M: i32, K: i32, dst: usize): void {
  const panels = (M + 3) >> 2;
  for (let item = start; item < end; item++) {
    const b = item / panels, p = item % panels;
    const s = src + (<usize>b * <usize>sb << 2);
    packPanel4(s, <usize>si << 2, <usize>sk << 2, M, K, p << 2, dst + <usize>item * <usize>K * 16);
  }
}

/** Items (batch, 8-column panel); panels land at dst + (b·panels + p)·K·32. */
export function packB(start: i32, end: i32, _tid: i32, src: usize, sb: i32, sk: i32, sj: i32, K: i32, N: i32, dst: usize): void {
  const panels = (N + 7) >> 3;
  for (let item = start; item < end; item++) {
    const b = item / panels, p = item % panels;
    const s = src + (<usize>b * <usize>sb << 2);
    packPanel8(s, <usize>sk << 2, <usize>sj << 2, K, N, p << 3, dst + <usize>item * <usize>K * 32);
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
  const panelsA = (M + 3) >> 2, panelsB = (N + 7) >> 3;
  const ldc = <usize>N << 2;
  for (let item = start; item < end; item++) {
    const b = item / (tilesM * tilesN), t = item % (tilesM * tilesN);
    const i0 = (t / tilesN) * MC, j0 = (t % tilesN) * NC;
    const i1 = min(M, i0 + MC), j1 = min(N, j0 + NC);
    const A = pa + (bcastA ? 0 : <usize>b * <usize>panelsA * <usize>K * 16);
    const B = pb + (bcastB ? 0 : <usize>b * <usize>panelsB * <usize>K * 32);
    const C = c + <usize>b * <usize>M * ldc;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      for (let j = j0; j < j1; j += 8) {
        const bp = B + (<usize>(j >> 3) * <usize>K + <usize>pc) * 32;
        for (let i = i0; i < i1; i += 4) {
          const ap = A + (<usize>(i >> 2) * <usize>K + <usize>pc) * 16;
          tileCols(ap, 16, bp, kc, C + <usize>i * ldc + (<usize>j << 2), ldc, min(4, M - i), min(8, N - j), pc > 0, tmp);
        }
      }
    }
  }
}

/**
 * One row of A times B without packing (M = 1: generation's matvecs, where packing B would cost as
 * much as the product). Items are 8-column groups of C; B's element (k, j) at b + k·sk + j·sj
 * (elements). Row-major B streams rows; column-major B (a transposed weight) takes dot products.
 */
export function gemv(start: i32, end: i32, _tid: i32, a: usize, sa: i32, b: usize, sk: i32, sj: i32, K: i32, N: i32, c: usize): void {
  const ska = <usize>sa << 2, skb = <usize>sk << 2, sjb = <usize>sj << 2;
  for (let g = start; g < end; g++) {
    const j0 = g << 3, nr = min(8, N - j0);
    if (sj == 1 && nr == 8) {
      let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
      let bp = b + (<usize>j0 << 2), ap = a;
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(ap);
        acc0 = f32x4.add(acc0, f32x4.mul(x, v128.load(bp)));
        acc1 = f32x4.add(acc1, f32x4.mul(x, v128.load(bp, 16)));
        ap += ska; bp += skb;
      }
      v128.store(c + (<usize>j0 << 2), acc0); v128.store(c + (<usize>j0 << 2), acc1, 16);
      continue;
    }
    for (let j = j0; j < j0 + nr; j++) {
      const col = b + <usize>j * sjb;
      let s: f32 = 0;
      if (sk == 1 && sa == 1) {
        let acc = f32x4.splat(0), acc2 = f32x4.splat(0), k = 0;
        for (; k + 8 <= K; k += 8) {
          const o = <usize>k << 2;
          acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(col + o)));
          acc2 = f32x4.add(acc2, f32x4.mul(v128.load(a + o, 16), v128.load(col + o, 16)));
        }
        const v = f32x4.add(acc, acc2);
        s = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
        for (; k < K; k++) s += load<f32>(a + (<usize>k << 2)) * load<f32>(col + (<usize>k << 2));
      } else {
        for (let k = 0; k < K; k++) s += load<f32>(a + <usize>k * ska) * load<f32>(col + <usize>k * skb);
      }
      store<f32>(c + (<usize>j << 2), s);
    }
  }
}

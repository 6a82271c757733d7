// Batched matmul C[b] = A[b] · B[b] (Goto/BLIS): both operands are first packed into panels (which
// also absorbs any strides, transposes and the batch broadcast), then each work item computes an
// MC × NC block of C, looping KC-deep slices so that the B panel (KC × 8) stays in L1 and the A
// block (MC × KC) in L2. Every exported job takes (start, end, tid, ...) and handles items
// [start, end): the thread pool hands out item ranges.

import { packPanel4, packPanel8, tileCols } from './tile';

const KC = 256;

/**
 * Packs both operands in one job. Items [0, nA): A's (batch, 4-row panel), landing at
 * pa + item·K·16; items [nA, end): B's (batch, 8-column panel) at pb + (item - nA)·K·32. Strides in
 * elements (batch, row, column); a broadcast operand is packed once (the caller passes nA for one
 * batch).
 */
export function packAB(start: i32, end: i32, _tid: i32, a: usize, sab: i32, sai: i32, sak: i32, M: i32, K: i32, pa: usize, nA: i32,
  b: usize, sbb: i32, sbk: i32, sbj: i32, N: i32, pb: usize): void {
  const panelsA = (M + 3) >> 2, panelsB = (N + 7) >> 3;
  for (let item = start; item < end; item++) {
    if (item < nA) {
      const bi = item / panelsA, p = item % panelsA;
      packPanel4(a + (<usize>bi * <usize>sab << 2), <usize>sai << 2, <usize>sak << 2, M, K, p << 2, pa + <usize>item * <usize>K * 16);
    } else {
      const it = item - nA, bi = it / panelsB, p = it % panelsB;
      packPanel8(b + (<usize>bi * <usize>sbb << 2), <usize>sbk << 2, <usize>sbj << 2, K, N, p << 3, pb + <usize>it * <usize>K * 32);
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
 * much as the product). Items are (batch, 8-column group) of C; B's element (k, j) at b + k·sk + j·sj
 * (elements), batch strides sab / sbb. Row-major B streams rows; column-major B (a transposed
 * weight) takes dot products.
 */
export function gemv(start: i32, end: i32, _tid: i32, a0: usize, sab: i32, sa: i32, b0: usize, sbb: i32, sk: i32, sj: i32,
  K: i32, N: i32, c0: usize): void {
  const ska = <usize>sa << 2, skb = <usize>sk << 2, sjb = <usize>sj << 2;
  const groups = (N + 7) >> 3;
  for (let item = start; item < end; item++) {
    const bi = item / groups, g = item % groups;
    const a = a0 + (<usize>bi * <usize>sab << 2), b = b0 + (<usize>bi * <usize>sbb << 2), c = c0 + (<usize>bi * <usize>N << 2);
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

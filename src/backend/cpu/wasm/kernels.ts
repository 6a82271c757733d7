// The cpu backend's kernels on WebAssembly SIMD: argument checks and work splitting in TypeScript,
// arithmetic in the module (assembly/). Each function takes the backend's WasmRuntime first; the
// ones that may decline a layout (unary, binary) return false and the TypeScript kernel runs instead.

import { isContiguous, type TensorInfo } from '../../backend.js';
import type { AdamWParams, AttentionParams } from '../../registry.js';
import { planStrided } from '../../strided.js';
import * as N from './native_nn.js';
import { ptr, type WasmRuntime } from './runtime.js';

const up = (x: number, m: number) => Math.ceil(x / m) * m;
const numel = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

/** a [B,M,K] @ c [B,K,N] → out [B,M,N]; any strides, batch stride 0 = broadcast. */
/** Up to this many rows, matmul streams B unpacked (gemmSmallM); measured against packing in bench/sections/cpu.ts. */
const SMALL_M = 32;
/** The native kernels take products whose K and N are both at least this. */
const NATIVE_MIN = 64;
/** gemmSmallM's work item for a row-major B, in 16-column strips, and its per-thread scratch: 8 panels of 384 rows × 16 columns (assembly/matmul.ts). */
const STRIPS_PER_ITEM = 4;
const STRIP_PANEL_BYTES = STRIPS_PER_ITEM * 384 * 64;

/**
 * With a bias [N] (contiguous), only the native kernels fuse it: returns false when they did not
 * take the product (nothing written then), so the caller adds it after an unfused product.
 */
export function matmul(r: WasmRuntime, a: TensorInfo, c: TensorInfo, out: TensorInfo, bias: TensorInfo | null = null): boolean {
  const [B, M, K] = a.shape as [number, number, number];
  const N = c.shape[2]!;
  if (B === 0 || M === 0 || N === 0) return true;
  const O = ptr(out);
  if (K === 0 && bias === null) { new Float32Array(r.backend.heap.buffer, O, B * M * N).fill(0); return true; }
  const [sab, sai, sak] = a.strides as [number, number, number];
  const [sbb, sbk, sbj] = c.strides as [number, number, number];
  const us = (2 * B * M * N * K) / 40e3; // ~40 GFLOP/s on one thread
  // Natively where the addon loaded (AVX-512 / AVX2 + FMA), on this runtime's threads; it declines
  // many tiny batched products. Small products stay here: there a hand-off costs more than it saves.
  const nat = K >= NATIVE_MIN && N >= NATIVE_MIN ? r.native : null;
  const plan = nat?.matmulPlan(r.heapF32(), ptr(a), B > 1 ? sab : 0, sai, sak, ptr(c), B > 1 ? sbb : 0, sbk, sbj, O, B, M, K, N, bias ? ptr(bias) : -1);
  if (plan) {
    const [id, packItems, phase, items] = plan;
    if (packItems > 0) r.run('native', packItems, (packItems * K * 32) / 1e3, [id, 0]);
    // ~160 GFLOP/s on one thread. Blocks of C (phase 1) are handed out one at a time; the streamed
    // rows' many narrow column blocks (phase 2) in a few chunks per thread.
    r.run('native', items, us / 4, [id, phase], phase === 1 ? 1 : 0);
    return true;
  }
  if (bias !== null) return false;
  if (M === 1) { // matvec: packing B would cost as much as the product
    // B is read fastest as one sequential stream per thread (see gemv). A column-major B splits
    // between threads into contiguous blocks of columns; a row-major B into blocks of rows, each
    // thread summing its block into a partial row, the partials added after (gemvSplitK).
    const parts = us * 2 >= 20 ? Math.min(r.threads, Math.floor(K / 64)) : 1;
    if (sbj === 1 && B === 1 && parts > 1) {
      const P = r.alloc(parts * N * 4);
      try {
        r.run('gemvSplitK', parts, us * 2, [ptr(a), sak, ptr(c), sbk, K, N, parts, P.ptr], 1);
        r.run('sumParts', Math.ceil(N / 256), (parts * N) / 1e3, [P.ptr, parts, N, O]);
      } finally {
        r.free(P);
      }
      return true;
    }
    r.run('gemv', B * Math.ceil(N / 8), sbj === 1 ? 0 : us * 2, [ptr(a), B > 1 ? sab : 0, sak, ptr(c), B > 1 ? sbb : 0, sbk, sbj, K, N, O]);
    return true;
  }
  // A few rows (a batch's decode step) against one B: stream B without packing it.
  if (B === 1 && M <= SMALL_M && sak === 1 && (sbj === 1 || sbk === 1)) {
    const items = sbj === 1 ? Math.ceil(N / (16 * STRIPS_PER_ITEM)) : Math.ceil(N / 16);
    const panels = r.alloc(r.threads * STRIP_PANEL_BYTES); // one strip panel per thread
    try {
      r.run('gemmSmallM', items, us, [ptr(a), sai, ptr(c), sbk, sbj, M, K, N, O, panels.ptr]);
    } finally {
      r.free(panels);
    }
    return true;
  }
  const bcA = B === 1 || sab === 0, bcB = B === 1 || sbb === 0;
  // Panels of the 2×16 micro-kernel (assembly/tile.ts): A in 2-row panels, B in 16-column panels.
  const nA = (bcA ? 1 : B) * Math.ceil(M / 2), nB = (bcB ? 1 : B) * Math.ceil(N / 16);
  const pa = r.alloc(nA * K * 8), pb = r.alloc(nB * K * 64);
  try {
    r.run('packAB', nA + nB, ((nA * 4 + nB * 8) * K) / 1e3,
      [ptr(a), sab, sai, sak, M, K, pa.ptr, nA, ptr(c), sbb, sbk, sbj, N, pb.ptr]);
    // Blocks of C, MC × NC: 256 × 256 measured best (the A block, MC × 256 floats, stays in L2),
    // halved (the larger side first) until every thread has about four blocks to take.
    let MC = 256, NC = 256;
    const items = () => B * Math.ceil(M / MC) * Math.ceil(N / NC);
    while (items() < 4 * r.threads && (MC > 32 || NC > 64)) {
      if (MC >= NC && MC > 32) MC /= 2; else NC /= 2;
    }
    r.run('gemm', items(), us, [pa.ptr, pb.ptr, O, M, N, K, bcA ? 1 : 0, bcB ? 1 : 0, MC, NC, r.tiles], 1);
  } finally {
    r.free(pa); r.free(pb);
  }
  return true;
}

export function softmax(r: WasmRuntime, x: TensorInfo, rows: number, n: number, log: boolean, out: TensorInfo): void {
  if (N.softmax(r, x, rows, n, log, out)) return;
  r.run('softmax', rows, (rows * n) / 400, [ptr(x), ptr(out), n, log ? 1 : 0]);
}

export function softmaxBackward(r: WasmRuntime, y: TensorInfo, gy: TensorInfo, rows: number, n: number, log: boolean, gx: TensorInfo): void {
  if (N.softmaxBackward(r, y, gy, rows, n, log, gx)) return;
  r.run('softmaxBackward', rows, (rows * n) / 1000, [ptr(y), ptr(gy), ptr(gx), n, log ? 1 : 0]);
}

export function layerNorm(r: WasmRuntime, x: TensorInfo, weight: TensorInfo | null, bias: TensorInfo | null, rows: number, n: number,
  eps: number, out: TensorInfo, mean: TensorInfo, rstd: TensorInfo): void {
  if (N.layerNorm(r, x, weight, bias, rows, n, eps, out, mean, rstd)) return;
  r.run('layerNorm', rows, (rows * n) / 1000,
    [ptr(x), weight ? ptr(weight) : 0, bias ? ptr(bias) : 0, ptr(out), ptr(mean), ptr(rstd), n, eps]);
}

export function layerNormBackward(r: WasmRuntime, x: TensorInfo, weight: TensorInfo | null, mean: TensorInfo, rstd: TensorInfo,
  gy: TensorInfo, rows: number, n: number, gx: TensorInfo, gw: TensorInfo | null, gb: TensorInfo | null): void {
  // gw and gb sum over rows. Fixed blocks of rows (not threads) each fill a float64 partial, summed
  // in block order: the same bits whatever the thread count or scheduling (resumed training runs
  // must repeat the uninterrupted one exactly).
  const blocks = Math.min(rows, 32), per = Math.ceil(rows / Math.max(blocks, 1));
  if (N.layerNormBackward(r, x, weight, mean, rstd, gy, rows, n, gx, gw, gb, per)) return;
  const part = gw || gb ? r.alloc(blocks * n * 16) : null;
  try {
    if (part) new Float64Array(r.backend.heap.buffer, part.ptr, blocks * n * 2).fill(0);
    r.run('layerNormBackward', blocks, (rows * n) / 500,
      [ptr(x), weight ? ptr(weight) : 0, ptr(mean), ptr(rstd), ptr(gy), ptr(gx), n, part ? part.ptr : 0, rows, per], 1);
    if (part) r.x.layerNormReduce(part.ptr, blocks, n, gw ? ptr(gw) : 0, gb ? ptr(gb) : 0);
  } finally {
    if (part) r.free(part);
  }
}

// Op codes of assembly/elementwise.ts, with rough costs in ns per element.
const UNARY: Record<string, [number, number]> = { gelu: [0, 2], gelu_tanh: [1, 1.5], relu: [2, 0.3], neg: [3, 0.3], square: [4, 0.3] };
const BINARY: Record<string, [number, number]> = {
  add: [0, 0.4], sub: [1, 0.4], mul: [2, 0.4], div: [3, 0.5], gelu_grad: [4, 3], gelu_tanh_grad: [5, 2], relu_grad: [6, 0.4],
};
const CHUNK = 16384;

export function unary(r: WasmRuntime, op: string, x: TensorInfo, out: TensorInfo): boolean {
  const spec = UNARY[op];
  if (!spec || x.dtype !== 'float32' || out.dtype !== 'float32' || !isContiguous(x) || !isContiguous(out)) return false;
  if (N.gelu(r, op, x, out)) return true;
  const n = numel(out);
  r.run('unary', n, (n * spec[1]) / 1e3, [spec[0], ptr(x), ptr(out)], CHUNK);
  return true;
}

/** Layouts that collapse to rows with unit or zero inner strides (contiguous, bias rows, scalars). */
export function binary(r: WasmRuntime, op: string, a: TensorInfo, c: TensorInfo, out: TensorInfo): boolean {
  const spec = BINARY[op];
  if (!spec || a.dtype !== 'float32' || c.dtype !== 'float32' || out.dtype !== 'float32') return false;
  if (N.geluGrad(r, op, a, c, out)) return true;
  const plan = planStrided(out.shape, [a.strides, c.strides, out.strides]);
  const nd = plan.dims.length;
  const [sa, sc, so] = plan.strides as [number[], number[], number[]];
  const ak = sa[nd - 1]!, ck = sc[nd - 1]!;
  if (nd > 2 || so[nd - 1] !== 1 || ak > 1 || ck > 1 || (ak === 0 && ck === 0)) return false;
  const total = numel(out);
  let rows: number, n: number, ars: number, crs: number;
  if (nd === 1) { // one long run: cut into rows for the threads
    n = CHUNK; rows = Math.ceil(total / n); ars = ak * n; crs = ck * n;
  } else {
    rows = plan.dims[0]!; n = plan.dims[1]!; ars = sa[0]!; crs = sc[0]!;
    if (so[0] !== n) return false;
  }
  r.run('binary', rows, (total * spec[1]) / 1e3, [spec[0], ptr(a), ars, ak, ptr(c), crs, ck, ptr(out), n, total]);
  return true;
}

/** a ∘ scalar (or scalar ∘ a) for the arithmetic ops on contiguous float32. */
export function binaryScalar(r: WasmRuntime, op: string, a: TensorInfo, scalar: number, scalarFirst: boolean, out: TensorInfo): boolean {
  const spec = BINARY[op];
  if (!spec || spec[0] > 3 || a.dtype !== 'float32' || out.dtype !== 'float32' || !isContiguous(a) || !isContiguous(out)) return false;
  const total = numel(out), n = CHUNK, rows = Math.ceil(total / n);
  new Float32Array(r.backend.heap.buffer, r.scalar, 1)[0] = scalar;
  const args = scalarFirst ? [r.scalar, 0, 0, ptr(a), n, 1] : [ptr(a), n, 1, r.scalar, 0, 0];
  r.run('binary', rows, (total * spec[1]) / 1e3, [spec[0], ...args, ptr(out), n, total]);
  return true;
}

export function adamw(r: WasmRuntime, param: TensorInfo, grad: TensorInfo, m: TensorInfo, v: TensorInfo, p: AdamWParams): void {
  if (N.adamw(r, param, grad, m, v, p)) return;
  const n = numel(param);
  // Constants in float64 first, as the TypeScript kernel and torch (whose scalars are doubles) do.
  r.run('adamw', n, n / 500, [ptr(param), ptr(grad), ptr(m), ptr(v), p.beta1, 1 - p.beta1, p.beta2, 1 - p.beta2,
    1 - p.lr * p.weightDecay, p.lr / p.bc1, Math.sqrt(p.bc2), p.eps], CHUNK);
}

/** Queries per block of the attention kernels: 32 rows of scores (≤ 128 KiB at S = 1024) stay in L2. */
const BQ = 32;

function maskArgs(mask: TensorInfo | null): [number, number, number, number] | null {
  if (mask === null) return [0, 0, 0, 0];
  if (mask.shape[3]! > 1 && mask.strides[3] !== 1) return null;
  return [ptr(mask), mask.strides[0]!, mask.strides[1]!, mask.strides[2]!];
}

/**
 * The attention kernels' layout descriptor (assembly/attention.ts): per 4-D [B1, heads, rows, cols]
 * view, its address and strides along B1, heads and rows. null where a view's last dim is strided.
 */
function layoutDesc(r: WasmRuntime, views: readonly TensorInfo[]): number | null {
  if (views.some((t) => t.shape[3]! > 1 && t.strides[3] !== 1)) return null;
  const d = new Int32Array(r.backend.heap.buffer, r.desc, views.length * 4);
  views.forEach((t, i) => { d[4 * i] = ptr(t); d[4 * i + 1] = t.strides[0]!; d[4 * i + 2] = t.strides[1]!; d[4 * i + 3] = t.strides[2]!; });
  return r.desc;
}

export function attention(r: WasmRuntime, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
  out: TensorInfo, lse: TensorInfo): boolean {
  const [B1, H, L, E] = q.shape as [number, number, number, number];
  const BH = B1 * H, S = k.shape[2]!, Ev = v.shape[3]!;
  const m = maskArgs(mask);
  if (m === null) return false;
  const desc = layoutDesc(r, [q, k, v, out]);
  if (desc === null) return false;
  if (N.attention(r, desc, m, H, BH, L, S, E, Ev, p, lse, false)) return true;
  if (L === 1) { // a decode step: K and V read in place (packing them costs more than one query's product)
    const rowStride = up(up(S, 16) * 4, 64);
    const rows = r.alloc(rowStride * r.threads);
    try {
      r.run('attnDecode', BH, (BH * S * (E + Ev)) / 2.5e3, [desc, ...m, H, L, S, E, Ev, p.causal ? 1 : 0, p.scale, ptr(lse), rows.ptr, rowStride], 1);
    } finally {
      r.free(rows);
    }
    return true;
  }
  const Sp = up(S, 16), bq = Math.min(BQ, up(L, 2));
  const stride = up((Sp * E + up(Ev, 16) * S + bq * Sp + bq + 4 + 32) * 4, 64);
  const scratch = r.alloc(stride * r.threads);
  try {
    const us = (4 * BH * L * S * Math.max(E, Ev)) / (p.causal ? 2 : 1) / 30e3;
    // A thread takes a head's query blocks together: it packs that head's K and V once.
    const nqb = Math.ceil(L / bq);
    r.run('attnForward', BH * nqb, us, [desc, ...m, H, L, S, E, Ev, p.causal ? 1 : 0, p.scale,
      ptr(lse), scratch.ptr, stride, bq], nqb);
  } finally {
    r.free(scratch);
  }
  return true;
}

export function attentionBackward(r: WasmRuntime, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
  out: TensorInfo, lse: TensorInfo, gout: TensorInfo, gq: TensorInfo, gk: TensorInfo, gv: TensorInfo): boolean {
  const [B1, H, L, E] = q.shape as [number, number, number, number];
  const BH = B1 * H, S = k.shape[2]!, Ev = v.shape[3]!;
  const m = maskArgs(mask);
  if (m === null) return false;
  const desc = layoutDesc(r, [q, k, v, out, gout, gq, gk, gv]);
  if (desc === null) return false;
  if (N.attention(r, desc, m, H, BH, L, S, E, Ev, p, lse, true)) return true;
  const Sp = up(S, 16), Ep = up(E, 16), Evp = up(Ev, 16), bq = Math.min(BQ, up(L, 2));
  const stride = up((Sp * E + Sp * Ev + Ep * S + 2 * bq * Sp + Ep * bq + Evp * bq + 32) * 4, 64);
  const scratch = r.alloc(stride * r.threads);
  try {
    const us = (10 * BH * L * S * Math.max(E, Ev)) / (p.causal ? 2 : 1) / 30e3;
    r.run('attnBackward', BH, us, [desc, ...m, H, L, S, E, Ev, p.causal ? 1 : 0, p.scale,
      ptr(lse), scratch.ptr, stride, bq], 1);
  } finally {
    r.free(scratch);
  }
  return true;
}

/** Strided copy of 4-byte elements (float32, int32) merged into at most four dims; false otherwise. */
export function copy(r: WasmRuntime, src: TensorInfo, dst: TensorInfo): boolean {
  if (src.dtype !== dst.dtype || src.dtype === 'bool') return false;
  const plan = planStrided(dst.shape, [src.strides, dst.strides]);
  const nd = plan.dims.length;
  if (nd > 4) return false;
  const total = numel(dst);
  if (total === 0) return true;
  const [ss, ds] = plan.strides as [number[], number[]];
  if (nd === 1 && ss[0] === 1 && ds[0] === 1) { // one run: the engine's memmove
    const s = ptr(src), heap = new Uint8Array(r.backend.heap.buffer);
    heap.copyWithin(ptr(dst), s, s + total * 4);
    return true;
  }
  const pad = (a: number[], fill: number) => [...new Array<number>(4 - nd).fill(fill), ...a];
  const [, d1, d2, n] = pad(plan.dims, 1) as [number, number, number, number];
  const s = pad(ss, 0), t = pad(ds, 0);
  r.run('copyRows', total / n, total / 2e3, [ptr(src), ptr(dst), d1, d2, n, ...s, ...t]);
  return true;
}

/** Rows of one long sum per block (fixed, so the bits never depend on the thread count). */
const SUM_BLOCK = 16384;

/** Sums over the middle dim of contiguous float32 [outer, r, inner]; false for the other ops. */
export function reduce(r: WasmRuntime, op: string, x: TensorInfo, outer: number, rr: number, inner: number, out: TensorInfo): boolean {
  if (op !== 'sum' || x.dtype !== 'float32' || out.dtype !== 'float32') return false;
  const total = outer * rr * inner, us = total / 2e3;
  if (outer * inner === 0) return true;
  if (inner > 1) { r.run('sumMiddle', outer * Math.ceil(inner / 8), us, [ptr(x), rr, inner, ptr(out)]); return true; }
  if (outer > 1 || rr < 2 * SUM_BLOCK) { r.run('sumLast', outer, us, [ptr(x), rr, ptr(out), 0]); return true; }
  // One long row: float64 partial sums of fixed blocks, added here in block order.
  const full = Math.floor(rr / SUM_BLOCK), tail = rr - full * SUM_BLOCK, parts = full + (tail > 0 ? 1 : 0);
  const part = r.alloc(parts * 8);
  try {
    r.run('sumLast', full, us, [ptr(x), SUM_BLOCK, part.ptr, 1]);
    if (tail > 0) r.x.sumLast(0, 1, 0, ptr(x) + full * SUM_BLOCK * 4, tail, part.ptr + full * 8, 1);
    const p = new Float64Array(r.backend.heap.buffer, part.ptr, parts);
    let s = 0;
    for (let i = 0; i < parts; i++) s += p[i]!;
    new Float32Array(r.backend.heap.buffer, ptr(out), 1)[0] = s;
  } finally {
    r.free(part);
  }
  return true;
}

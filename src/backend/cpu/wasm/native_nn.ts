// The native versions (native/nn.c, native/attention.c) of the row, elementwise, AdamW and attention
// kernels, taken where the addon loaded (r.native) and measured faster than the WebAssembly kernel
// for the case; each returns false to leave the call to the WebAssembly kernel. A plan is made on
// the calling thread, then its items run on the cpu backend's threads (job 'native').

import { isContiguous, type TensorInfo } from '../../backend.js';
import type { AdamWParams, AttentionParams } from '../../registry.js';
import type { NativeKernels } from '../native.js';
import { ptr, type WasmRuntime } from './runtime.js';

/** The plan functions of native/nn.c and native/attention.c: byte offsets (-1: absent); a plan's address, or null to decline. */
export interface NativeNnKernels {
  softmaxPlan(heap: Float32Array, x: number, out: number, n: number, log: number): number | null;
  softmaxBackwardPlan(heap: Float32Array, y: number, gy: number, gx: number, n: number, log: number): number | null;
  layerNormPlan(heap: Float32Array, x: number, w: number, b: number, out: number, mean: number, rstd: number, n: number, eps: number): number | null;
  layerNormBackwardPlan(heap: Float32Array, x: number, w: number, mean: number, rstd: number, gy: number, gx: number, gw: number, gb: number,
    rows: number, n: number, per: number): number | null;
  geluPlan(heap: Float32Array, x: number, out: number, op: number): number | null;
  geluGradPlan(heap: Float32Array, x: number, g: number, out: number, op: number): number | null;
  adamwPlan(heap: Float32Array, p: number, g: number, m: number, v: number, beta1: number, omb1: number, beta2: number, omb2: number,
    decay: number, step: number, sbc2: number, eps: number): number | null;
  /** tensors 4: the forward (phase 0); 8: the backward (phase 1). desc: as the WebAssembly attention kernels'. */
  attentionPlan(heap: Float32Array, desc: number, mask: number, m0: number, m1: number, m2: number, heads: number, L: number, S: number,
    E: number, Ev: number, causal: number, scale: number, lse: number, bq: number, tensors: number): number | null;
}

const nat = (r: WasmRuntime) => r.native as (NativeKernels & NativeNnKernels) | null;
const numel = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);
const opt = (t: TensorInfo | null) => (t ? ptr(t) : -1);
/** Elements per work item of the elementwise kernels (as the WebAssembly ones). */
const CHUNK = 16384;
/**
 * Below this many elements the WebAssembly kernels stay: measured, their call costs less than a
 * native plan and run, and the work saved is smaller than the difference.
 */
export const MIN_ELEMENTS = 1024;

export function softmax(r: WasmRuntime, x: TensorInfo, rows: number, n: number, log: boolean, out: TensorInfo): boolean {
  if (rows * n < MIN_ELEMENTS) return false;
  const plan = nat(r)?.softmaxPlan(r.heapF32(), ptr(x), ptr(out), n, log ? 1 : 0);
  if (plan == null) return false;
  r.run('native', rows, (rows * n) / 5000, [plan, 0]);
  return true;
}

export function softmaxBackward(r: WasmRuntime, y: TensorInfo, gy: TensorInfo, rows: number, n: number, log: boolean, gx: TensorInfo): boolean {
  if (rows * n < MIN_ELEMENTS) return false;
  const plan = nat(r)?.softmaxBackwardPlan(r.heapF32(), ptr(y), ptr(gy), ptr(gx), n, log ? 1 : 0);
  if (plan == null) return false;
  r.run('native', rows, (rows * n) / 6000, [plan, 0]);
  return true;
}

export function layerNorm(r: WasmRuntime, x: TensorInfo, w: TensorInfo | null, b: TensorInfo | null, rows: number, n: number, eps: number,
  out: TensorInfo, mean: TensorInfo, rstd: TensorInfo): boolean {
  if (rows * n < MIN_ELEMENTS) return false;
  const plan = nat(r)?.layerNormPlan(r.heapF32(), ptr(x), opt(w), opt(b), ptr(out), ptr(mean), ptr(rstd), n, eps);
  if (plan == null) return false;
  r.run('native', rows, (rows * n) / 8000, [plan, 0]);
  return true;
}

/**
 * gw and gb sum over rows in fixed blocks of `per` rows (each a float64 partial), then over the
 * blocks in order: the same bits whatever the thread count (as the WebAssembly kernel).
 */
export function layerNormBackward(r: WasmRuntime, x: TensorInfo, w: TensorInfo | null, mean: TensorInfo, rstd: TensorInfo, gy: TensorInfo,
  rows: number, n: number, gx: TensorInfo, gw: TensorInfo | null, gb: TensorInfo | null, per: number): boolean {
  if (rows * n < MIN_ELEMENTS) return false;
  const plan = nat(r)?.layerNormBackwardPlan(r.heapF32(), ptr(x), opt(w), ptr(mean), ptr(rstd), ptr(gy), ptr(gx), opt(gw), opt(gb), rows, n, per);
  if (plan == null) return false;
  const blocks = Math.ceil(rows / per);
  r.run('native', blocks, (rows * n) / 4500, [plan, 0], 1);
  if (gw || gb) r.run('native', Math.ceil(n / 256), (blocks * n) / 1e3, [plan, 1]);
  return true;
}

const GELU: Record<string, number> = { gelu: 0, gelu_tanh: 1, gelu_grad: 4, gelu_tanh_grad: 5 };

/** GELU (erf or tanh form) of contiguous float32 x. */
export function gelu(r: WasmRuntime, op: string, x: TensorInfo, out: TensorInfo): boolean {
  const code = GELU[op];
  if (code === undefined || code > 1 || x.dtype !== 'float32' || numel(out) < MIN_ELEMENTS || !isContiguous(x) || !isContiguous(out)) return false;
  const plan = nat(r)?.geluPlan(r.heapF32(), ptr(x), ptr(out), code);
  if (plan == null) return false;
  const n = numel(out);
  r.run('native', n, n / (code === 0 ? 2200 : 4000), [plan, 0], CHUNK);
  return true;
}

/** GELU's gradient g · gelu'(x), x and g contiguous of the same shape. */
export function geluGrad(r: WasmRuntime, op: string, x: TensorInfo, g: TensorInfo, out: TensorInfo): boolean {
  const code = GELU[op];
  if (code === undefined || code < 4 || x.dtype !== 'float32' || g.dtype !== 'float32' || numel(out) < MIN_ELEMENTS
    || numel(x) !== numel(out) || numel(g) !== numel(out)
    || !isContiguous(x) || !isContiguous(g) || !isContiguous(out)) return false;
  const plan = nat(r)?.geluGradPlan(r.heapF32(), ptr(x), ptr(g), ptr(out), code);
  if (plan == null) return false;
  const n = numel(out);
  r.run('native', n, n / (code === 4 ? 1500 : 3000), [plan, 0], CHUNK);
  return true;
}

export function adamw(r: WasmRuntime, param: TensorInfo, grad: TensorInfo, m: TensorInfo, v: TensorInfo, p: AdamWParams): boolean {
  if (numel(param) < MIN_ELEMENTS) return false;
  // Constants in float64 first, as the TypeScript kernel and torch (whose scalars are doubles) do.
  const plan = nat(r)?.adamwPlan(r.heapF32(), ptr(param), ptr(grad), ptr(m), ptr(v), p.beta1, 1 - p.beta1, p.beta2, 1 - p.beta2,
    1 - p.lr * p.weightDecay, p.lr / p.bc1, Math.sqrt(p.bc2), p.eps);
  if (plan == null) return false;
  const n = numel(param);
  r.run('native', n, n / 6000, [plan, 0], CHUNK);
  return true;
}

/** Queries per block: the forward's work item (a head's blocks run together), the backward's unit of P and dS. */
const BQ = 32;

/**
 * The forward (gradients false) or backward of attention, given the WebAssembly kernels' layout
 * descriptor (q, k, v, out, then gout, gq, gk, gv) and mask arguments (mask 0: none).
 */
export function attention(r: WasmRuntime, desc: number, mask: readonly number[], H: number, BH: number, L: number, S: number, E: number,
  Ev: number, p: AttentionParams, lse: TensorInfo, gradients: boolean): boolean {
  const [m, m0, m1, m2] = mask as [number, number, number, number];
  const plan = nat(r)?.attentionPlan(r.heapF32(), desc, m === 0 ? -1 : m, m0, m1, m2, H, L, S, E, Ev, p.causal ? 1 : 0, p.scale, ptr(lse), BQ,
    gradients ? 8 : 4);
  if (plan == null) return false;
  const flops = (4 * BH * L * S * Math.max(E, Ev)) / (p.causal ? 2 : 1);
  if (gradients) r.run('native', BH, (2.5 * flops) / 85e3, [plan, 1], 1);
  else {
    const nqb = Math.ceil(L / BQ);
    r.run('native', BH * nqb, flops / 100e3, [plan, 0], nqb);
  }
  return true;
}

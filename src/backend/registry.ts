// Kernel registry keyed by (kernel, backend), as in tfjs-core. Ops look kernels up here; backends
// register what they implement. A missing kernel is a clear error, not a silent fallback.

import type { Backend, TensorInfo } from './backend.js';
import type { QuantLayout } from './quant_format.js';

export type UnaryOp = string;
export type BinaryOp = string;
export type ReduceOp = 'sum' | 'max' | 'min' | 'prod';

export interface AdamWParams {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** 1 - beta1^t and 1 - beta2^t, bias corrections. */
  bc1: number; bc2: number;
}

export interface AttentionParams {
  /** Query i sees keys j <= i only (torch's is_causal: the top-left triangle). */
  causal: boolean;
  scale: number;
}

/** Every kernel's signature. Inputs may be strided unless the name says otherwise; outputs are contiguous. */
export interface KernelMap {
  /** dst[...] = src[...] elementwise over equal shapes; both may be strided (dst may be a view). */
  copy(b: Backend, src: TensorInfo, dst: TensorInfo): void;
  fill(b: Backend, dst: TensorInfo, value: number): void;
  /** Converts dtype; shapes equal, src may be strided. */
  cast(b: Backend, src: TensorInfo, dst: TensorInfo): void;
  unary(b: Backend, op: UnaryOp, x: TensorInfo, out: TensorInfo): void;
  /** a and c already broadcast to out's shape (stride 0 on broadcast dims). */
  binary(b: Backend, op: BinaryOp, a: TensorInfo, c: TensorInfo, out: TensorInfo): void;
  binaryScalar(b: Backend, op: BinaryOp, a: TensorInfo, scalar: number, scalarFirst: boolean, out: TensorInfo): void;
  where(b: Backend, cond: TensorInfo, a: TensorInfo, c: TensorInfo, out: TensorInfo): void;
  /** x contiguous, viewed as [outer, r, inner]; reduces the middle dim into out [outer, inner]. */
  reduce(b: Backend, op: ReduceOp, x: TensorInfo, outer: number, r: number, inner: number, out: TensorInfo): void;
  argReduce(b: Backend, op: 'argmax' | 'argmin', x: TensorInfo, outer: number, r: number, inner: number, out: TensorInfo): void;
  /** a [B,M,K], c [B,K,N] (any strides, batch stride 0 = broadcast); out [B,M,N] contiguous. */
  matmul(b: Backend, a: TensorInfo, c: TensorInfo, out: TensorInfo): void;
  /** matmul plus bias [N] (contiguous) on every row, fused where the backend can (ops fall back to matmul + add without it). */
  matmulBias(b: Backend, a: TensorInfo, c: TensorInfo, bias: TensorInfo, out: TensorInfo): void;
  /** Row-wise over contiguous [rows, n]. */
  softmax(b: Backend, x: TensorInfo, rows: number, n: number, log: boolean, out: TensorInfo): void;
  softmaxBackward(b: Backend, y: TensorInfo, gy: TensorInfo, rows: number, n: number, log: boolean, gx: TensorInfo): void;
  layerNorm(b: Backend, x: TensorInfo, weight: TensorInfo | null, bias: TensorInfo | null, rows: number, n: number,
    eps: number, out: TensorInfo, mean: TensorInfo, rstd: TensorInfo): void;
  layerNormBackward(b: Backend, x: TensorInfo, weight: TensorInfo | null, mean: TensorInfo, rstd: TensorInfo, gy: TensorInfo,
    rows: number, n: number, gx: TensorInfo, gw: TensorInfo | null, gb: TensorInfo | null): void;
  /** RMSNorm over the last dim of contiguous [rows, n] (inference: no backward kernel). */
  rmsNorm(b: Backend, x: TensorInfo, weight: TensorInfo | null, rows: number, n: number, eps: number, out: TensorInfo): void;
  /** Rotary embedding (rotate-half) of x [B, H, T, D] by cos, sin [B|1, 1, T, D] (any strides); out contiguous (inference). */
  rotary(b: Backend, x: TensorInfo, cos: TensorInfo, sin: TensorInfo, out: TensorInfo): void;
  /** src contiguous [outer, n, inner], idx int32 [m]; out [outer, m, inner]. */
  indexSelect(b: Backend, src: TensorInfo, outer: number, n: number, inner: number, idx: TensorInfo, out: TensorInfo): void;
  /** dst[outer, idx[j], inner] += src[outer, j, inner]; dst contiguous, accumulates in place. */
  indexAdd(b: Backend, dst: TensorInfo, outer: number, n: number, inner: number, idx: TensorInfo, src: TensorInfo): void;
  /** torch.gather along dim of contiguous x with contiguous int32 index; out has index's shape. */
  gather(b: Backend, x: TensorInfo, dim: number, index: TensorInfo, out: TensorInfo): void;
  /** dst.scatter_add_(dim, index, src); dst contiguous, in place. */
  scatterAdd(b: Backend, dst: TensorInfo, dim: number, index: TensorInfo, src: TensorInfo): void;
  /** In-place AdamW step on contiguous float32 param, grad, m, v of equal size. */
  adamw(b: Backend, param: TensorInfo, grad: TensorInfo, m: TensorInfo, v: TensorInfo, p: AdamWParams): void;
  /**
   * Fused softmax(q·kᵀ·scale + mask)·v per head. q [B1, H, L, E], k [B1, H, S, E], v [B1, H, S, Ev]
   * are views with unit stride along the last dim (any other strides, 0 = broadcast; the heads of a
   * packed projection are read in place). mask null or an additive float32 [B1, H, L, S]
   * view (any strides, 0 = broadcast; -inf hides a key). out [B1, H, L, Ev], written, any layout
   * with unit last stride and no zero stride; lse [B1·H, L] contiguous gets each row's logsumexp of
   * the scaled, masked scores (what the backward needs). A row with every key hidden gives NaN, as
   * torch's softmax does.
   */
  attention(b: Backend, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
    out: TensorInfo, lse: TensorInfo): void;
  /** Gradients of attention given out, lse and gout [B1, H, L, Ev] (layouts as attention's): gq, gk, gv, written. */
  attentionBackward(b: Backend, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
    out: TensorInfo, lse: TensorInfo, gout: TensorInfo, gq: TensorInfo, gk: TensorInfo, gv: TensorInfo): void;
  /**
   * out [M, N] = x [M, K] · Wᵀ (+ bias [N]) with W held quantized (quant_format.ts: qweight int32,
   * scales float32), computed on the quantized values (inference). All contiguous; M = x.numel / K.
   */
  quantMatmul(b: Backend, x: TensorInfo, qweight: TensorInfo, scales: TensorInfo, bias: TensorInfo | null, layout: QuantLayout, out: TensorInfo): void;
  /**
   * Inverted-dropout mask into contiguous float32 out: element i is 0 with probability p, else
   * 1/(1-p), decided by a counter-based generator (random_hash.ts) keyed by (key0, key1) at counter i,
   * so every backend draws the same mask for the same keys.
   */
  dropoutMask(b: Backend, out: TensorInfo, p: number, key0: number, key1: number): void;
}

export type KernelName = keyof KernelMap;
type KernelFn<K extends KernelName> = KernelMap[K];

const kernels = new Map<string, unknown>();

export function registerKernel<K extends KernelName>(name: K, backend: string, fn: KernelFn<K>): void {
  kernels.set(`${name}/${backend}`, fn);
}

export function getKernel<K extends KernelName>(name: K, backend: string): KernelFn<K> {
  const fn = kernels.get(`${name}/${backend}`);
  if (fn === undefined) throw new Error(`kernel '${name}' is not implemented on backend '${backend}'`);
  return fn as KernelFn<K>;
}

export function hasKernel(name: KernelName, backend: string): boolean {
  return kernels.has(`${name}/${backend}`);
}

export function registeredKernels(backend: string): string[] {
  const out: string[] = [];
  for (const key of kernels.keys()) {
    const [name, b] = key.split('/');
    if (b === backend) out.push(name!);
  }
  return out.sort();
}

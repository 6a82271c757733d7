// Reductions (sum, mean, var, max, min, argmax, argmin, logsumexp) and softmax / logSoftmax.

import { hasKernel, type ReduceOp } from '../../backend/registry.js';
import { record } from '../autograd.js';
import { fmtShape, normDim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { empty, kernel, requireFloat } from './core.js';
import { contiguous, expand, permute, reshape, to } from './view.js';

type Dims = number | readonly number[] | null | undefined;

function normDims(op: string, x: Tensor, dim: Dims): number[] {
  if (dim === null || dim === undefined) return x.shape.map((_, i) => i);
  const list = typeof dim === 'number' ? [dim] : [...dim];
  const out = [...new Set(list.map((d) => normDim(op, d, x.ndim)))].sort((a, b) => a - b);
  return out;
}

/** Moves the reduced dims last and views x as [outer, r, inner] for the kernel. */
function layout(x: Tensor, dims: number[]): { src: Tensor; outer: number; r: number; inner: number } {
  const nd = x.ndim;
  let r = 1;
  for (const d of dims) r *= x.shape[d]!;
  // A single block of adjacent dims needs no permute: [outer, r, inner] straight from a contiguous x.
  const adjacent = dims.every((d, i) => i === 0 || d === dims[i - 1]! + 1);
  if (adjacent) {
    const first = dims[0] ?? nd, last = dims[dims.length - 1] ?? nd - 1;
    let outer = 1, inner = 1;
    for (let i = 0; i < first; i++) outer *= x.shape[i]!;
    for (let i = last + 1; i < nd; i++) inner *= x.shape[i]!;
    return { src: contiguous(x), outer, r, inner };
  }
  const keep = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const p = contiguous(permute(x, [...keep, ...dims]));
  return { src: p, outer: p.numel / Math.max(r, 1), r, inner: 1 };
}

function outShape(x: Tensor, dims: number[], keepdim: boolean): number[] {
  const shape: number[] = [];
  x.shape.forEach((d, i) => {
    if (!dims.includes(i)) shape.push(d);
    else if (keepdim) shape.push(1);
  });
  return shape;
}

function rawReduce(op: ReduceOp, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  const b = x.storage.backend;
  const { src, outer, r, inner } = layout(x, dims);
  if (r === 0 && (op === 'max' || op === 'min')) throw new Error(`${op}: cannot reduce over a dimension of size 0 in ${fmtShape(x.shape)}`);
  const out = empty(outShape(x, dims, keepdim), x.dtype === 'bool' ? 'int32' : x.dtype, b);
  const input = x.dtype === 'bool' ? to(src, 'int32') : src;
  kernel('reduce', b)(b, op, input, outer, r, inner, out);
  if (src !== x) src.dispose();
  if (input !== src) input.dispose();
  return out;
}

/** g reshaped to broadcast against the input of a reduction over dims. */
function expandBack(g: Tensor, inShape: readonly number[], dims: number[], keepdim: boolean): Tensor {
  if (!keepdim) {
    const shape = inShape.map((d, i) => (dims.includes(i) ? 1 : d));
    g = reshape(g, shape);
  }
  return expand(g, inShape);
}

export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = normDims('sum', x, dim);
  const out = rawReduce('sum', x, dims, keepdim);
  const inShape = x.shape;
  return record(out, 'Sum', [x], (g) => [expandBack(g, inShape, dims, keepdim).contiguous()]);
}

export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  requireFloat('mean', x);
  const dims = normDims('mean', x, dim);
  let n = 1;
  for (const d of dims) n *= x.shape[d]!;
  const s = rawReduce('sum', x, dims, keepdim);
  const out = empty(s.shape, 'float32', s.storage.backend);
  kernel('binaryScalar', s.storage.backend)(s.storage.backend, 'mul', s, 1 / n, false, out);
  s.dispose();
  const inShape = x.shape;
  return record(out, 'Mean', [x], (g) => [expandBack(g.div(n), inShape, dims, keepdim).contiguous()]);
}

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(x: Tensor, dim?: Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor {
  const dims = normDims('var', x, dim);
  const keepdim = opts?.keepdim ?? false;
  let n = 1;
  for (const d of dims) n *= x.shape[d]!;
  const mu = mean(x, dims, true);
  const d = x.sub(mu);
  const out = d.square().sum(dims, keepdim).div(Math.max(n - (opts?.correction ?? 1), 0));
  return out;
}

function extremum(op: 'max' | 'min', x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  const dims = normDims(op, x, dim);
  const out = rawReduce(op, x, dims, keepdim);
  const inShape = x.shape;
  return record(out, op === 'max' ? 'Max' : 'Min', [x], (g) => {
    // The gradient flows to every position equal to the extremum, split evenly among ties.
    const o = expandBack(out, inShape, dims, keepdim);
    const hit = x.eq(o).float();
    const count = hit.sum(dims, true);
    return [expandBack(g, inShape, dims, keepdim).mul(hit).div(count)];
  });
}

export const max = (x: Tensor, dim?: number | null, keepdim = false) => extremum('max', x, dim, keepdim);
export const min = (x: Tensor, dim?: number | null, keepdim = false) => extremum('min', x, dim, keepdim);

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  const b = x.storage.backend;
  const flat = dim === null || dim === undefined;
  const dims = flat ? x.shape.map((_, i) => i) : [normDim(op, dim, x.ndim)];
  const { src, outer, r, inner } = layout(flat ? reshape(x, [x.numel]) : x, flat ? [0] : dims);
  if (r === 0) throw new Error(`${op}: cannot reduce over an empty dimension in ${fmtShape(x.shape)}`);
  const shape = flat ? (keepdim ? x.shape.map(() => 1) : []) : outShape(x, dims, keepdim);
  const input = src.dtype === 'float32' ? src : to(src, 'float32');
  const out = empty(shape, 'int32', b);
  kernel('argReduce', b)(b, op, input, outer, r, inner, out);
  if (input !== src) input.dispose();
  return out;
}

export const argmax = (x: Tensor, dim?: number | null, keepdim = false) => argExtremum('argmax', x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number | null, keepdim = false) => argExtremum('argmin', x, dim, keepdim);

export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  const dims = normDims('logsumexp', x, dim);
  // Subtract the (detached) max for stability; the gradient of the max cancels out.
  const m = rawReduce('max', x, dims, true);
  const mSafe = m.maskedFill(m.abs().eq(Infinity), 0);
  const s = x.sub(mSafe).exp().sum(dims, true).log().add(mSafe);
  m.dispose();
  return keepdim ? s : reshape(s, outShape(x, dims, false));
}

function softmaxImpl(x: Tensor, dim: number, log: boolean): Tensor {
  requireFloat(log ? 'logSoftmax' : 'softmax', x);
  if (x.ndim === 0) return softmaxImpl(reshape(x, [1]), 0, log).reshape([]);
  const d = normDim(log ? 'logSoftmax' : 'softmax', dim, x.ndim);
  const b = x.storage.backend;
  if (!hasKernel('softmax', b.name) || !hasKernel('softmaxBackward', b.name)) return softmaxComposite(x, d, log);
  const last = d === x.ndim - 1;
  // The kernel works on contiguous rows; another dim is moved last and back (views, recorded).
  const src = contiguous(last ? x : x.transpose(d, -1));
  const n = src.shape[src.ndim - 1]!;
  const rows = n === 0 ? 0 : src.numel / n;
  const y = empty(src.shape, 'float32', b);
  kernel('softmax', b)(b, src, rows, n, log, y);
  record(y, log ? 'LogSoftmax' : 'Softmax', [src], (g) => {
    const gc = contiguous(g);
    const gx = empty(y.shape, 'float32', b);
    kernel('softmaxBackward', b)(b, y, gc, rows, n, log, gx);
    return [gx];
  });
  return last ? y : y.transpose(d, -1);
}

/**
 * softmax / logSoftmax from elementwise ops and reductions, for a backend without the fused kernels
 * (autograd derives the gradient): x - logsumexp(x), exponentiated for softmax. A row of -inf gives
 * NaN, as the kernels do.
 */
export function softmaxComposite(x: Tensor, dim: number, log: boolean): Tensor {
  const ls = x.sub(logsumexp(x, dim, true));
  return log ? ls : ls.exp();
}

export const softmax = (x: Tensor, dim: number) => softmaxImpl(x, dim, false);
export const logSoftmax = (x: Tensor, dim: number) => softmaxImpl(x, dim, true);

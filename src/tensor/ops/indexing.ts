// Joining and indexing: cat, stack, indexSelect, gather, scatterAdd; reading values out.

import { record } from '../autograd.js';
import { noGrad, tidy } from '../engine.js';
import { promote, type DType, type TypedArray } from '../dtype.js';
import { fmtShape, normDim } from '../shape.js';
import type { NestedArray, Tensor } from '../tensor.js';
import { deviceOf, empty, kernel } from './core.js';
import { zeros } from './creation.js';
import { clone, contiguous, narrow, reshape, split, to, unsqueeze } from './view.js';

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected a non-empty list of tensors');
  const first = tensors[0]!;
  const scalar = tensors.findIndex((t) => t.ndim === 0);
  if (scalar >= 0) throw new Error(`cat: zero-dimensional tensor (at position ${scalar}) cannot be concatenated; use stack`);
  const d = normDim('cat', dim, first.ndim);
  const b = deviceOf('cat', ...tensors);
  let dtype: DType = first.dtype;
  for (const t of tensors) {
    dtype = promote(dtype, t.dtype);
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new Error(`cat: shapes ${tensors.map((x) => fmtShape(x.shape)).join(', ')} differ outside dim ${dim}`);
    }
  }
  const sizes = tensors.map((t) => t.shape[d]!);
  const shape = first.shape.slice();
  shape[d] = sizes.reduce((a, s) => a + s, 0);
  const out = empty(shape, dtype, b);
  let start = 0;
  for (const t of tensors) {
    const dst = narrow(out, d, start, t.shape[d]!);
    const src = t.dtype === dtype ? t : to(t, dtype);
    kernel('copy', b)(b, src, dst);
    dst.dispose();
    if (src !== t) src.dispose();
    start += t.shape[d]!;
  }
  return record(out, 'Cat', tensors, (g) => split(g, sizes, d).map((p) => clone(p)));
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected a non-empty list of tensors');
  const d = normDim('stack', dim, tensors[0]!.ndim + 1);
  for (const t of tensors) {
    if (fmtShape(t.shape) !== fmtShape(tensors[0]!.shape)) {
      throw new Error(`stack: all tensors must have the same shape, got ${tensors.map((x) => fmtShape(x.shape)).join(', ')}`);
    }
  }
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

function checkIndexTensor(op: string, index: Tensor): Tensor {
  if (index.dtype !== 'int32') throw new Error(`${op}: index must be int32, got ${index.dtype}`);
  return contiguous(index);
}

/** Rows of x along dim picked by a 1-D (or any-shape, flattened) int32 index. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim('indexSelect', dim, x.ndim);
  const idx = checkIndexTensor('indexSelect', index);
  const b = deviceOf('indexSelect', x, idx);
  const src = noGrad(() => contiguous(x));
  const n = x.shape[d]!;
  const outer = x.shape.slice(0, d).reduce((a, s) => a * s, 1);
  const inner = x.shape.slice(d + 1).reduce((a, s) => a * s, 1);
  const m = idx.numel;
  const shape = x.shape.slice(); shape[d] = m;
  const out = empty(shape, x.dtype, b);
  kernel('indexSelect', b)(b, src, outer, n, inner, idx, out);
  if (src !== x) src.dispose();
  const inShape = x.shape;
  record(out, 'IndexSelect', [x], (g) => {
    const gx = zeros(inShape, { device: b.name });
    kernel('indexAdd', b)(b, gx, outer, n, inner, idx, contiguous(g));
    return [gx];
  }, [idx]);
  if (idx !== index) idx.dispose(); // the graph, if any, holds it
  return out;
}

/** torch.gather: out[i][j] = x[i][index[i][j]] for dim 1, and likewise for any dim. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim('gather', dim, x.ndim);
  const idx = checkIndexTensor('gather', index);
  if (idx.ndim !== x.ndim || idx.shape.some((s, i) => i !== d && s > x.shape[i]!)) {
    throw new Error(`gather: index ${fmtShape(index.shape)} does not fit input ${fmtShape(x.shape)} along dim ${dim}`);
  }
  const b = deviceOf('gather', x, idx);
  const src = noGrad(() => contiguous(x));
  const out = empty(idx.shape, x.dtype, b);
  kernel('gather', b)(b, src, d, idx, out);
  if (src !== x) src.dispose();
  const inShape = x.shape;
  record(out, 'Gather', [x], (g) => {
    const gx = zeros(inShape, { device: b.name });
    kernel('scatterAdd', b)(b, gx, d, idx, contiguous(g));
    return [gx];
  }, [idx]);
  if (idx !== index) idx.dispose(); // the graph, if any, holds it
  return out;
}

/** Out-of-place torch.scatter_add: x with src added at index along dim. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normDim('scatterAdd', dim, x.ndim);
  const idx = checkIndexTensor('scatterAdd', index);
  const b = deviceOf('scatterAdd', x, idx, src);
  // torch's rule: index fits inside src everywhere and inside x off dim; only src's leading
  // index-shaped block is read (the kernel walks src with index's flat positions, so narrow it first).
  if (idx.ndim !== x.ndim || src.ndim !== x.ndim || idx.shape.some((s, i) => s > src.shape[i]! || (i !== d && s > x.shape[i]!))) {
    throw new Error(`scatterAdd: index ${fmtShape(index.shape)} does not fit src ${fmtShape(src.shape)} and input ${fmtShape(x.shape)} along dim ${dim}`);
  }
  const fits = idx.shape.every((s, i) => s === src.shape[i]);
  const block = (t: Tensor) => (fits ? t : idx.shape.reduce((v, s, i) => narrow(v, i, 0, s), t));
  // The copy and src's block are the kernel's: no graph of their own, and the block freed at once.
  const out = noGrad(() => clone(x));
  noGrad(() => tidy(() => kernel('scatterAdd', b)(b, out, d, idx, contiguous(block(src)))));
  record(out, 'ScatterAdd', [x, src], (g) => {
    if (fits) return [g, gather(g, d, idx)];
    const gs = zeros(src.shape, { device: b.name });
    block(gs).copy_(gather(g, d, idx));
    return [g, gs];
  }, [idx]);
  if (idx !== index) idx.dispose(); // the graph, if any, holds it
  return out;
}

// ---- reading values ----

export async function readData(x: Tensor): Promise<TypedArray> {
  const c = contiguous(x);
  const all = await c.storage.backend.download(c.storage);
  if (c !== x) c.dispose();
  return c.offset === 0 && all.length === x.numel ? all : all.slice(c.offset, c.offset + x.numel);
}

export function readDataSync(x: Tensor): TypedArray {
  const b = x.storage.backend;
  if (b.downloadSync === undefined) throw new Error(`dataSync: not available on backend '${b.name}'; use await t.data()`);
  const c = contiguous(x);
  const all = b.downloadSync(c.storage);
  if (c !== x) c.dispose();
  return c.offset === 0 && all.length === x.numel ? all : all.slice(c.offset, c.offset + x.numel);
}

export function toNested(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const conv = (v: number): number | boolean => (dtype === 'bool' ? v !== 0 : v);
  if (shape.length === 0) return conv(data[0]!);
  const build = (dim: number, offset: number): NestedArray => {
    const n = shape[dim]!;
    let stride = 1;
    for (let i = dim + 1; i < shape.length; i++) stride *= shape[i]!;
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) out.push(dim === shape.length - 1 ? conv(data[offset + i]!) : build(dim + 1, offset + i * stride));
    return out;
  };
  return build(0, 0);
}

export { reshape };

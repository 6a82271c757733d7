// Ops that reinterpret a storage without copying (views) and the copies that materialise them.

import { record } from '../autograd.js';
import { assertDType, type DType } from '../dtype.js';
import { contiguousStrides, fmtShape, normDim, numel, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { isContiguous } from '../../backend/backend.js';
import { backendNamed, empty, kernel, viewOf } from './core.js';

export function contiguous(x: Tensor): Tensor {
  if (isContiguous(x)) return x;
  return clone(x);
}

export function clone(x: Tensor): Tensor {
  const b = x.storage.backend;
  const out = empty(x.shape, x.dtype, b);
  kernel('copy', b)(b, x, out);
  return record(out, 'Clone', [x], (g) => [g]);
}

export function detach(x: Tensor): Tensor {
  return viewOf(x, x.shape, x.strides, x.offset);
}

/** dtype conversion or a move to another backend (by name). */
export function to(x: Tensor, targetName: DType | string): Tensor {
  if (targetName === 'float32' || targetName === 'int32' || targetName === 'bool') {
    const dtype = assertDType(targetName);
    if (dtype === x.dtype) return x;
    const b = x.storage.backend;
    const out = empty(x.shape, dtype, b);
    kernel('cast', b)(b, x, out);
    return out;
  }
  const dest = backendNamed(targetName);
  if (dest === x.storage.backend) return x;
  const src = x.storage.backend;
  if (src.downloadSync === undefined) throw new Error(`to('${targetName}'): read from ${src.name} with await t.data() and build the tensor on ${targetName}`);
  const c = contiguous(x);
  const out = empty(x.shape, x.dtype, dest);
  const all = src.downloadSync(c.storage);
  dest.upload(out.storage, all.subarray(c.offset, c.offset + x.numel));
  if (c !== x) c.dispose();
  return record(out, 'To', [x], (g) => [to(g, src.name)]);
}

function inferShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const out = shape.slice();
  const free = out.indexOf(-1);
  if (free !== out.lastIndexOf(-1)) throw new Error(`${op}: only one dimension can be -1, got ${fmtShape(shape)}`);
  if (free >= 0) {
    const known = out.reduce((a, d, i) => (i === free ? a : a * d), 1);
    if (known === 0 || x.numel % known !== 0) throw new Error(`${op}: shape ${fmtShape(shape)} is invalid for input of size ${x.numel}`);
    out[free] = x.numel / known;
  }
  if (numel(out) !== x.numel || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${op}: shape ${fmtShape(shape)} is invalid for input of size ${x.numel} ${fmtShape(x.shape)}`);
  }
  return out;
}

/** Strides for viewing x as newShape without a copy, or null when its layout does not allow it (torch's computeStride). */
function viewStrides(x: Tensor, newShape: readonly number[]): number[] | null {
  if (isContiguous(x)) return contiguousStrides(newShape);
  const oldShape = x.shape, oldStrides = x.strides;
  const newStrides = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1] ?? 1;
  let tensorNumel = 1, viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d]!;
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) { chunkBaseStride = oldStrides[d - 1]!; tensorNumel = 1; viewNumel = 1; }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('view', x, shape);
  const strides = viewStrides(x, target);
  if (strides === null) {
    throw new Error(`view: shape ${fmtShape(target)} is not compatible with input ${fmtShape(x.shape)} strides ${fmtShape(x.strides)}; use reshape()`);
  }
  const inShape = x.shape;
  return record(viewOf(x, target, strides, x.offset), 'View', [x], (g) => [reshape(g, inShape)]);
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('reshape', x, shape);
  if (shapesEqual(target, x.shape)) return x;
  const strides = viewStrides(x, target);
  if (strides !== null) return view(x, target);
  const c = clone(x);
  return view(c, target);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', startDim, x.ndim), e = normDim('flatten', endDim, x.ndim);
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) throw new Error(`permute: got ${dims.length} dims ${fmtShape(dims)} for a tensor with ${x.ndim} dims`);
  const norm = dims.map((d) => normDim('permute', d, x.ndim));
  if (new Set(norm).size !== norm.length) throw new Error(`permute: repeated dim in ${fmtShape(dims)}`);
  const inverse = new Array<number>(norm.length);
  norm.forEach((d, i) => { inverse[d] = i; });
  const out = viewOf(x, norm.map((d) => x.shape[d]!), norm.map((d) => x.strides[d]!), x.offset);
  return record(out, 'Permute', [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  if (x.ndim < 2 && d0 === 0 && d1 === 0) return x;
  const a = normDim('transpose', d0, x.ndim), b = normDim('transpose', d1, x.ndim);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b; dims[b] = a;
  return permute(x, dims);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) throw new Error(`expand: target ${fmtShape(shape)} has fewer dims than input ${fmtShape(x.shape)}`);
  const lead = shape.length - x.ndim;
  const outShape: number[] = [], strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i]!;
    if (i < lead) {
      if (want < 0) throw new Error(`expand: -1 is not allowed for new leading dims in ${fmtShape(shape)}`);
      outShape.push(want); strides.push(0);
      continue;
    }
    const have = x.shape[i - lead]!;
    const size = want === -1 ? have : want;
    if (have !== size && have !== 1) throw new Error(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)} (dim ${i}: ${have} vs ${size})`);
    outShape.push(size);
    strides.push(have === size ? x.strides[i - lead]! : 0);
  }
  if (shapesEqual(outShape, x.shape)) return x;
  const inShape = x.shape;
  return record(viewOf(x, outShape, strides, x.offset), 'Expand', [x], (g) => [sumTo(g, inShape)]);
}

/** Sums a broadcast gradient back down to `shape` (the inverse of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  let s = dims.length ? g.sum(dims, true) : g;
  if (lead > 0 || !shapesEqual(s.shape, shape)) s = reshape(s, shape);
  return s;
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim('narrow', dim, x.ndim);
  const size = x.shape[d]!;
  if (start < 0) start += size;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new Error(`narrow: range [${start}, ${start + length}) is out of bounds for dim ${dim} of ${fmtShape(x.shape)}`);
  }
  return slice(x, d, start, start + length, 1);
}

/** x[..., start:end:step, ...] along dim, with Python's clamping of out-of-range bounds. */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normDim('slice', dim, x.ndim);
  const size = x.shape[d]!;
  if (step <= 0 || !Number.isInteger(step)) throw new Error(`slice: step must be a positive integer, got ${step}`);
  // A fractional bound would become a fractional storage offset (reads of undefined → NaN).
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new Error(`slice: bounds must be integers, got start ${start}, end ${end} for dim ${dim} of ${fmtShape(x.shape)}`);
  }
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clampIdx(start), e = Math.max(s, clampIdx(end ?? size));
  const len = Math.ceil((e - s) / step);
  const shape = x.shape.slice(); shape[d] = len;
  const strides = x.strides.slice(); strides[d] = x.strides[d]! * step;
  const inShape = x.shape;
  const out = viewOf(x, shape, strides, x.offset + s * x.strides[d]!);
  record(out, 'Slice', [x], (g) => {
    const gx = empty(inShape, g.dtype, g.storage.backend);
    kernel('fill', g.storage.backend)(g.storage.backend, gx, 0);
    const dst = slice(gx, d, s, e, step);
    kernel('copy', g.storage.backend)(g.storage.backend, g, dst);
    dst.dispose();
    return [gx];
  });
  if (out.gradFn !== null) out.gradFn.slice = { dim: d, start: s, end: e, step };
  return out;
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim('select', dim, x.ndim);
  const size = x.shape[d]!;
  const i = index < 0 ? index + size : index;
  if (i < 0 || i >= size) throw new Error(`select: index ${index} is out of range for dim ${dim} of size ${size}`);
  const n = narrow(x, d, i, 1);
  return squeeze(n, d);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  let keep: number[];
  if (dim === undefined) keep = x.shape.map((_, i) => i).filter((i) => x.shape[i] !== 1);
  else {
    const d = normDim('squeeze', dim, x.ndim);
    keep = x.shape.map((_, i) => i).filter((i) => i !== d || x.shape[i] !== 1);
  }
  if (keep.length === x.ndim) return x;
  const inShape = x.shape;
  const out = viewOf(x, keep.map((i) => x.shape[i]!), keep.map((i) => x.strides[i]!), x.offset);
  return record(out, 'Squeeze', [x], (g) => [reshape(g, inShape)]);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  const shape = x.shape.slice(), strides = x.strides.slice();
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d]! * x.shape[d]! : 1);
  const inShape = x.shape;
  return record(viewOf(x, shape, strides, x.offset), 'Unsqueeze', [x], (g) => [reshape(g, inShape)]);
}

export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim('split', dim, x.ndim);
  const size = x.shape[d]!;
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (sizeOrSections <= 0) throw new Error(`split: split size must be positive, got ${sizeOrSections}`);
    sizes = [];
    for (let s = 0; s < size; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, size - s));
  } else {
    sizes = [...sizeOrSections];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== size) throw new Error(`split: sections ${fmtShape(sizes)} sum to ${total}, but dim ${dim} has size ${size}`);
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) { out.push(narrow(x, d, start, s)); start += s; }
  return out;
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const d = normDim('chunk', dim, x.ndim);
  if (!Number.isInteger(chunks) || chunks <= 0) throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  return split(x, Math.max(1, Math.ceil(x.shape[d]! / chunks)), d);
}

/** In-place copy of src (broadcast to x's shape) into x's elements; no autograd. */
export function copyInto(x: Tensor, src: Tensor): void {
  const b = x.storage.backend;
  const s = src.storage.backend === b ? src : to(src, b.name);
  let e = expand(s, x.shape);
  if (e.dtype !== x.dtype) e = to(e, x.dtype);
  kernel('copy', b)(b, e, x);
}

export function fillInto(x: Tensor, value: number): void {
  kernel('fill', x.storage.backend)(x.storage.backend, x, value);
}

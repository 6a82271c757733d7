// Creating tensors: from JS data, constants, ranges and random draws.

import { assertDType, type DType, type TypedArray, arrayType } from '../dtype.js';
import { backend as currentBackend } from '../engine.js';
import { defaultGenerator, type Generator } from '../random.js';
import { checkShape, fmtShape, numel } from '../shape.js';
import type { NestedArray, Tensor } from '../tensor.js';
import { backendNamed, empty, kernel } from './core.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  device?: string;
  /** For flat typed arrays or number arrays: the shape to give them. */
  shape?: readonly number[];
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

function target(opts: TensorOptions | undefined) {
  return opts?.device ? backendNamed(opts.device) : currentBackend();
}

function finish(t: Tensor, opts: TensorOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferShape(data: NestedArray, shape: number[] = []): number[] {
  if (Array.isArray(data)) {
    shape.push(data.length);
    if (data.length > 0) inferShape(data[0]!, shape);
  }
  return shape;
}

function flatten(data: NestedArray, shape: readonly number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new Error(`tensor: ragged nested array (expected a number at depth ${depth})`);
    out.push(typeof data === 'boolean' ? (data ? 1 : 0) : data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${Array.isArray(data) ? data.length : 'a scalar'}`);
  }
  for (const v of data) flatten(v, shape, depth + 1, out);
}

function firstLeaf(data: NestedArray): NestedArray {
  while (Array.isArray(data) && data.length > 0) data = data[0]!;
  return data;
}

/**
 * A tensor from nested arrays, a flat typed array (with opts.shape), or a number.
 * The dtype follows the data: Int32Array → int32, Uint8Array → bool, booleans → bool, otherwise float32.
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], opts?: TensorOptions): Tensor {
  let shape: number[];
  let flat: ArrayLike<number>;
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    dtype = opts?.dtype ?? (data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'bool' : 'float32');
    shape = opts?.shape ? checkShape('tensor', opts.shape) : [data.length];
    flat = data;
  } else {
    const nested = data as NestedArray;
    shape = inferShape(nested);
    const values: number[] = [];
    flatten(nested, shape, 0, values);
    dtype = opts?.dtype ?? (typeof firstLeaf(nested) === 'boolean' ? 'bool' : 'float32');
    if (opts?.shape) shape = checkShape('tensor', opts.shape);
    flat = values;
  }
  assertDType(dtype);
  if (numel(shape) !== flat.length) {
    throw new Error(`tensor: ${flat.length} values do not fill shape ${fmtShape(shape)} (${numel(shape)} elements)`);
  }
  const b = target(opts);
  const t = empty(shape, dtype, b);
  const Ctor = arrayType(dtype);
  // bool stores 0/1: any nonzero (0.5, NaN, 2) is true, as torch's .bool(); Uint8Array.from would truncate 0.5 to 0.
  const typed = dtype === 'bool' ? Uint8Array.from(flat as ArrayLike<number>, (v) => (v !== 0 ? 1 : 0))
    : flat instanceof Ctor ? flat as TypedArray : Ctor.from(flat as ArrayLike<number>);
  b.upload(t.storage, typed);
  return finish(t, opts);
}

/**
 * Writes a flat row-major typed array into t in place (t's dtype; bool as 0/1). When t owns its
 * whole storage, the values go straight into it; only a view of a larger storage takes a temporary
 * copy. Loading weights this way holds one copy of a model, not two.
 */
export function writeData_(t: Tensor, data: TypedArray): Tensor {
  if (data.length !== t.numel) throw new Error(`writeData_: ${data.length} values do not fill shape ${fmtShape(t.shape)} (${t.numel} elements)`);
  const b = t.storage.backend;
  const Ctor = arrayType(t.dtype);
  if (t.offset === 0 && t.storage.size === t.numel && t.isContiguous()) {
    const typed = t.dtype === 'bool' ? Uint8Array.from(data as ArrayLike<number>, (v) => (v !== 0 ? 1 : 0))
      : data instanceof Ctor ? data : Ctor.from(data as ArrayLike<number>);
    b.upload(t.storage, typed);
    return t;
  }
  const src = tensor(data, { shape: t.shape, dtype: t.dtype, device: b.name });
  t.copy_(src);
  src.dispose();
  return t;
}

export function full(shape: readonly number[], value: number, opts?: TensorOptions): Tensor {
  const t = empty(checkShape('full', shape), opts?.dtype ?? 'float32', target(opts));
  kernel('fill', t.storage.backend)(t.storage.backend, t, value);
  return finish(t, opts);
}

export const zeros = (shape: readonly number[], opts?: TensorOptions): Tensor => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts?: TensorOptions): Tensor => full(shape, 1, opts);
export const scalarTensor = (value: number, opts?: TensorOptions): Tensor => full([], value, opts);

const likeOpts = (t: Tensor, opts?: TensorOptions): TensorOptions => ({ dtype: t.dtype, device: t.device, ...opts });
export const zerosLike = (t: Tensor, opts?: TensorOptions): Tensor => full(t.shape, 0, likeOpts(t, opts));
export const onesLike = (t: Tensor, opts?: TensorOptions): Tensor => full(t.shape, 1, likeOpts(t, opts));
export const fullLike = (t: Tensor, value: number, opts?: TensorOptions): Tensor => full(t.shape, value, likeOpts(t, opts));

/** arange(end) or arange(start, end, step); int32 when all arguments are integers, as in torch. */
export function arange(start: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0) throw new Error('arange: step must be nonzero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts?.dtype ?? (Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step) ? 'int32' : 'float32');
  const values = new (arrayType(dtype))(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return tensor(values, { ...opts, dtype, shape: [n] });
}

export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  const values = new Float32Array(steps);
  for (let i = 0; i < steps; i++) values[i] = steps === 1 ? start : start + (end - start) * i / (steps - 1);
  return tensor(values, { ...opts, shape: [steps] });
}

export function eye(n: number, m = n, opts?: TensorOptions): Tensor {
  const dtype = opts?.dtype ?? 'float32';
  const values = new (arrayType(dtype))(n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return tensor(values, { ...opts, dtype, shape: [n, m] });
}

function randomTensor(op: string, shape: readonly number[], opts: RandomOptions | undefined, draw: (g: Generator) => number): Tensor {
  checkShape(op, shape);
  const g = opts?.generator ?? defaultGenerator;
  const dtype = opts?.dtype ?? 'float32';
  const values = new (arrayType(dtype))(numel(shape));
  for (let i = 0; i < values.length; i++) values[i] = draw(g);
  return tensor(values, { ...opts, dtype, shape });
}

function floatRandom(op: string, shape: readonly number[], opts: RandomOptions | undefined, fill: (g: Generator, out: Float32Array) => void): Tensor {
  checkShape(op, shape);
  if (opts?.dtype && opts.dtype !== 'float32') throw new Error(`${op}: dtype must be float32, got ${opts.dtype}`);
  const values = new Float32Array(numel(shape));
  fill(opts?.generator ?? defaultGenerator, values);
  return tensor(values, { ...opts, dtype: 'float32', shape });
}

export const rand = (shape: readonly number[], opts?: RandomOptions): Tensor => floatRandom('rand', shape, opts, (g, out) => g.fillUniform(out));
export const randn = (shape: readonly number[], opts?: RandomOptions): Tensor => floatRandom('randn', shape, opts, (g, out) => g.fillNormal(out));
export function randint(low: number, high: number, shape: readonly number[], opts?: RandomOptions): Tensor {
  return randomTensor('randint', shape, { dtype: 'int32', ...opts }, (g) => g.int(low, high));
}

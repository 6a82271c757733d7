// Elementwise ops: broadcasting, dtype promotion, and each op's gradient (the forward expressions
// live in backend/elementwise.ts).

import { BINARY, UNARY } from '../../backend/elementwise.js';
import { record } from '../autograd.js';
import { noGrad, tidy } from '../engine.js';
import { promote, type DType } from '../dtype.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { deviceOf, empty, kernel } from './core.js';
import { full } from './creation.js';
import { expand, sumTo, to } from './view.js';

// ---- unary ----

type UnaryGrad = (x: Tensor, y: Tensor, g: Tensor) => Tensor;

function unaryOp(op: string, x: Tensor, grad: UnaryGrad | null, name = op): Tensor {
  const spec = UNARY[op]!;
  const b = x.storage.backend;
  // Integer inputs of float functions (exp of an int tensor) compute in float32, as torch does.
  const floatOnly = !spec.bool && !['neg', 'abs', 'square', 'relu', 'sign'].includes(op);
  const input = floatOnly && x.dtype !== 'float32' ? to(x, 'float32') : x;
  const outDtype: DType = spec.bool ? 'bool' : input.dtype;
  const out = empty(x.shape, outDtype, b);
  kernel('unary', b)(b, op, input, out);
  if (grad === null || spec.bool) return out;
  return record(out, name, [x], (g) => [grad(x, out, g)]);
}

export const neg = (x: Tensor) => unaryOp('neg', x, (_x, _y, g) => g.neg(), 'Neg');
export const abs = (x: Tensor) => unaryOp('abs', x, (x, _y, g) => g.mul(x.sign()), 'Abs');
export const sign = (x: Tensor) => unaryOp('sign', x, null);
export const exp = (x: Tensor) => unaryOp('exp', x, (_x, y, g) => g.mul(y), 'Exp');
export const log = (x: Tensor) => unaryOp('log', x, (x, _y, g) => g.div(x), 'Log');
export const sqrt = (x: Tensor) => unaryOp('sqrt', x, (_x, y, g) => g.div(y.mul(2)), 'Sqrt');
export const rsqrt = (x: Tensor) => unaryOp('rsqrt', x, (_x, y, g) => g.mul(y.pow(3)).mul(-0.5), 'Rsqrt');
export const square = (x: Tensor) => unaryOp('square', x, (x, _y, g) => g.mul(x).mul(2), 'Square');
export const reciprocal = (x: Tensor) => unaryOp('reciprocal', x, (_x, y, g) => g.mul(y.square()).neg(), 'Reciprocal');
export const sin = (x: Tensor) => unaryOp('sin', x, (x, _y, g) => g.mul(x.cos()), 'Sin');
export const cos = (x: Tensor) => unaryOp('cos', x, (x, _y, g) => g.mul(x.sin()).neg(), 'Cos');
export const tanh = (x: Tensor) => unaryOp('tanh', x, (_x, y, g) => fusedGrad('tanh_grad', y, g), 'Tanh');
export const sigmoid = (x: Tensor) => unaryOp('sigmoid', x, (_x, y, g) => fusedGrad('sigmoid_grad', y, g), 'Sigmoid');
export const relu = (x: Tensor) => unaryOp('relu', x, (_x, y, g) => fusedGrad('relu_grad', y, g), 'Relu');
export const logicalNot = (x: Tensor) => unaryOp('logical_not', x, null);
export const isnan = (x: Tensor) => unaryOp('isnan', x, null);

/** GELU, exact (erf) by default; approximate: 'tanh' is GPT-2's gelu_new. */
export function gelu(x: Tensor, opts?: { approximate?: 'none' | 'tanh' }): Tensor {
  if (opts?.approximate === 'tanh') return unaryOp('gelu_tanh', x, (x, _y, g) => fusedGrad('gelu_tanh_grad', x, g), 'Gelu');
  return unaryOp('gelu', x, (x, _y, g) => fusedGrad('gelu_grad', x, g), 'Gelu');
}

/** A fused gradient helper from BINARY: out = f(a, g). */
function fusedGrad(op: string, a: Tensor, g: Tensor): Tensor {
  const b = deviceOf(op, a, g);
  const out = empty(a.shape, 'float32', b);
  kernel('binary', b)(b, op, a, expand(g, a.shape), out);
  return out;
}

// ---- binary ----

type BinaryGrad = (a: Tensor, b: Tensor, out: Tensor, g: Tensor) => [Tensor | null, Tensor | null];

/** Weak scalar typing: an integral number keeps an int tensor int; a fractional one promotes it to float32. */
function scalarDtype(t: Tensor, s: number): DType {
  if (t.dtype === 'float32') return 'float32';
  return Number.isInteger(s) ? 'int32' : 'float32';
}

function binaryOp(op: string, a: TensorLike, c: TensorLike, grad: BinaryGrad | null, name = op): Tensor {
  const spec = BINARY[op];
  if (spec === undefined) throw new Error(`binary op '${op}' is not defined`);
  if (typeof a === 'number' && typeof c === 'number') throw new Error(`${op}: at least one operand must be a tensor`);
  const floatOnly = op === 'div' || op === 'pow';
  if (typeof a === 'number' || typeof c === 'number') {
    const t = (typeof a === 'number' ? c : a) as Tensor;
    const s = (typeof a === 'number' ? a : c) as number;
    const scalarFirst = typeof a === 'number';
    let dtype = scalarDtype(t, s);
    if (floatOnly) dtype = 'float32';
    const input = t.dtype === dtype ? t : to(t, dtype);
    const b = t.storage.backend;
    const out = empty(t.shape, spec.bool ? 'bool' : dtype, b);
    kernel('binaryScalar', b)(b, op, input, s, scalarFirst, out);
    if (grad === null || spec.bool) return out;
    // Gradients with a scalar operand: reuse the tensor-tensor rules with a constant.
    return record(out, name, [t], (g) => {
      const k = full([], s, { device: b.name });
      const [ga, gb] = scalarFirst ? grad(k, t, out, g) : grad(t, k, out, g);
      k.dispose();
      return [scalarFirst ? gb : ga];
    });
  }
  const x = a as Tensor, y = c as Tensor;
  const b = deviceOf(op, x, y);
  let dtype = promote(x.dtype, y.dtype);
  if (floatOnly || (dtype === 'bool' && !spec.bool && !op.startsWith('logical'))) dtype = floatOnly ? 'float32' : 'int32';
  const shape = broadcastShapes(op, x.shape, y.shape);
  const xc = x.dtype === dtype ? x : to(x, dtype), yc = y.dtype === dtype ? y : to(y, dtype);
  const xe = expand(xc, shape), ye = expand(yc, shape);
  const out = empty(shape, spec.bool ? 'bool' : dtype, b);
  kernel('binary', b)(b, op, xe, ye, out);
  // The casts and broadcast views are this op's temporaries: released now, not left to a scope or GC.
  for (const t of new Set([xe, ye, xc, yc])) if (t !== x && t !== y) t.dispose();
  if (grad === null || spec.bool) return out;
  return record(out, name, [x, y], (g) => {
    const [ga, gb] = grad(x, y, out, g);
    return [ga && x.requiresGrad ? sumTo(ga, x.shape) : null, gb && y.requiresGrad ? sumTo(gb, y.shape) : null];
  });
}

export function add(a: TensorLike, b: TensorLike, alpha?: number): Tensor {
  if (alpha !== undefined && alpha !== 1) b = typeof b === 'number' ? b * alpha : mul(b, alpha);
  return binaryOp('add', a, b, (_a, _b, _o, g) => [g, g], 'Add');
}
export function sub(a: TensorLike, b: TensorLike, alpha?: number): Tensor {
  if (alpha !== undefined && alpha !== 1) b = typeof b === 'number' ? b * alpha : mul(b, alpha);
  return binaryOp('sub', a, b, (_a, b, _o, g) => [g, b.requiresGrad ? g.neg() : null], 'Sub');
}
// Only the sides that need a gradient get one: dropout's mask and a scalar factor cost nothing.
export const mul = (a: TensorLike, b: TensorLike) =>
  binaryOp('mul', a, b, (a, b, _o, g) => [a.requiresGrad ? g.mul(b) : null, b.requiresGrad ? g.mul(a) : null], 'Mul');
export const div = (a: TensorLike, b: TensorLike) =>
  binaryOp('div', a, b, (a, b, o, g) => [g.div(b), b.requiresGrad ? g.mul(o).div(b).neg() : null], 'Div');
export const pow = (a: TensorLike, b: TensorLike) => binaryOp('pow', a, b, (a, b, o, g) => [
  a.requiresGrad ? g.mul(b).mul(a.pow(sub(b, 1))) : null,
  b.requiresGrad ? g.mul(o).mul(a.log()) : null,
], 'Pow');
export const maximum = (a: TensorLike, b: TensorLike) => binaryOp('maximum', a, b, (a, b, _o, g) => {
  // Ties split the gradient evenly, as torch does.
  const gt = a.gt(b).float(), eq = a.eq(b).float().mul(0.5);
  const wa = gt.add(eq), wb = sub(1, wa);
  return [a.requiresGrad ? g.mul(wa) : null, b.requiresGrad ? g.mul(wb) : null];
}, 'Maximum');
export const minimum = (a: TensorLike, b: TensorLike) => binaryOp('minimum', a, b, (a, b, _o, g) => {
  const lt = a.lt(b).float(), eq = a.eq(b).float().mul(0.5);
  const wa = lt.add(eq), wb = sub(1, wa);
  return [a.requiresGrad ? g.mul(wa) : null, b.requiresGrad ? g.mul(wb) : null];
}, 'Minimum');

export const eq = (a: TensorLike, b: TensorLike) => binaryOp('eq', a, b, null);
export const ne = (a: TensorLike, b: TensorLike) => binaryOp('ne', a, b, null);
export const lt = (a: TensorLike, b: TensorLike) => binaryOp('lt', a, b, null);
export const le = (a: TensorLike, b: TensorLike) => binaryOp('le', a, b, null);
export const gt = (a: TensorLike, b: TensorLike) => binaryOp('gt', a, b, null);
export const ge = (a: TensorLike, b: TensorLike) => binaryOp('ge', a, b, null);
export const logicalAnd = (a: Tensor, b: Tensor) => binaryOp('logical_and', a, b, null);
export const logicalOr = (a: Tensor, b: Tensor) => binaryOp('logical_or', a, b, null);

/** clamp(x, min, max); the gradient passes where min ≤ x ≤ max, bounds included, as torch's does. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const lo = min ?? null, hi = max ?? null;
  if (lo === null && hi === null) return x;
  // maximum/minimum would split the gradient at x == bound (their tie rule); torch passes it whole.
  const out = noGrad(() => {
    const a = lo === null ? x : maximum(x, lo);
    const o = hi === null ? a : minimum(a, hi);
    if (a !== x && a !== o) a.dispose();
    return o;
  });
  return record(out, 'Clamp', [x], (g) => {
    const inLo = lo === null ? null : x.ge(lo), inHi = hi === null ? null : x.le(hi);
    const inside = inLo && inHi ? inLo.logicalAnd(inHi) : (inLo ?? inHi)!;
    return [where(inside, g, 0)];
  });
}

// ---- selection ----

/** where(cond, a, b): a where cond is true. Scalars are allowed for a and b. */
export function where(cond: Tensor, a: TensorLike, c: TensorLike): Tensor {
  const ref = (typeof a === 'number' ? c : a) as Tensor | number;
  const b = typeof ref === 'number' ? cond.storage.backend : deviceOf('where', cond, ref);
  // A number branch is typed like a scalar operand (torch's weak scalars): an integer keeps an int
  // tensor int, a fraction makes the result float32 instead of being truncated.
  const dt = (v: TensorLike): DType => (typeof v === 'number' ? (Number.isInteger(v) ? 'int32' : 'float32') : v.dtype);
  const dtype: DType = typeof a === 'number' && typeof c === 'number' ? 'float32' : promote(dt(a), dt(c));
  const condB = cond.dtype === 'bool' ? cond : to(cond, 'bool');
  // Scalar branches, casts and broadcast views are temporaries: freed here, not left to the caller's
  // scope (maskedFill runs this on every attention and loss).
  const out = noGrad(() => tidy(() => {
    const x = typeof a === 'number' ? full([], a, { dtype, device: b.name }) : a.dtype === dtype ? a : to(a, dtype);
    const y = typeof c === 'number' ? full([], c, { dtype, device: b.name }) : c.dtype === dtype ? c : to(c, dtype);
    const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, x.shape), y.shape);
    const result = empty(shape, dtype, b);
    kernel('where', b)(b, expand(condB, shape), expand(x, shape), expand(y, shape), result);
    return result;
  }));
  const inputs = [typeof a === 'number' ? null : a, typeof c === 'number' ? null : c].filter((t): t is Tensor => t !== null);
  record(out, 'Where', inputs, (g) => {
    const grads: Tensor[] = [];
    if (typeof a !== 'number') grads.push(sumTo(where(condB, g, 0), a.shape));
    if (typeof c !== 'number') grads.push(sumTo(where(condB, 0, g), c.shape));
    return grads;
  }, [condB]);
  if (condB !== cond) condB.dispose(); // the graph, if any, holds it
  return out;
}

/** x with value wherever mask is true (mask broadcasts to x). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (mask.dtype !== 'bool') throw new Error(`maskedFill: mask must be bool, got ${mask.dtype}`);
  broadcastShapes('maskedFill', x.shape, mask.shape);
  // The result keeps x's dtype, as torch's masked_fill: the value is converted, and must fit.
  if (x.dtype !== 'float32' && !Number.isFinite(value)) throw new Error(`maskedFill: value ${value} cannot be converted to ${x.dtype} (input [${x.shape.join(',')}])`);
  const v = x.dtype === 'int32' ? Math.trunc(value) : x.dtype === 'bool' ? (value !== 0 ? 1 : 0) : value;
  const out = where(mask, v, x);
  return out.dtype === x.dtype ? out : to(out, x.dtype);
}

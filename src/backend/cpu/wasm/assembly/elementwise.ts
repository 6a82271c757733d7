// Elementwise kernels on float32: unary and binary ops over contiguous rows, and the AdamW step.

import { gelu16, vgelu, vgeluGrad, vgeluTanh, vgeluTanhGrad } from './simd';

// Op codes, mirrored in ../kernels.ts.
const U_GELU = 0, U_GELU_TANH = 1, U_RELU = 2, U_NEG = 3, U_SQUARE = 4;
const B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_GELU_GRAD = 4, B_GELU_TANH_GRAD = 5, B_RELU_GRAD = 6;

// @ts-ignore: decorator
@inline function unaryV(op: i32, x: v128): v128 {
  if (op == U_GELU) return vgelu(x);
  if (op == U_GELU_TANH) return vgeluTanh(x);
  if (op == U_RELU) return f32x4.pmax(f32x4.splat(0), x); // x > 0 ? x : 0, NaN → 0 as the TS path
  if (op == U_SQUARE) return f32x4.mul(x, x);
  return f32x4.neg(x);
}

/**
 * Items are elements of contiguous x and out. Each op gets a function of its own (loops are never
 * inlined): V8 then hoists that op's constants and allocates registers for its loop alone.
 */
export function unary(start: i32, end: i32, _tid: i32, op: i32, x: usize, out: usize): void {
  if (op == U_GELU) unaryGelu(start, end, x, out);
  else if (op == U_GELU_TANH) unaryGeluTanh(start, end, x, out);
  else if (op == U_RELU) unaryRelu(start, end, x, out);
  else if (op == U_SQUARE) unarySquare(start, end, x, out);
  else unaryNeg(start, end, x, out);
}
function unaryGelu(start: i32, end: i32, x: usize, out: usize): void {
  let k = start;
  for (; k + 16 <= end; k += 16) gelu16(x + (<usize>k << 2), out + (<usize>k << 2));
  unaryLoop(U_GELU, k, end, x, out);
}
function unaryGeluTanh(start: i32, end: i32, x: usize, out: usize): void {
  let k = start;
  // Four vectors a pass: their long chains (an exp, a division) overlap in the core.
  for (; k + 16 <= end; k += 16) {
    const p = x + (<usize>k << 2), q = out + (<usize>k << 2);
    const y0 = unaryV(U_GELU_TANH, v128.load(p)), y1 = unaryV(U_GELU_TANH, v128.load(p, 16));
    const y2 = unaryV(U_GELU_TANH, v128.load(p, 32)), y3 = unaryV(U_GELU_TANH, v128.load(p, 48));
    v128.store(q, y0); v128.store(q, y1, 16); v128.store(q, y2, 32); v128.store(q, y3, 48);
  }
  unaryLoop(U_GELU_TANH, k, end, x, out);
}
function unaryRelu(start: i32, end: i32, x: usize, out: usize): void { unaryLoop(U_RELU, start, end, x, out); }
function unaryNeg(start: i32, end: i32, x: usize, out: usize): void { unaryLoop(U_NEG, start, end, x, out); }
function unarySquare(start: i32, end: i32, x: usize, out: usize): void { unaryLoop(U_SQUARE, start, end, x, out); }

// @ts-ignore: decorator
@inline function unaryLoop(op: i32, start: i32, end: i32, x: usize, out: usize): void {
  let k = start;
  for (; k + 4 <= end; k += 4) { const o = <usize>k << 2; v128.store(out + o, unaryV(op, v128.load(x + o))); }
  for (; k < end; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, f32x4.extract_lane(unaryV(op, f32x4.splat(load<f32>(x + o))), 0));
  }
}

// @ts-ignore: decorator
@inline function binaryV(op: i32, a: v128, b: v128): v128 {
  if (op == B_ADD) return f32x4.add(a, b);
  if (op == B_SUB) return f32x4.sub(a, b);
  if (op == B_MUL) return f32x4.mul(a, b);
  if (op == B_DIV) return f32x4.div(a, b);
  if (op == B_GELU_GRAD) return vgeluGrad(a, b);
  if (op == B_GELU_TANH_GRAD) return vgeluTanhGrad(a, b);
  return v128.bitselect(b, f32x4.splat(0), f32x4.gt(a, f32x4.splat(0))); // relu_grad
}

/**
 * out = op(a, c) over rows of n elements: row r of a starts at a + r·ars (elements), its elements
 * step by ak ∈ {0, 1} (0: one value broadcast along the row); the same for c. Items are rows; row r
 * holds min(n, total - r·n) elements (a long contiguous run is cut into rows for the threads).
 */
export function binary(start: i32, end: i32, _tid: i32, op: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32,
  out: usize, n: i32, total: i32): void {
  if (op == B_ADD) binaryAdd(start, end, a, ars, ak, c, crs, ck, out, n, total);
  else if (op == B_SUB) binarySub(start, end, a, ars, ak, c, crs, ck, out, n, total);
  else if (op == B_MUL) binaryMul(start, end, a, ars, ak, c, crs, ck, out, n, total);
  else if (op == B_DIV) binaryDiv(start, end, a, ars, ak, c, crs, ck, out, n, total);
  else if (op == B_GELU_GRAD) binaryGeluGrad(start, end, a, ars, ak, c, crs, ck, out, n, total);
  else if (op == B_GELU_TANH_GRAD) binaryGeluTanhGrad(start, end, a, ars, ak, c, crs, ck, out, n, total);
  else binaryReluGrad(start, end, a, ars, ak, c, crs, ck, out, n, total);
}
function binaryAdd(start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32, out: usize, n: i32, total: i32): void {
  binaryRows(B_ADD, start, end, a, ars, ak, c, crs, ck, out, n, total);
}
function binarySub(start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32, out: usize, n: i32, total: i32): void {
  binaryRows(B_SUB, start, end, a, ars, ak, c, crs, ck, out, n, total);
}
function binaryMul(start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32, out: usize, n: i32, total: i32): void {
  binaryRows(B_MUL, start, end, a, ars, ak, c, crs, ck, out, n, total);
}
function binaryDiv(start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32, out: usize, n: i32, total: i32): void {
  binaryRows(B_DIV, start, end, a, ars, ak, c, crs, ck, out, n, total);
}
function binaryGeluGrad(start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32, out: usize, n: i32, total: i32): void {
  if (ak && ck) unrolledGrad(B_GELU_GRAD, start, end, a, ars, c, crs, out, n, total);
  else binaryRows(B_GELU_GRAD, start, end, a, ars, ak, c, crs, ck, out, n, total);
}
function binaryGeluTanhGrad(start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32, out: usize, n: i32, total: i32): void {
  if (ak && ck) unrolledGrad(B_GELU_TANH_GRAD, start, end, a, ars, c, crs, out, n, total);
  else binaryRows(B_GELU_TANH_GRAD, start, end, a, ars, ak, c, crs, ck, out, n, total);
}

/** An activation's gradient over full rows of both operands: four vectors a pass (see unaryGeluTanh). */
// @ts-ignore: decorator
@inline function unrolledGrad(op: i32, start: i32, end: i32, a: usize, ars: i32, c: usize, crs: i32, out: usize, n: i32, total: i32): void {
  for (let r = start; r < end; r++) {
    const len = min(n, total - r * n);
    const ap = a + (<usize>r * <usize>ars << 2), cp = c + (<usize>r * <usize>crs << 2), op_ = out + (<usize>r * <usize>n << 2);
    let k = 0;
    for (; k + 16 <= len; k += 16) {
      const o = <usize>k << 2;
      const y0 = binaryV(op, v128.load(ap + o), v128.load(cp + o)), y1 = binaryV(op, v128.load(ap + o, 16), v128.load(cp + o, 16));
      const y2 = binaryV(op, v128.load(ap + o, 32), v128.load(cp + o, 32)), y3 = binaryV(op, v128.load(ap + o, 48), v128.load(cp + o, 48));
      v128.store(op_ + o, y0); v128.store(op_ + o, y1, 16); v128.store(op_ + o, y2, 32); v128.store(op_ + o, y3, 48);
    }
    binaryRows(op, 0, 1, ap + (<usize>k << 2), 0, 1, cp + (<usize>k << 2), 0, 1, op_ + (<usize>k << 2), len - k, len - k);
  }
}
function binaryReluGrad(start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32, out: usize, n: i32, total: i32): void {
  binaryRows(B_RELU_GRAD, start, end, a, ars, ak, c, crs, ck, out, n, total);
}

// @ts-ignore: decorator
@inline function binaryRows(op: i32, start: i32, end: i32, a: usize, ars: i32, ak: i32, c: usize, crs: i32, ck: i32,
  out: usize, n: i32, total: i32): void {
  for (let r = start; r < end; r++) {
    const len = min(n, total - r * n);
    const ap = a + (<usize>r * <usize>ars << 2), cp = c + (<usize>r * <usize>crs << 2), op_ = out + (<usize>r * <usize>n << 2);
    let k = 0;
    if (ak && ck) {
      for (; k + 4 <= len; k += 4) { const o = <usize>k << 2; v128.store(op_ + o, binaryV(op, v128.load(ap + o), v128.load(cp + o))); }
    } else if (ak) {
      const cv = v128.load32_splat(cp);
      for (; k + 4 <= len; k += 4) { const o = <usize>k << 2; v128.store(op_ + o, binaryV(op, v128.load(ap + o), cv)); }
    } else if (ck) {
      const av = v128.load32_splat(ap);
      for (; k + 4 <= len; k += 4) { const o = <usize>k << 2; v128.store(op_ + o, binaryV(op, av, v128.load(cp + o))); }
    }
    for (; k < len; k++) {
      const av = f32x4.splat(load<f32>(ap + (<usize>(k * ak) << 2))), cv = f32x4.splat(load<f32>(cp + (<usize>(k * ck) << 2)));
      store<f32>(op_ + (<usize>k << 2), f32x4.extract_lane(binaryV(op, av, cv), 0));
    }
  }
}

/**
 * In-place AdamW over elements [start, end) of contiguous p, g, m, v (decoupled weight decay, as
 * torch). The caller folds the constants in float64: omb = 1 - beta, decay = 1 - lr·wd,
 * step = lr / bc1, sbc2 = √bc2.
 */
export function adamw(start: i32, end: i32, _tid: i32, p: usize, g: usize, m: usize, v: usize,
  beta1: f32, omb1: f32, beta2: f32, omb2: f32, decay: f32, step: f32, sbc2: f32, eps: f32): void {
  const vb1 = f32x4.splat(beta1), vo1 = f32x4.splat(omb1), vb2 = f32x4.splat(beta2), vo2 = f32x4.splat(omb2);
  const vdecay = f32x4.splat(decay), vstep = f32x4.splat(step), vsb = f32x4.splat(sbc2), veps = f32x4.splat(eps);
  let k = start;
  for (; k + 4 <= end; k += 4) {
    const o = <usize>k << 2;
    const gv = v128.load(g + o);
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vo1, gv));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(f32x4.mul(vo2, gv), gv));
    v128.store(m + o, mv); v128.store(v + o, vv);
    const den = f32x4.add(f32x4.div(f32x4.sqrt(vv), vsb), veps);
    v128.store(p + o, f32x4.sub(f32x4.mul(v128.load(p + o), vdecay), f32x4.div(f32x4.mul(vstep, mv), den)));
  }
  for (; k < end; k++) {
    const o = <usize>k << 2;
    const gs = load<f32>(g + o);
    const ms = beta1 * load<f32>(m + o) + omb1 * gs;
    const vs = beta2 * load<f32>(v + o) + omb2 * gs * gs;
    store<f32>(m + o, ms); store<f32>(v + o, vs);
    store<f32>(p + o, load<f32>(p + o) * decay - step * ms / (Mathf.sqrt(vs) / sbc2 + eps));
  }
}

// Elementwise kernels in plain TypeScript. Each op's expression (backend/elementwise.ts) is compiled
// once into a row loop with new Function, so the hot loop has no call per element.

import type { Backend, TensorInfo } from '../../backend.js';
import { BINARY, UNARY, erfc, geluTanhGrad } from '../../elementwise.js';
import type { CpuStorage } from '../backend.js';
import type { TypedArray } from '../../../tensor/dtype.js';
import { forEachRow, planStrided } from '../../strided.js';

type Row = (x: TypedArray, xi: number, xs: number, o: TypedArray, oi: number, os: number, n: number) => void;
type Row2 = (a: TypedArray, ai: number, as: number, b: TypedArray, bi: number, bs: number,
             o: TypedArray, oi: number, n: number) => void;

export const arr = (t: TensorInfo): TypedArray => (t.storage as CpuStorage).array;

const unaryRows = new Map<string, Row>();
const binaryRows = new Map<string, Row2>();

// Compiled loops are cached per (op, array types): a loop that only ever sees one typed-array class
// stays monomorphic, which V8 compiles much tighter than one shared by float, int and bool arrays.
const typeKey = (...arrays: TypedArray[]) => arrays.map((a) => a.constructor.name[0]).join('');

function compileUnary(op: string, key: string): Row {
  let fn = unaryRows.get(op + key);
  if (fn !== undefined) return fn;
  const spec = UNARY[op];
  if (spec === undefined) throw new Error(`unary op '${op}' is not defined`);
  const body = `
    if (xs === 1 && os === 1) {
      for (let k = 0; k < n; k++) { const x = X[xi + k]; O[oi + k] = ${spec.js}; }
    } else {
      for (let k = 0; k < n; k++) { const x = X[xi]; O[oi] = ${spec.js}; xi += xs; oi += os; }
    }`;
  fn = new Function('erfc', 'geluTanhGrad', `return function unary_${op}(X, xi, xs, O, oi, os, n) {${body}}`)(erfc, geluTanhGrad) as Row;
  unaryRows.set(op + key, fn);
  return fn;
}

function compileBinary(op: string, key: string): Row2 {
  let fn = binaryRows.get(op + key);
  if (fn !== undefined) return fn;
  const spec = BINARY[op];
  if (spec === undefined) throw new Error(`binary op '${op}' is not defined`);
  // Separate loops for the common layouts let V8 drop the stride arithmetic.
  const body = `
    if (as === 1 && bs === 1) {
      for (let k = 0; k < n; k++) { const a = A[ai + k], b = B[bi + k]; O[oi + k] = ${spec.js}; }
    } else if (as === 1 && bs === 0) {
      const b = B[bi];
      for (let k = 0; k < n; k++) { const a = A[ai + k]; O[oi + k] = ${spec.js}; }
    } else if (as === 0 && bs === 1) {
      const a = A[ai];
      for (let k = 0; k < n; k++) { const b = B[bi + k]; O[oi + k] = ${spec.js}; }
    } else {
      for (let k = 0; k < n; k++) { const a = A[ai], b = B[bi]; O[oi + k] = ${spec.js}; ai += as; bi += bs; }
    }`;
  fn = new Function('erfc', 'geluTanhGrad', `return function binary_${op}(A, ai, as, B, bi, bs, O, oi, n) {${body}}`)(erfc, geluTanhGrad) as Row2;
  binaryRows.set(op + key, fn);
  return fn;
}

export function unary(_b: Backend, op: string, x: TensorInfo, out: TensorInfo): void {
  const X = arr(x), O = arr(out);
  const row = compileUnary(op, typeKey(X, O));
  const plan = planStrided(out.shape, [x.strides, out.strides]);
  forEachRow(plan, [x.offset, out.offset], (off, n, s) => row(X, off[0]!, s[0]!, O, off[1]!, s[1]!, n));
}

export function binary(_b: Backend, op: string, a: TensorInfo, c: TensorInfo, out: TensorInfo): void {
  const A = arr(a), B = arr(c), O = arr(out);
  const row = compileBinary(op, typeKey(A, B, O));
  const plan = planStrided(out.shape, [a.strides, c.strides, out.strides]);
  forEachRow(plan, [a.offset, c.offset, out.offset], (off, n, s) => {
    if (s[2] !== 1) throw new Error('binary: output must be contiguous');
    row(A, off[0]!, s[0]!, B, off[1]!, s[1]!, O, off[2]!, n);
  });
}

export function binaryScalar(_b: Backend, op: string, a: TensorInfo, scalar: number, scalarFirst: boolean, out: TensorInfo): void {
  const A = arr(a), O = arr(out);
  const S = a.dtype === 'float32' ? Float32Array.of(scalar) : Int32Array.of(scalar);
  const row = compileBinary(op, scalarFirst ? typeKey(S, A, O) : typeKey(A, S, O));
  const plan = planStrided(out.shape, [a.strides, out.strides]);
  forEachRow(plan, [a.offset, out.offset], (off, n, s) => {
    if (scalarFirst) row(S, 0, 0, A, off[0]!, s[0]!, O, off[1]!, n);
    else row(A, off[0]!, s[0]!, S, 0, 0, O, off[1]!, n);
  });
}

export function copy(_b: Backend, src: TensorInfo, dst: TensorInfo): void {
  const S = arr(src), D = arr(dst);
  const plan = planStrided(dst.shape, [src.strides, dst.strides]);
  const nd = plan.dims.length;
  if (nd >= 2) {
    // Copy the two innermost dims per callback: a transpose of heads ([B,T,H,Dh] → [B,H,T,Dh])
    // has rows of only Dh values, and one callback per row would cost more than the copy.
    const n1 = plan.dims[nd - 2]!, s1 = plan.strides[0]![nd - 2]!, d1 = plan.strides[1]![nd - 2]!;
    const outer = { dims: plan.dims.slice(0, nd - 1), strides: plan.strides.map((st) => st.slice(0, nd - 1)) };
    outer.dims[nd - 2] = 1;
    const n = plan.dims[nd - 1]!, ss = plan.strides[0]![nd - 1]!, ds = plan.strides[1]![nd - 1]!;
    forEachRow(outer, [src.offset, dst.offset], (off) => {
      for (let r = 0; r < n1; r++) {
        let si = off[0]! + r * s1, di = off[1]! + r * d1;
        if (ss === 1 && ds === 1) { for (let k = 0; k < n; k++) D[di + k] = S[si + k]!; continue; }
        for (let k = 0; k < n; k++) { D[di] = S[si]!; si += ss; di += ds; }
      }
    });
    return;
  }
  forEachRow(plan, [src.offset, dst.offset], (off, n, s) => {
    let si = off[0]!, di = off[1]!;
    const ss = s[0]!, ds = s[1]!;
    // Long contiguous runs: a native block copy.
    if (ss === 1 && ds === 1) { D.set(S.subarray(si, si + n), di); return; }
    for (let k = 0; k < n; k++) { D[di] = S[si]!; si += ss; di += ds; }
  });
}

export function cast(_b: Backend, src: TensorInfo, dst: TensorInfo): void {
  const S = arr(src), D = arr(dst);
  const toBool = dst.dtype === 'bool';
  const toInt = dst.dtype === 'int32';
  const plan = planStrided(dst.shape, [src.strides, dst.strides]);
  forEachRow(plan, [src.offset, dst.offset], (off, n, s) => {
    let si = off[0]!, di = off[1]!;
    const ss = s[0]!, ds = s[1]!;
    for (let k = 0; k < n; k++) {
      const v = S[si]!;
      // int32 truncates toward zero, as torch's .int(); Int32Array would wrap NaN to 0 as well.
      D[di] = toBool ? (v !== 0 ? 1 : 0) : toInt ? Math.trunc(v) : v;
      si += ss; di += ds;
    }
  });
}

export function fill(_b: Backend, dst: TensorInfo, value: number): void {
  const D = arr(dst);
  const plan = planStrided(dst.shape, [dst.strides]);
  forEachRow(plan, [dst.offset], (off, n, s) => {
    if (s[0] === 1) { D.fill(value, off[0]!, off[0]! + n); return; }
    let di = off[0]!;
    for (let k = 0; k < n; k++) { D[di] = value; di += s[0]!; }
  });
}

export function where(_b: Backend, cond: TensorInfo, a: TensorInfo, c: TensorInfo, out: TensorInfo): void {
  const C = arr(cond), A = arr(a), B = arr(c), O = arr(out);
  const plan = planStrided(out.shape, [cond.strides, a.strides, c.strides, out.strides]);
  forEachRow(plan, [cond.offset, a.offset, c.offset, out.offset], (off, n, s) => {
    let ci = off[0]!, ai = off[1]!, bi = off[2]!, oi = off[3]!;
    for (let k = 0; k < n; k++) {
      O[oi++] = C[ci] ? A[ai]! : B[bi]!;
      ci += s[0]!; ai += s[1]!; bi += s[2]!;
    }
  });
}

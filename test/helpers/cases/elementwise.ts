// Every elementwise op against a plain-JS reference, with broadcasting, scalars and dtype promotion.

import assert from 'node:assert/strict';
import * as tlm from '../../../src/index.js';
import { tensor, where, type Tensor } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { det, expectTensor, stridesOf, unravel, vals } from './util.js';

const UNARY: [string, (x: number) => number, (t: Tensor) => Tensor][] = [
  ['neg', (x) => -x, (t) => t.neg()],
  ['abs', Math.abs, (t) => t.abs()],
  ['sign', Math.sign, (t) => t.sign()],
  ['exp', Math.exp, (t) => t.exp()],
  ['square', (x) => x * x, (t) => t.square()],
  ['reciprocal', (x) => 1 / x, (t) => tlm.reciprocal(t)],
  ['sin', Math.sin, (t) => t.sin()],
  ['cos', Math.cos, (t) => t.cos()],
  ['tanh', Math.tanh, (t) => t.tanh()],
  ['sigmoid', (x) => 1 / (1 + Math.exp(-x)), (t) => t.sigmoid()],
  ['relu', (x) => Math.max(x, 0), (t) => t.relu()],
];
const POSITIVE: [string, (x: number) => number, (t: Tensor) => Tensor][] = [
  ['log', Math.log, (t) => t.log()],
  ['sqrt', Math.sqrt, (t) => t.sqrt()],
  ['rsqrt', (x) => 1 / Math.sqrt(x), (t) => t.rsqrt()],
];

type Bin = (a: number, b: number) => number;
const BINARY: [string, Bin, (a: Tensor, b: Tensor | number) => Tensor, boolean][] = [
  ['add', (a, b) => a + b, (a, b) => a.add(b), false],
  ['sub', (a, b) => a - b, (a, b) => a.sub(b), false],
  ['mul', (a, b) => a * b, (a, b) => a.mul(b), false],
  ['div', (a, b) => a / b, (a, b) => a.div(b), false],
  ['maximum', Math.max, (a, b) => a.maximum(b), false],
  ['minimum', Math.min, (a, b) => a.minimum(b), false],
  ['eq', (a, b) => +(a === b), (a, b) => a.eq(b), true],
  ['ne', (a, b) => +(a !== b), (a, b) => a.ne(b), true],
  ['lt', (a, b) => +(a < b), (a, b) => a.lt(b), true],
  ['le', (a, b) => +(a <= b), (a, b) => a.le(b), true],
  ['gt', (a, b) => +(a > b), (a, b) => a.gt(b), true],
  ['ge', (a, b) => +(a >= b), (a, b) => a.ge(b), true],
];

/** Reference broadcast of a binary function in float64. */
function refBroadcast(a: number[], as: number[], b: number[], bs: number[], f: Bin): { shape: number[]; data: number[] } {
  const n = Math.max(as.length, bs.length);
  const pa = [...Array(n - as.length).fill(1), ...as], pb = [...Array(n - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const sa = stridesOf(pa), sb = stridesOf(pb);
  const total = shape.reduce((x, y) => x * y, 1);
  const data: number[] = [];
  for (let i = 0; i < total; i++) {
    const c = unravel(i, shape);
    let ia = 0, ib = 0;
    for (let d = 0; d < n; d++) { ia += (pa[d] === 1 ? 0 : c[d]!) * sa[d]!; ib += (pb[d] === 1 ? 0 : c[d]!) * sb[d]!; }
    data.push(f(a[ia]!, b[ib]!));
  }
  return { shape, data };
}

const SHAPES: [number[], number[]][] = [[[2, 3], [2, 3]], [[2, 3], [3]], [[2, 1], [1, 3]], [[3], []], [[2, 1, 4], [3, 1]]];

export const elementwiseCases: Case[] = [
  { name: 'unary ops match Math on float32 inputs', run: async () => {
    const data = det(12, 3, 3).map((v) => (v === 0 ? 0.5 : v));
    const pos = data.map((v) => Math.abs(v) + 0.01).map(Math.fround);
    const x = tensor(data, { shape: [3, 4] }), p = tensor(pos, { shape: [3, 4] });
    const xs = (await vals(x));
    // 1e-6: GPU transcendentals are allowed a few ulps (WGSL: exp within 3 + 2|x| ulp).
    for (const [name, f, op] of UNARY) await expectTensor(op(x), [3, 4], xs.map(f), { what: name, tol: 1e-6 });
    const ps = await vals(p);
    for (const [name, f, op] of POSITIVE) await expectTensor(op(p), [3, 4], ps.map(f), { what: name, tol: 1e-6 });
    // A strided input (transposed view) goes through the same kernels.
    await expectTensor(x.transpose(0, 1).exp(), [4, 3], [0, 1, 2, 3].flatMap((j) => [0, 1, 2].map((i) => Math.exp(xs[i * 4 + j]!))), { tol: 1e-6 });
  } },
  { name: 'gelu (erf and tanh forms) at known points', run: async () => {
    const x = tensor([-3, -1, 0, 0.5, 1, 2]);
    await expectTensor(x.gelu(), [6], [-0.0040496940949, -0.15865525393, 0, 0.34573123064, 0.84134474607, 1.9544997361], { tol: 2e-6 });
    await expectTensor(x.gelu({ approximate: 'tanh' }), [6], [-0.0036373920818, -0.15880800939, 0, 0.34571400983, 0.84119199061, 1.9545976941], { tol: 2e-6 });
  } },
  { name: 'binary ops with broadcasting, both operand orders', run: async () => {
    for (const [as, bs] of SHAPES) {
      const an = as.reduce((x, y) => x * y, 1), bn = bs.reduce((x, y) => x * y, 1);
      // Small integers so that comparisons see ties and exact equality.
      const a = det(an, 5, 3).map(Math.round), b = det(bn, 9, 3).map((v) => Math.round(v) || 1);
      const A = tensor(a, { shape: as }), B = tensor(b, { shape: bs });
      for (const [name, f, op, bool] of BINARY) {
        const ref = refBroadcast(a, as, b, bs, f);
        await expectTensor(op(A, B), ref.shape, ref.data.map(Math.fround), { dtype: bool ? 'bool' : 'float32', what: `${name} ${as} ${bs}` });
        const rev = refBroadcast(b, bs, a, as, f);
        await expectTensor(op(B, A), rev.shape, rev.data.map(Math.fround), { dtype: bool ? 'bool' : 'float32', what: `${name} ${bs} ${as}` });
      }
    }
  } },
  { name: 'binary ops with a number on either side, and add/sub alpha', run: async () => {
    const x = tensor([1, -2, 3.5]);
    await expectTensor(x.add(2), [3], [3, 0, 5.5]);
    await expectTensor(tlm.add(2, x), [3], [3, 0, 5.5]);
    await expectTensor(tlm.sub(1, x), [3], [0, 3, -2.5]);
    await expectTensor(tlm.div(1, x), [3], [1, -0.5, 1 / 3.5]);
    await expectTensor(x.pow(2), [3], [1, 4, 12.25]);
    await expectTensor(tlm.pow(2, x), [3], [2, 0.25, 2 ** 3.5]);
    await expectTensor(tensor([4, 9]).pow(tensor([0.5, 2])), [2], [2, 81]);
    await expectTensor(x.add(tensor([1, 1, 1]), 3), [3], [4, 1, 6.5]);
    await expectTensor(x.sub(1, 2), [3], [-1, -4, 1.5]);
    await expectTensor(x.maximum(0), [3], [1, 0, 3.5]);
    await expectTensor(x.lt(2), [3], [1, 1, 0], { dtype: 'bool' });
  } },
  { name: 'dtype promotion: int stays int, float wins, division is true division', run: async () => {
    const i = tensor([1, 2, 3], { dtype: 'int32' });
    await expectTensor(i.add(i), [3], [2, 4, 6], { dtype: 'int32' });
    await expectTensor(i.mul(2), [3], [2, 4, 6], { dtype: 'int32' });
    await expectTensor(i.add(0.5), [3], [1.5, 2.5, 3.5], { dtype: 'float32' });
    await expectTensor(i.add(tensor([0.5, 0.5, 0.5])), [3], [1.5, 2.5, 3.5], { dtype: 'float32' });
    await expectTensor(i.div(2), [3], [0.5, 1, 1.5], { dtype: 'float32' });
    await expectTensor(i.div(i), [3], [1, 1, 1], { dtype: 'float32' });
    await expectTensor(i.exp(), [3], [Math.E, Math.E ** 2, Math.E ** 3], { dtype: 'float32', tol: 2e-7 });
    await expectTensor(i.neg(), [3], [-1, -2, -3], { dtype: 'int32' });
    await expectTensor(tensor([2.7, -2.7]).int(), [2], [2, -2], { dtype: 'int32' });
    await expectTensor(tensor([0, 0.5, -1]).bool(), [3], [0, 1, 1], { dtype: 'bool' });
    await expectTensor(tensor([true, false]).float(), [2], [1, 0], { dtype: 'float32' });
  } },
  { name: 'maximum/minimum propagate NaN; clamp', run: async () => {
    const a = tensor([1, NaN, 3]), b = tensor([2, 0, NaN]);
    const mx = await vals(a.maximum(b)), mn = await vals(a.minimum(b));
    assert.equal(mx[0], 2); assert.ok(Number.isNaN(mx[1]) && Number.isNaN(mx[2]));
    assert.equal(mn[0], 1); assert.ok(Number.isNaN(mn[1]) && Number.isNaN(mn[2]));
    const x = tensor([-2, -0.5, 0.5, 2]);
    await expectTensor(x.clamp(-1, 1), [4], [-1, -0.5, 0.5, 1]);
    await expectTensor(x.clamp(0), [4], [0, 0, 0.5, 2]);
    await expectTensor(x.clamp(null, 0), [4], [-2, -0.5, 0, 0]);
  } },
  { name: 'where, maskedFill, logical ops', run: async () => {
    const cond = tensor([[true, false, true]]);
    const a = tensor([[1, 2, 3], [4, 5, 6]]), b = tensor([10]);
    await expectTensor(where(cond, a, b), [2, 3], [1, 10, 3, 4, 10, 6]);
    await expectTensor(where(cond, a, -1), [2, 3], [1, -1, 3, 4, -1, 6]);
    await expectTensor(where(cond, 7, a), [2, 3], [7, 2, 7, 7, 5, 7]);
    // A fractional number branch makes an int result float (torch's weak scalars), not truncated.
    const ints = tensor([1, 2, 3], { dtype: 'int32' });
    await expectTensor(where(tensor([true, false, true]), 0.5, ints), [3], [0.5, 2, 0.5], { dtype: 'float32' });
    await expectTensor(where(tensor([true, false, true]), 9, ints), [3], [9, 2, 9], { dtype: 'int32' });
    // maskedFill keeps the input's dtype, as torch's masked_fill.
    await expectTensor(ints.maskedFill(tensor([false, true, false]), -1), [3], [1, -1, 3], { dtype: 'int32' });
    await expectTensor(tensor([true, false]).maskedFill(tensor([true, true]), 0), [2], [0, 0], { dtype: 'bool' });
    await expectTensor(a.maskedFill(tensor([false, true, false]), -Infinity), [2, 3], [1, -Infinity, 3, 4, -Infinity, 6]);
    const p = tensor([true, true, false, false]), q = tensor([true, false, true, false]);
    await expectTensor(p.logicalAnd(q), [4], [1, 0, 0, 0], { dtype: 'bool' });
    await expectTensor(p.logicalOr(q), [4], [1, 1, 1, 0], { dtype: 'bool' });
    await expectTensor(p.logicalNot(), [4], [0, 0, 1, 1], { dtype: 'bool' });
    await expectTensor(tlm.isnan(tensor([0, NaN])), [2], [0, 1], { dtype: 'bool' });
  } },
];

export { refBroadcast };

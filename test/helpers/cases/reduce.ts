// Reductions over every dim combination, with and without keepdim, against plain-JS references.

import assert from 'node:assert/strict';
import { tensor, functional as F, type Tensor } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { det, expectTensor, refReduce, vals } from './util.js';

const SHAPE = [2, 3, 4];
const DIMS: (number | number[] | undefined)[] = [0, 1, 2, -1, [0, 2], [1, 2], [0, 1, 2], undefined];

const sum = (g: number[]) => g.reduce((a, b) => a + b, 0);
const mean = (g: number[]) => sum(g) / g.length;
const variance = (c: number) => (g: number[]) => { const m = mean(g); return g.reduce((a, b) => a + (b - m) ** 2, 0) / (g.length - c); };
const lse = (g: number[]) => { const m = Math.max(...g); return m + Math.log(g.reduce((a, b) => a + Math.exp(b - m), 0)); };
const argmax = (g: number[]) => g.indexOf(Math.max(...g));

function dimList(d: number | number[] | undefined): number[] {
  return d === undefined ? [0, 1, 2] : typeof d === 'number' ? [d] : d;
}

async function checkReduce(x: Tensor, data: number[], name: string, op: (x: Tensor, d: number | number[] | undefined, k: boolean) => Tensor,
                           ref: (g: number[]) => number, dims = DIMS, dtype?: string): Promise<void> {
  for (const d of dims) {
    for (const keepdim of [false, true]) {
      const r = refReduce(data, SHAPE, dimList(d), keepdim, ref);
      const shape = d === undefined && !keepdim ? [] : r.shape;
      await expectTensor(op(x, d, keepdim), shape, r.data, { tol: 1e-6, what: `${name}(dim=${JSON.stringify(d)}, keepdim=${keepdim})`, dtype });
    }
  }
}

export const reduceCases: Case[] = [
  { name: 'sum, mean, var (correction 0 and 1) over dims with keepdim', run: async () => {
    const data = det(24, 21);
    const x = tensor(data, { shape: SHAPE });
    const xs = await vals(x);
    await checkReduce(x, xs, 'sum', (t, d, k) => t.sum(d, k), sum);
    await checkReduce(x, xs, 'mean', (t, d, k) => t.mean(d, k), mean);
    await checkReduce(x, xs, 'var', (t, d, k) => t.var(d, { keepdim: k }), variance(1));
    await checkReduce(x, xs, 'var0', (t, d, k) => t.var(d, { keepdim: k, correction: 0 }), variance(0));
    // A strided input reduces the same.
    const r = refReduce(xs, SHAPE, [1], false, sum);
    await expectTensor(x.transpose(0, 2).sum(1), [4, 2], [0, 1, 2, 3].flatMap((k) => [0, 1].map((i) => r.data[i * 4 + k]!)), { tol: 1e-6 });
    await expectTensor(tensor([[true, false], [true, true]]).sum(1), [2], [1, 2], { dtype: 'int32' });
    await expectTensor(tensor([1, 2, 3], { dtype: 'int32' }).sum(), [], [6], { dtype: 'int32' });
  } },
  { name: 'max, min, argmax, argmin over a dim with keepdim, and over everything', run: async () => {
    const data = det(24, 33);
    const x = tensor(data, { shape: SHAPE });
    const xs = await vals(x);
    const single = DIMS.filter((d) => typeof d === 'number' || d === undefined);
    await checkReduce(x, xs, 'max', (t, d, k) => t.max(d as number | undefined, k), (g) => Math.max(...g), single);
    await checkReduce(x, xs, 'min', (t, d, k) => t.min(d as number | undefined, k), (g) => Math.min(...g), single);
    await checkReduce(x, xs, 'argmax', (t, d, k) => t.argmax(d as number | undefined, k), argmax, single, 'int32');
    await checkReduce(x, xs, 'argmin', (t, d, k) => t.argmin(d as number | undefined, k), (g) => g.indexOf(Math.min(...g)), single, 'int32');
    // Ties: the first index wins, as in torch.
    await expectTensor(tensor([[1, 3, 3], [2, 2, 0]]).argmax(1), [2], [1, 0], { dtype: 'int32' });
  } },
  { name: 'logsumexp over dims, stable for large values', run: async () => {
    const data = det(24, 44, 5);
    const x = tensor(data, { shape: SHAPE });
    const xs = await vals(x);
    await checkReduce(x, xs, 'logsumexp', (t, d, k) => t.logsumexp(d ?? [0, 1, 2], k), lse, DIMS.filter((d) => d !== undefined));
    await expectTensor(tensor([1000, 1000]).logsumexp(0), [], [1000 + Math.log(2)]);
    await expectTensor(tensor([-Infinity, 0]).logsumexp(0), [], [0]);
  } },
  { name: 'softmax and logSoftmax rows sum to one, along any dim', run: async () => {
    const data = det(24, 55, 4);
    const x = tensor(data, { shape: SHAPE });
    const xs = await vals(x);
    for (const dim of [0, 1, 2, -1]) {
      const sm = F.softmax(x, dim), ls = F.logSoftmax(x, dim);
      const ref = refReduce(xs, SHAPE, [dim], true, lse);
      // logSoftmax = x - logsumexp(x, dim); checked elementwise through the broadcast reference.
      const l = await vals(ls), s = await vals(sm);
      const lseT = tensor(ref.data, { shape: ref.shape });
      const expected = await vals(x.sub(lseT));
      assert.equal(sm.shape.join(), SHAPE.join());
      for (let i = 0; i < 24; i++) {
        assert.ok(Math.abs(l[i]! - expected[i]!) < 2e-6, `logSoftmax dim ${dim} at ${i}: ${l[i]} vs ${expected[i]}`);
        assert.ok(Math.abs(s[i]! - Math.exp(expected[i]!)) < 2e-7, `softmax dim ${dim} at ${i}`);
      }
      const sums = await vals(sm.sum(dim));
      for (const v of sums) assert.ok(Math.abs(v - 1) < 1e-6);
    }
    // Large logits and -inf entries (a masked position gets exactly 0).
    await expectTensor(F.softmax(tensor([1000, 1000, -Infinity]), -1), [3], [0.5, 0.5, 0]);
    await expectTensor(F.logSoftmax(tensor([0, 0]), 0), [2], [-Math.LN2, -Math.LN2]);
  } },
];

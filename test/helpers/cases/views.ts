// Views (reshape/view, transpose, permute, expand, narrow/slice, select, squeeze/unsqueeze, flatten)
// and contiguous copies. Views must share storage: writing through one shows in the other.

import assert from 'node:assert/strict';
import { arange, tensor, zeros } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { expectTensor, vals } from './util.js';

const range = (n: number) => [...Array(n).keys()];

export const viewCases: Case[] = [
  { name: 'reshape and view, with -1', run: async () => {
    const x = arange(24).float();
    await expectTensor(x.reshape(2, 3, 4), [2, 3, 4], range(24));
    await expectTensor(x.view([4, -1]), [4, 6], range(24));
    await expectTensor(x.reshape(-1, 2, 3).reshape(24), [24], range(24));
    await expectTensor(tensor([5]).reshape([]), [], [5]);
  } },
  { name: 'transpose, permute, .T and .mT give the permuted values', run: async () => {
    const x = arange(6).float().reshape(2, 3);
    const t = x.transpose(0, 1);
    assert.equal(t.isContiguous(), false);
    await expectTensor(t, [3, 2], [0, 3, 1, 4, 2, 5]);
    await expectTensor(x.T, [3, 2], [0, 3, 1, 4, 2, 5]);
    const y = arange(24).reshape(2, 3, 4);
    // y.permute(2, 0, 1)[k][i][j] = y[i][j][k] = 12i + 4j + k
    const ref: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) ref.push(12 * i + 4 * j + k);
    await expectTensor(y.permute(2, 0, 1), [4, 2, 3], ref, { dtype: 'int32' });
    await expectTensor(y.mT, [2, 4, 3], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23]);
    await expectTensor(y.transpose(-1, 0).transpose(0, -1), [2, 3, 4], range(24));
  } },
  { name: 'view of a transposed tensor needs reshape, which copies correctly', run: async () => {
    const t = arange(6).float().reshape(2, 3).transpose(0, 1);
    assert.throws(() => t.view(6), /view: shape \[6\] is not compatible with input \[3,2\]/);
    await expectTensor(t.reshape(6), [6], [0, 3, 1, 4, 2, 5]);
    await expectTensor(t.reshape(2, 3), [2, 3], [0, 3, 1, 4, 2, 5]);
    // A transposed view whose split keeps the strided dim whole is still a view.
    const u = arange(24).float().reshape(4, 6).transpose(0, 1); // [6,4], strides [1,6]
    const v = u.view(2, 3, 4);
    assert.equal(v.storage, u.storage);
    const ref: number[] = [];
    for (let r = 0; r < 6; r++) for (let c = 0; c < 4; c++) ref.push(c * 6 + r);
    await expectTensor(v, [2, 3, 4], ref);
  } },
  { name: 'expand: size-1 dims, -1 and new leading dims (stride 0, no copy)', run: async () => {
    const c = tensor([[1], [2], [3]]);
    const e = c.expand(3, 4);
    assert.equal(e.storage, c.storage);
    assert.equal(e.strides[1], 0);
    await expectTensor(e, [3, 4], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    await expectTensor(c.expand(2, -1, 2), [2, 3, 2], [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
    await expectTensor(tensor(4).expand(2), [2], [4, 4]);
    await expectTensor(c.expandAs(zeros([3, 2])), [3, 2], [1, 1, 2, 2, 3, 3]);
  } },
  { name: 'narrow, slice (negative bounds, steps, clamping), select', run: async () => {
    const x = arange(20).float().reshape(4, 5);
    await expectTensor(x.narrow(1, 1, 3), [4, 3], [1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18]);
    await expectTensor(x.narrow(0, -2, 2), [2, 5], range(10).map((v) => v + 10));
    await expectTensor(x.slice(1, 0, 5, 2), [4, 3], [0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19]);
    await expectTensor(x.slice(0, -3, -1), [2, 5], range(10).map((v) => v + 5));
    await expectTensor(x.slice(1, 3, 100), [4, 2], [3, 4, 8, 9, 13, 14, 18, 19]);
    await expectTensor(x.slice(1, 4, 2), [4, 0], []);
    await expectTensor(x.select(0, 2), [5], [10, 11, 12, 13, 14]);
    await expectTensor(x.select(1, -1), [4], [4, 9, 14, 19]);
    // A slice of a slice: offsets and strides compose.
    await expectTensor(x.slice(0, 1, 4, 2).slice(1, 1, 5, 3), [2, 2], [6, 9, 16, 19]);
  } },
  { name: 'squeeze, unsqueeze, flatten', run: async () => {
    const x = arange(6).float().reshape(1, 2, 1, 3);
    await expectTensor(x.squeeze(), [2, 3], range(6));
    await expectTensor(x.squeeze(2), [1, 2, 3], range(6));
    await expectTensor(x.squeeze(1), [1, 2, 1, 3], range(6)); // size 2: unchanged, as torch
    await expectTensor(x.squeeze().unsqueeze(0), [1, 2, 3], range(6));
    await expectTensor(x.squeeze().unsqueeze(-1), [2, 3, 1], range(6));
    await expectTensor(x.squeeze().unsqueeze(1), [2, 1, 3], range(6));
    await expectTensor(x.flatten(), [6], range(6));
    await expectTensor(x.flatten(1, 2), [1, 2, 3], range(6));
    await expectTensor(tensor(3).flatten(), [1], [3]);
    // unsqueeze of a transposed view keeps the values right
    const t = arange(6).float().reshape(2, 3).transpose(0, 1).unsqueeze(1);
    await expectTensor(t, [3, 1, 2], [0, 3, 1, 4, 2, 5]);
  } },
  { name: 'contiguous copies strided views; views share storage', run: async () => {
    const x = arange(12).float().reshape(3, 4);
    const s = x.slice(1, 1, 4, 2).transpose(0, 1);
    assert.equal(s.isContiguous(), false);
    const c = s.contiguous();
    assert.equal(c.isContiguous(), true);
    assert.notEqual(c.storage, x.storage);
    await expectTensor(c, [2, 3], [1, 5, 9, 3, 7, 11]);
    assert.equal(x.contiguous(), x, 'contiguous() of a contiguous tensor is the tensor itself');
    // Writing through a view changes the base: they share storage.
    x.narrow(0, 1, 1).fill_(-1);
    await expectTensor(x, [3, 4], [0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11]);
    await expectTensor(c, [2, 3], [1, 5, 9, 3, 7, 11]); // the copy did not change
    x.slice(1, 0, 4, 3).copy_(tensor([100, 200]));
    assert.deepEqual((await vals(x)).slice(0, 4), [100, 1, 2, 200]);
  } },
];

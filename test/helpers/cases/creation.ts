// Creation ops: tensor, zeros, ones, full, arange, eye, and the seeded random draws.

import assert from 'node:assert/strict';
import { tensor, zeros, ones, full, arange, eye, rand, randn, randint, Generator, manualSeed, linspace } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { expectTensor, vals } from './util.js';

export const creationCases: Case[] = [
  { name: 'tensor from nested arrays, scalars, booleans and typed arrays', run: async ({ backend }) => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.equal(x.device, backend);
    await expectTensor(x, [2, 3], [1, 2, 3, 4, 5, 6], { dtype: 'float32' });
    await expectTensor(tensor(2.5), [], [2.5], { dtype: 'float32' });
    await expectTensor(tensor([[true, false]]), [1, 2], [1, 0], { dtype: 'bool' });
    await expectTensor(tensor([1, 2], { dtype: 'int32' }), [2], [1, 2], { dtype: 'int32' });
    await expectTensor(tensor(new Int32Array([7, 8, 9, 10]), { shape: [2, 2] }), [2, 2], [7, 8, 9, 10], { dtype: 'int32' });
    await expectTensor(tensor(new Float32Array([0.5, 1.5]), { shape: [2, 1] }), [2, 1], [0.5, 1.5], { dtype: 'float32' });
    await expectTensor(tensor([]), [0], [], { dtype: 'float32' });
    // bool keeps 0/1: any nonzero value is true (not truncated to 0), as torch's .bool()
    await expectTensor(tensor([0.5, 0, -2, NaN], { dtype: 'bool' }), [4], [1, 0, 1, 1], { dtype: 'bool' });
    const g = tensor([1, 2], { requiresGrad: true });
    assert.equal(g.requiresGrad, true);
  } },
  { name: 'zeros, ones, full (float and int)', run: async () => {
    await expectTensor(zeros([2, 3]), [2, 3], [0, 0, 0, 0, 0, 0], { dtype: 'float32' });
    await expectTensor(ones([3]), [3], [1, 1, 1]);
    await expectTensor(full([2, 2], -1.5), [2, 2], [-1.5, -1.5, -1.5, -1.5]);
    await expectTensor(full([2], 7, { dtype: 'int32' }), [2], [7, 7], { dtype: 'int32' });
    await expectTensor(zeros([0, 3]), [0, 3], []);
    await expectTensor(full([], 3), [], [3]);
  } },
  { name: 'arange: integer and fractional steps, negative step, dtype', run: async () => {
    await expectTensor(arange(5), [5], [0, 1, 2, 3, 4], { dtype: 'int32' });
    await expectTensor(arange(2, 7, 2), [3], [2, 4, 6], { dtype: 'int32' });
    await expectTensor(arange(5, 0, -2), [3], [5, 3, 1], { dtype: 'int32' });
    await expectTensor(arange(1, 2, 0.25), [4], [1, 1.25, 1.5, 1.75], { dtype: 'float32' });
    await expectTensor(arange(3, undefined, 1, { dtype: 'float32' }), [3], [0, 1, 2], { dtype: 'float32' });
    await expectTensor(arange(0), [0], []);
    await expectTensor(linspace(0, 1, 5), [5], [0, 0.25, 0.5, 0.75, 1]);
  } },
  { name: 'eye: square and rectangular', run: async () => {
    await expectTensor(eye(3), [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    await expectTensor(eye(2, 3), [2, 3], [1, 0, 0, 0, 1, 0]);
    await expectTensor(eye(3, 2, { dtype: 'int32' }), [3, 2], [1, 0, 0, 1, 0, 0], { dtype: 'int32' });
  } },
  { name: 'rand/randn/randint: same seed gives the same numbers, new seed new ones', run: async () => {
    const a = await vals(randn([3, 4], { generator: new Generator(7) }));
    const b = await vals(randn([3, 4], { generator: new Generator(7) }));
    const c = await vals(randn([3, 4], { generator: new Generator(8) }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    manualSeed(7);
    assert.deepEqual(await vals(randn([3, 4])), a, 'manualSeed seeds the default generator like new Generator(seed)');
    manualSeed(3);
    const r1 = await vals(rand([5]));
    manualSeed(3);
    assert.deepEqual(await vals(rand([5])), r1);
    const i1 = randint(-2, 3, [4, 5], { generator: new Generator(1) });
    assert.equal(i1.dtype, 'int32');
    assert.deepEqual(await vals(i1), await vals(randint(-2, 3, [4, 5], { generator: new Generator(1) })));
  } },
  { name: 'random numbers are pinned: the same on every backend and run', run: async () => {
    // The generator is part of the contract (checkpoints resume it): these are its first draws.
    const u = await vals(rand([4], { generator: new Generator(42) }));
    const expected = [...Array(4)].map(((g) => () => Math.fround(g.uniform()))(new Generator(42)));
    assert.deepEqual(u, expected);
    assert.deepEqual(u, PINNED_RAND_42);
  } },
  { name: 'rand in [0,1), randn ~ N(0,1), randint in [low, high)', run: async () => {
    const g = new Generator(11);
    const u = await vals(rand([20000], { generator: g }));
    assert.ok(u.every((v) => v >= 0 && v < 1));
    const mu = u.reduce((a, b) => a + b, 0) / u.length;
    assert.ok(Math.abs(mu - 0.5) < 0.01, `rand mean ${mu}`);
    const n = await vals(randn([20000], { generator: g }));
    const m = n.reduce((a, b) => a + b, 0) / n.length;
    const sd = Math.sqrt(n.reduce((a, b) => a + (b - m) ** 2, 0) / n.length);
    assert.ok(Math.abs(m) < 0.03 && Math.abs(sd - 1) < 0.03, `randn mean ${m} std ${sd}`);
    const r = await vals(randint(3, 9, [6000], { generator: g }));
    assert.ok(r.every((v) => Number.isInteger(v) && v >= 3 && v < 9));
    for (let k = 3; k < 9; k++) {
      const share = r.filter((v) => v === k).length / r.length;
      assert.ok(Math.abs(share - 1 / 6) < 0.03, `randint value ${k} share ${share}`);
    }
  } },
];

export const PINNED_RAND_42 = [0.8624723553657532, 0.03882521390914917, 0.2230406403541565, 0.34091848134994507];

// Autograd mechanics: accumulation into .grad, zeroGrad, detach, noGrad, retainGrad, explicit
// upstream gradients, and graphs that reuse a tensor.

import assert from 'node:assert/strict';
import { tensor, noGrad } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { expectTensor } from './util.js';

export const autogradCases: Case[] = [
  { name: 'gradients accumulate across backward calls; zeroGrad clears them', run: async () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).sum().backward();
    await expectTensor(x.grad!, [3], [2, 4, 6]);
    x.mul(3).sum().backward();
    await expectTensor(x.grad!, [3], [5, 7, 9]);
    x.zeroGrad();
    assert.equal(x.grad, null);
  } },
  { name: 'a tensor used twice gets both contributions (add(x, x), x*x*x)', run: async () => {
    const x = tensor([2, -1], { requiresGrad: true });
    x.add(x).sum().backward();
    await expectTensor(x.grad!, [2], [2, 2]);
    x.zeroGrad();
    x.mul(x).mul(x).sum().backward();
    await expectTensor(x.grad!, [2], [12, 3]);
  } },
  { name: 'backward with an explicit upstream gradient; non-scalar needs one', run: async () => {
    const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const y = x.mul(2);
    assert.throws(() => y.backward(), /grad can be implicitly created only for scalar outputs/);
    y.backward(tensor([[1, 0], [0, -1]]));
    await expectTensor(x.grad!, [2, 2], [2, 0, 0, -2]);
  } },
  { name: 'detach and noGrad stop the graph', run: async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const d = x.detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(x.mul(d).requiresGrad, true);
    const y = noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    x.mul(d).sum().backward();
    await expectTensor(x.grad!, [2], [1, 2]);
  } },
  { name: 'retainGrad keeps an intermediate gradient, also through pass-through ops', run: async () => {
    const a = tensor([1, 2], { requiresGrad: true }), b = tensor([3, 4], { requiresGrad: true });
    const y = a.add(b);
    y.retainGrad();
    const r = y.reshape(2, 1);
    r.retainGrad();
    r.mul(tensor([[2], [3]])).sum().backward();
    await expectTensor(y.grad!, [2], [2, 3]);
    await expectTensor(r.grad!, [2, 1], [2, 3]);
    await expectTensor(a.grad!, [2], [2, 3]);
    await expectTensor(b.grad!, [2], [2, 3]);
  } },
  { name: 'a second backward through a freed graph is an error, retainGraph allows it', run: async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const loss = x.exp().sum();
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    await expectTensor(x.grad!, [2], [2 * Math.E, 2 * Math.E ** 2], { tol: 1e-6 });
    assert.throws(() => loss.backward(), /backward.*(second time|freed)/);
  } },
  { name: 'clamp passes the whole gradient at its bounds, as torch', run: async () => {
    const x = tensor([-1, 0, 0.5, 1, 2], { requiresGrad: true });
    x.clamp(0, 1).sum().backward();
    await expectTensor(x.grad!, [5], [0, 1, 1, 1, 0]);
  } },
  { name: 'only float32 tensors can require gradients', run: async () => {
    assert.throws(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true }), /only float32 tensors can require gradients/);
  } },
];

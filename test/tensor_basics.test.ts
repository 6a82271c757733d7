import test from 'node:test';
import assert from 'node:assert/strict';
import { tensor, arange, tidy, randn, functional as F } from '../src/index.js';
import { liveTensors } from './helpers/live.js';

test('matmul, relu, sum and backward give the analytic gradient', () => {
  const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const y = x.matmul(x).relu().sum();
  y.backward();
  assert.equal(y.item(), 54);
  // d/dx sum(x@x) = 1·xᵀ + xᵀ·1
  assert.deepEqual(x.grad!.tolist(), [[7, 11], [9, 13]]);
});

test('errors name the op and the shapes', () => {
  assert.throws(() => randn([2, 3]).matmul(randn([4, 5])), /matmul: \[2,3\] @ \[4,5\]: inner dimensions 3 and 4 differ/);
  assert.throws(() => randn([2, 3]).add(randn([4])), /add: shapes \[2,3\] and \[4\] cannot be broadcast/);
});

test('views share storage and contiguous copies', () => {
  const a = arange(6).reshape(2, 3);
  const t = a.transpose(0, 1);
  assert.equal(t.isContiguous(), false);
  assert.deepEqual(t.tolist(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(Array.from(t.contiguous().dataSync()), [0, 3, 1, 4, 2, 5]);
});

test('tidy disposes intermediates and keeps the result', () => {
  const before = liveTensors();
  const out = tidy(() => {
    const a = randn([4, 4]);
    return F.softmax(a.mul(2).add(1), -1);
  });
  assert.equal(liveTensors(), before + 1);
  out.dispose();
  assert.equal(liveTensors(), before);
});

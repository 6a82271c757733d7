// Bad input gets an error that names the op and the shapes (or dtype), never NaNs or a silent
// truncation; and a rejected call leaves the engine usable.

import assert from 'node:assert/strict';
import * as tlm from '../src/index.js';
import { functional as F, randn, tensor, zeros, type Tensor } from '../src/index.js';
import { runOnBackends, type Case } from './helpers/suite.js';
import { vals } from './helpers/cases/util.js';

const i32 = (v: number[], shape = [v.length]) => tensor(v, { dtype: 'int32', shape });
/** [f, expected message] pairs, each checked with assert.throws. */
type Expect = [() => unknown, RegExp];

function expectAll(list: Expect[]): void {
  for (const [f, re] of list) assert.throws(f, re);
}

const shapes: Case = { name: 'matmul, broadcasting, layerNorm, crossEntropy, linear, attention shapes', run: () => expectAll([
  [() => randn([2, 3]).matmul(randn([4, 5])), /^Error: matmul: \[2,3\] @ \[4,5\]: inner dimensions 3 and 4 differ$/],
  [() => randn([3]).matmul(randn([4])), /matmul: \[3\] @ \[4\]: inner dimensions 3 and 4 differ/],
  [() => randn([2, 3, 4]).matmul(randn([3, 4, 5])), /matmul: \[2,3,4\] @ \[3,4,5\]: batch dims \[2\] and \[3\] cannot be broadcast/],
  [() => tensor(1).matmul(randn([2])), /matmul: both arguments need at least 1 dim, got \[\] @ \[2\]/],
  [() => randn([2, 3]).add(randn([4])), /add: shapes \[2,3\] and \[4\] cannot be broadcast \(dim 1: 3 vs 4\)/],
  [() => randn([2, 1, 3]).mul(randn([2, 2])), /mul: shapes \[2,1,3\] and \[2,2\] cannot be broadcast/],
  [() => tlm.where(tensor([true, false, true]), randn([2, 2]), 0), /where: shapes \[3\] and \[2,2\] cannot be broadcast/],
  [() => randn([2, 3]).maskedFill(tensor([true, false]), 0), /maskedFill: shapes \[2,3\] and \[2\] cannot be broadcast/],
  [() => randn([2, 3]).expand(4, 3), /expand: cannot expand \[2,3\] to \[4,3\]/],
  [() => F.linear(randn([2, 3]), randn([4, 5])), /linear: input \[2,3\] has 3 features, weight \[4,5\] expects 5/],
  [() => F.layerNorm(randn([2, 3]), [4]), /layerNorm: input \[2,3\] does not end with normalized shape \[4\]/],
  [() => F.layerNorm(randn([2, 3]), [3], randn([4])), /layerNorm: weight \[4\] must have shape \[3\]/],
  [() => F.crossEntropy(randn([2, 3]), i32([0, 1, 2])), /crossEntropy: target \[3\] does not match logits \[2,3\] \(expected \[2\]\)/],
  [() => F.crossEntropy(randn([3]), i32([0, 1])), /crossEntropy: target \[2\] does not match logits \[3\] \(expected \[\]\)/],
  [() => F.crossEntropy(randn([2, 3, 4]), i32([0, 1, 2, 0], [2, 2])), /crossEntropy: target \[2,2\] does not match logits \[2,3,4\] \(expected \[2,4\]\)/],
  [() => F.scaledDotProductAttention(randn([2, 4]), randn([3, 5]), randn([3, 5])), /scaledDotProductAttention: q \[2,4\] and k \[3,5\]/],
  [() => tlm.cat([randn([2, 3]), randn([2, 4])], 0), /cat: shapes \[2,3\], \[2,4\] differ outside dim 0/],
  [() => tlm.stack([randn([2, 3]), randn([3, 2])]), /stack: all tensors must have the same shape, got \[2,3\], \[3,2\]/],
  [() => randn([2, 3]).split([1, 1], 1), /split: sections \[1,1\] sum to 2, but dim 1 has size 3/],
  [() => tlm.gather(randn([3, 2]), 1, i32([0, 1, 0, 1], [4, 1])), /gather: index \[4,1\] does not fit input \[3,2\] along dim 1/],
  [() => tlm.scatterAdd(zeros([2, 3]), 1, i32([0, 1, 2, 0], [1, 4]), randn([1, 2])), /scatterAdd: index \[1,4\] does not fit src \[1,2\] and input \[2,3\]/],
]) };

const dims: Case = { name: 'bad dims, views and sizes', run: () => expectAll([
  [() => randn([2, 3]).sum(2), /sum: dim 2 out of range for a tensor with 2 dims/],
  [() => randn([2, 3]).mean(-3), /mean: dim -3 out of range for a tensor with 2 dims/],
  [() => F.softmax(randn([2, 3]), 2), /softmax: dim 2 out of range for a tensor with 2 dims/],
  [() => randn([2, 3]).max(5), /max: dim 5 out of range/],
  [() => randn([2, 3]).argmax(2), /argmax: dim 2 out of range/],
  [() => randn([2, 3]).transpose(0, 2), /transpose: dim 2 out of range for a tensor with 2 dims/],
  [() => randn([2, 3]).permute(0), /permute: got 1 dims \[0\] for a tensor with 2 dims/],
  [() => randn([2, 3]).permute(0, 0), /permute: repeated dim in \[0,0\]/],
  [() => randn([2, 3]).squeeze(3), /squeeze: dim 3 out of range/],
  [() => randn([2, 3]).unsqueeze(4), /unsqueeze: dim 4 out of range/],
  [() => tlm.cat([randn([2, 3]), randn([2, 3])], 2), /cat: dim 2 out of range for a tensor with 2 dims/],
  [() => tlm.cat([tensor(1), tensor(2)]), /cat: zero-dimensional tensor \(at position 0\) cannot be concatenated/],
  [() => randn([2, 3]).narrow(1, 2, 2), /narrow: range \[2, 4\) is out of bounds for dim 1 of \[2,3\]/],
  [() => randn([2, 3]).narrow(1, 0.5, 1), /narrow: range \[0.5, 1.5\) is out of bounds/],
  [() => randn([4]).slice(0, 1.5), /slice: bounds must be integers/],
  [() => randn([4]).slice(0, 0, 4, 0), /slice: step must be a positive integer, got 0/],
  [() => randn([2, 3]).select(0, 2), /select: index 2 is out of range for dim 0 of size 2/],
  [() => randn([2, 3]).reshape(4, 2), /reshape: shape \[4,2\] is invalid for input of size 6 \[2,3\]/],
  [() => randn([2, 3]).reshape(-1, -1), /reshape: only one dimension can be -1/],
  [() => randn([2, 3]).T.view(6), /view: shape \[6\] is not compatible with input \[3,2\] strides \[1,3\]; use reshape\(\)/],
  [() => randn([2, 3]).chunk(0), /chunk: chunks must be a positive integer, got 0/],
  [() => zeros([2, -1]), /full: invalid shape \[2,-1\]/],
  [() => zeros([2.5]), /full: invalid shape \[2.5\]/],
  [() => randn([2]).item(), /item: tensor \[2\] float32 has 2 elements, expected 1/],
]) };

const dtypes: Case = { name: 'wrong dtypes: float indices, int matmul, non-bool masks, unknown dtypes', run: () => expectAll([
  [() => randn([3, 2]).indexSelect(0, tensor([0, 1])), /indexSelect: index must be int32, got float32/],
  [() => tlm.gather(randn([3, 2]), 1, tensor([[0], [1], [0]])), /gather: index must be int32, got float32/],
  [() => tlm.scatterAdd(zeros([2]), 0, tensor([0]), randn([1])), /scatterAdd: index must be int32, got float32/],
  [() => F.embedding(tensor([0, 1]), randn([4, 3])), /embedding: ids must be int32, got float32/],
  [() => F.crossEntropy(randn([2, 3]), tensor([0, 1])), /crossEntropy: target must hold int32 class indices, got float32/],
  [() => i32([1, 2, 3, 4], [2, 2]).matmul(randn([2, 2])), /matmul: expected a float32 tensor, got int32 \[2,2\]/],
  [() => F.layerNorm(i32([1, 2]), [2]), /layerNorm: expected a float32 tensor, got int32/],
  [() => F.softmax(i32([1, 2]), 0), /softmax: expected a float32 tensor, got int32/],
  [() => randn([2, 3]).maskedFill(i32([1, 0, 1]), 0), /maskedFill: mask must be bool, got int32/],
  [() => i32([1, 2]).maskedFill(tensor([true, false]), -Infinity), /maskedFill: value -Infinity cannot be converted to int32 \(input \[2\]\)/],
  [() => zeros([2], { dtype: 'float64' as 'float32' }), /unknown dtype 'float64': expected one of float32, int32, bool/],
  [() => tensor([1], { dtype: 'int32', requiresGrad: true }), /only float32 tensors can require gradients, not int32/],
]) };

/**
 * [f, expected message, the message on webgpu where it differs]: on cpu the op throws; on webgpu a
 * kernel cannot, so the read of the result rejects with the kernel's message (without the op that
 * called it, e.g. embedding, which had returned by then).
 */
type IndexExpect = [() => Tensor, RegExp, RegExp?];

const indices: Case = { name: 'out-of-range indices name the op, the bad index and the shapes', run: async ({ backend }) => {
  const list: IndexExpect[] = [
    [() => randn([3, 2]).indexSelect(0, i32([0, 3])), /indexSelect: index 3 is out of range for a dimension of size 3 \(input \[3,2\], index \[2\]\)/],
    [() => randn([3, 2]).indexSelect(0, i32([-1])), /indexSelect: index -1 is out of range/],
    [() => tlm.gather(randn([3, 2]), 1, i32([0, 2, 0], [3, 1])), /gather: index 2 is out of range for a dimension of size 2 \(input \[3,2\], dim 1, index \[3,1\]\)/],
    [() => tlm.scatterAdd(zeros([2, 3]), 1, i32([0, 5], [1, 2]), randn([1, 2])), /scatterAdd: index 5 is out of range for a dimension of size 3/],
    [() => F.embedding(i32([0, 4]), randn([4, 3])), /embedding: ids \[2\], weight \[4,3\]: .*index 4 is out of range for a dimension of size 4/,
      /indexSelect: index 4 is out of range for a dimension of size 4 \(input \[4,3\], index \[2\]\)/],
    [() => F.crossEntropy(randn([2, 3]), i32([0, 3])), /crossEntropy: target \[2\], logits \[2,3\]: .*index 3 is out of range for a dimension of size 3/,
      /gather: index 3 is out of range for a dimension of size 3/],
    [() => F.crossEntropy(randn([2, 3]), i32([0, -1])), /crossEntropy: .*index -1 is out of range/, /gather: index -1 is out of range/],
  ];
  for (const [f, re, gpuRe] of list) {
    await assert.rejects(async () => { await f().data(); }, backend === 'webgpu' ? gpuRe ?? re : re);
  }
} };

const creation: Case = { name: 'ragged nested arrays, value counts, ranges, probabilities', run: () => expectAll([
  [() => tensor([[1, 2], [3]]), /tensor: ragged nested array: expected length 2 at depth 1, got 1/],
  [() => tensor([[1, 2], 3] as number[][]), /tensor: ragged nested array: expected length 2 at depth 1, got a scalar/],
  [() => tensor([1, [2]] as unknown as number[]), /tensor: ragged nested array \(expected a number at depth 1\)/],
  [() => tensor([[[1], [2]], [[3], [4, 5]]]), /tensor: ragged nested array: expected length 1 at depth 2, got 2/],
  [() => tensor([1, 2, 3], { shape: [2, 2] }), /tensor: 3 values do not fill shape \[2,2\] \(4 elements\)/],
  [() => tlm.arange(0, 3, 0), /arange: step must be nonzero/],
  [() => tlm.randint(3, 3, [2]), /randint: empty range \[3, 3\)/],
  [() => F.dropout(randn([2]), 1.5), /dropout: probability must be in \[0, 1\], got 1.5/],
]) };

const autograd: Case = { name: 'backward misuse', run: () => expectAll([
  [() => randn([2], { requiresGrad: true }).mul(2).backward(), /backward: grad can be implicitly created only for scalar outputs, got shape \[2\]/],
  [() => randn([2]).sum().backward(), /backward: tensor does not require grad/],
  [() => randn([2], { requiresGrad: true }).mul(2).backward(randn([3])), /backward: grad shape \[3\] differs from output shape \[2\]/],
  [() => { const t = randn([2]); t.dispose(); return t.add(1); }, /tensor \[2\] float32 was disposed and cannot be used/],
]) };

const recovers: Case = { name: 'a rejected call leaves the engine usable (no corrupted memory)', run: async () => {
  const before = await vals(tensor([1, 2, 3]));
  for (const f of [() => tlm.cat([tensor(1), tensor(2)]), () => tlm.empty([Number.NaN]), () => tlm.empty([-1]), () => randn([4]).narrow(0, 0.5, 2)]) {
    assert.throws(f);
  }
  const a: Tensor = tensor([1, 2, 3]), b = tensor([10, 20, 30]);
  assert.deepEqual(await vals(a.add(b)), [11, 22, 33]);
  assert.deepEqual(await vals(a), before);
} };

runOnBackends('errors', { errors: [shapes, dims, dtypes, indices, creation, autograd, recovers] });

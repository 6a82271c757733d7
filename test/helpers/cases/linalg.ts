// matmul against a float64 reference (strided, broadcast and odd-sized operands, which exercise the
// packing and tile edges of blocked kernels), and the joining/indexing ops.

import assert from 'node:assert/strict';
import { tensor, cat, stack, gather, scatterAdd, linear, matmul, zeros, quantizedLinear, type Tensor } from '../../../src/index.js';
import { matmulBias } from '../../../src/functional.js';
import { dequantizeWeight, quantizeWeight, quantLayout, quantShapes } from '../../../src/backend/quant_format.js';
import type { Case } from '../suite.js';
import { assertClose } from '../assert.js';
import { det, expectTensor, refMatmul, vals } from './util.js';

/** Matmul error bound: 1e-5 relative to the scale of the row·column terms (float32 accumulation). */
async function expectMatmul(out: Tensor, a: number[], b: number[], M: number, K: number, N: number, what: string): Promise<void> {
  const ref = refMatmul(a, b, M, K, N);
  const absRef = refMatmul(a.map(Math.abs), b.map(Math.abs), M, K, N);
  const got = await vals(out);
  assert.equal(got.length, ref.length, `${what}: size`);
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!) / Math.max(absRef[i]!, 1e-30);
    if (!(err <= 1e-5)) assert.fail(`${what}: element ${i}: got ${got[i]}, expected ${ref[i]} (error ${err.toExponential(2)} of the term scale)`);
  }
}

export const linalgCases: Case[] = [
  { name: 'matmul 2-D at odd sizes (tile edges)', run: async () => {
    for (const [M, K, N] of [[1, 1, 1], [3, 4, 5], [7, 13, 9], [17, 33, 65], [64, 64, 64], [65, 70, 129]] as const) {
      const a = det(M * K, M + K, 1), b = det(K * N, K + N, 1);
      await expectMatmul(tensor(a, { shape: [M, K] }).matmul(tensor(b, { shape: [K, N] })), a, b, M, K, N, `${M}x${K}x${N}`);
    }
  } },
  { name: 'matmul with transposed, sliced and expanded operands', run: async () => {
    const M = 6, K = 5, N = 7;
    const a = det(M * K, 1), b = det(K * N, 2);
    const aT = tensor(det(M * K, 1), { shape: [M, K] }).transpose(0, 1).contiguous().transpose(0, 1); // strides [1, M]
    await expectMatmul(aT.matmul(tensor(b, { shape: [K, N] })), a, b, M, K, N, 'a transposed');
    const bT = tensor(b, { shape: [K, N] }).transpose(0, 1).contiguous().mT;
    await expectMatmul(tensor(a, { shape: [M, K] }).matmul(bT), a, b, M, K, N, 'b transposed');
    // A slice with an offset and a row stride larger than its width.
    const wide = tensor(det(M * (K + 3), 3), { shape: [M, K + 3] });
    const sl = wide.narrow(1, 2, K);
    const slv = await vals(sl);
    await expectMatmul(sl.matmul(tensor(b, { shape: [K, N] })), slv, b, M, K, N, 'a sliced');
    // Batch broadcast: [2,1,M,K] @ [3,K,N] -> [2,3,M,N], and a stride-0 expanded batch.
    const A = det(2 * M * K, 4), B = det(3 * K * N, 5);
    const out = tensor(A, { shape: [2, 1, M, K] }).matmul(tensor(B, { shape: [3, K, N] }));
    assert.deepEqual([...out.shape], [2, 3, M, N]);
    const o = await vals(out);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
      const ref = refMatmul(A.slice(i * M * K, (i + 1) * M * K), B.slice(j * K * N, (j + 1) * K * N), M, K, N);
      assertClose(o.slice((i * 3 + j) * M * N, (i * 3 + j + 1) * M * N), ref, 1e-5, `batch ${i},${j}`, 1e-2);
    }
    const e = tensor(a, { shape: [1, M, K] }).expand(4, M, K);
    const eo = await vals(e.matmul(tensor(B.slice(0, K * N), { shape: [K, N] })));
    const ref = refMatmul(a, B.slice(0, K * N), M, K, N);
    for (let i = 0; i < 4; i++) assertClose(eo.slice(i * M * N, (i + 1) * M * N), ref, 1e-5, `expanded batch ${i}`, 1e-2);
  } },
  { name: 'matmul 1-D promotion and linear', run: async () => {
    const v = tensor([1, 2, 3]);
    await expectTensor(v.matmul(v), [], [14]);
    const m = tensor([[1, 0, 2], [0, 1, 0]]);
    await expectTensor(m.matmul(v), [2], [7, 2]);
    await expectTensor(tensor([1, 1]).matmul(m), [3], [1, 1, 2]);
    await expectTensor(linear(tensor([[1, 2, 3]]), m, tensor([10, 20])), [1, 2], [17, 22]);
    await expectTensor(linear(tensor([1, 2, 3]), m), [2], [7, 2]);
    assert.throws(() => matmul(tensor([[1, 2]]), tensor([[1, 2]])), /inner dimensions 2 and 1 differ/);
    // 0 · inf is NaN (no skipping of zero terms), and an empty inner dim gives zeros.
    assert.ok(Number.isNaN((await vals(tensor([[0, 1]]).matmul(tensor([[Infinity], [1]]))))[0]));
    await expectTensor(zeros([2, 3, 0]).matmul(zeros([0, 4])), [2, 3, 4], new Array(24).fill(0));
  } },
  { name: 'matmulBias (the bias fused where the backend can): values against float64, gradients against matmul + add', run: async () => {
    // Shapes on both sides of the native kernels' size gate (K, N ≥ 64), x 2-D and 3-D.
    for (const [lead, K, N] of [[[5], 7, 9], [[100], 70, 130], [[2, 50], 64, 96]] as const) {
      const M = lead.reduce((p, d) => p * d, 1);
      const a = det(M * K, M + K, 1), w = det(K * N, K + N, 1), bias = det(N, N, 1);
      const x = tensor(a, { shape: [...lead, K], requiresGrad: true }), W = tensor(w, { shape: [K, N], requiresGrad: true });
      const b = tensor(bias, { shape: [N], requiresGrad: true });
      const y = matmulBias(x, W, b);
      assert.deepEqual(y.shape, [...lead, N]);
      const ref = refMatmul(a, w, M, K, N).map((v, i) => v + bias[i % N]!);
      assertClose(await vals(y), ref, 1e-5, `matmulBias [${M},${K}]·[${K},${N}]`, 1);
      const g = tensor(det(M * N, 3, 1), { shape: [...lead, N] });
      y.mul(g).sum().backward();
      const x2 = tensor(a, { shape: [...lead, K], requiresGrad: true }), W2 = tensor(w, { shape: [K, N], requiresGrad: true });
      const b2 = tensor(bias, { shape: [N], requiresGrad: true });
      x2.matmul(W2).add(b2).mul(g).sum().backward();
      assertClose(await vals(x.grad!), await vals(x2.grad!), 1e-5, 'grad x', 1);
      assertClose(await vals(W.grad!), await vals(W2.grad!), 1e-5, 'grad W', 1);
      assertClose(await vals(b.grad!), await vals(b2.grad!), 1e-5, 'grad bias', 1);
    }
  } },
  { name: 'cat and stack (any dim, mixed dtypes)', run: async () => {
    const a = tensor([[1, 2], [3, 4]]), b = tensor([[5, 6]]);
    await expectTensor(cat([a, b]), [3, 2], [1, 2, 3, 4, 5, 6]);
    await expectTensor(cat([a, a.mul(10)], 1), [2, 4], [1, 2, 10, 20, 3, 4, 30, 40]);
    await expectTensor(cat([a, a.T], -1), [2, 4], [1, 2, 1, 3, 3, 4, 2, 4]);
    await expectTensor(cat([tensor([1], { dtype: 'int32' }), tensor([0.5])]), [2], [1, 0.5], { dtype: 'float32' });
    await expectTensor(stack([tensor([1, 2]), tensor([3, 4])]), [2, 2], [1, 2, 3, 4]);
    await expectTensor(stack([tensor([1, 2]), tensor([3, 4])], 1), [2, 2], [1, 3, 2, 4]);
    await expectTensor(stack([tensor([1, 2]), tensor([3, 4])], -1), [2, 2], [1, 3, 2, 4]);
  } },
  { name: 'split and chunk (sizes, sections, uneven tails)', run: async () => {
    const x = tensor([...Array(10).keys()], { shape: [2, 5] });
    const parts = x.split(2, 1);
    assert.deepEqual(parts.map((p) => [...p.shape]), [[2, 2], [2, 2], [2, 1]]);
    await expectTensor(parts[2]!, [2, 1], [4, 9]);
    const secs = x.split([1, 4], 1);
    await expectTensor(secs[1]!, [2, 4], [1, 2, 3, 4, 6, 7, 8, 9]);
    const ch = x.chunk(2, 1);
    assert.deepEqual(ch.map((p) => [...p.shape]), [[2, 3], [2, 2]]);
    await expectTensor(ch[0]!, [2, 3], [0, 1, 2, 5, 6, 7]);
    assert.deepEqual(x.chunk(2).map((p) => [...p.shape]), [[1, 5], [1, 5]]);
  } },
  { name: 'indexSelect, gather, scatterAdd', run: async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    const idx = tensor([2, 0, 2], { dtype: 'int32' });
    await expectTensor(x.indexSelect(0, idx), [3, 3], [7, 8, 9, 1, 2, 3, 7, 8, 9]);
    await expectTensor(x.indexSelect(1, idx), [3, 3], [3, 1, 3, 6, 4, 6, 9, 7, 9]);
    await expectTensor(x.T.indexSelect(0, tensor([1], { dtype: 'int32' })), [1, 3], [2, 5, 8]);
    const gi = tensor([[0, 0], [2, 1], [1, 2]], { dtype: 'int32' });
    await expectTensor(gather(x, 1, gi), [3, 2], [1, 1, 6, 5, 8, 9]);
    await expectTensor(gather(x, 0, tensor([[2, 1, 0]], { dtype: 'int32' })), [1, 3], [7, 5, 3]);
    await expectTensor(gather(x.T, 1, gi), [3, 2], [1, 1, 8, 5, 6, 9]);
    const s = scatterAdd(zeros([2, 3]), 1, tensor([[0, 0, 2], [1, 1, 1]], { dtype: 'int32' }), tensor([[1, 2, 3], [4, 5, 6]]));
    await expectTensor(s, [2, 3], [3, 0, 3, 0, 15, 0]);
    // src may be larger than index: only its leading block (index's shape) is used, as in torch.
    const s2 = scatterAdd(zeros([2, 3]), 1, tensor([[2], [0]], { dtype: 'int32' }), tensor([[1, 2, 3], [4, 5, 6]]));
    await expectTensor(s2, [2, 3], [0, 0, 1, 4, 0, 0]);
  } },
  { name: 'quantizedLinear (int8, 4-bit) against the product with the dequantized weight', run: async () => {
    for (const [bits, M, K, N] of [[8, 3, 37, 11], [4, 2, 64, 9]] as const) {
      const l = quantLayout(bits, N, K), sh = quantShapes(l);
      const { qweight, scales } = quantizeWeight(new Float32Array(det(N * K, 7)), l);
      const w = Array.from(dequantizeWeight(qweight, scales, l)), x = det(M * K, 8), bias = det(N, 9);
      const wT = Array.from({ length: K * N }, (_, i) => w[(i % N) * K + Math.floor(i / N)]!);
      const y = quantizedLinear(tensor(x, { shape: [M, K] }), tensor(qweight, { shape: sh.qweight }), tensor(scales, { shape: sh.scales }),
        tensor(bias), l);
      const ref = refMatmul(x, wT, M, K, N).map((v, i) => v + bias[i % N]!);
      const scale = refMatmul(x.map(Math.abs), wT.map(Math.abs), M, K, N).map((v, i) => v + Math.abs(bias[i % N]!));
      const got = await vals(y);
      // Within float32 rounding of the scale, plus what rounding x costs the kernels that do (cpu's
      // WebAssembly kernel: int16 per row, ~3e-5 of the scale; the native 4-bit VNNI kernel: int8, ~4e-3).
      const tol = bits === 8 ? 1e-4 : 5e-3;
      got.forEach((g, i) => assert.ok(Math.abs(g - ref[i]!) <= tol * scale[i]!, `${bits}-bit [${M},${K}]: element ${i}: got ${g}, expected ${ref[i]}`));
    }
  } },
];

// Index kernels beyond the small cases of linalg.ts: indexSelect along every dim with repeated
// indices and more indices than a GPU workgroup has threads, its gradient (the scatter-add of
// embeddings), gather / scatterAdd along every dim of a 3-D tensor with an index smaller than the
// input, int32 data, and an index out of range, reported as an error on every backend (on webgpu
// by the next read: a kernel cannot throw).

import assert from 'node:assert/strict';
import { tensor, gather, scatterAdd, functional as F } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { assertClose } from '../assert.js';
import { det, expectTensor, stridesOf, unravel } from './util.js';

/** Deterministic int indices in [0, n). */
function ids(count: number, n: number, seed: number): number[] {
  return det(count, seed, 1).map((v) => Math.min(n - 1, Math.floor((v + 1) / 2 * n)));
}

const flatAt = (c: readonly number[], shape: readonly number[]) => c.reduce((a, v, d) => a + v * stridesOf(shape)[d]!, 0);

export const indexingCases: Case[] = [
  { name: 'indexSelect along every dim with repeats, and its gradient (indexAdd) summing the repeats', run: async () => {
    const shape = [3, 5, 70];
    const data = det(3 * 5 * 70, 31);
    for (const dim of [0, 1, 2]) {
      const n = shape[dim]!, m = dim === 2 ? 300 : 9; // 300 > one 256-thread workgroup
      const index = ids(m, n, 40 + dim);
      const x = tensor(data, { shape, requiresGrad: true });
      const y = x.indexSelect(dim, tensor(index, { dtype: 'int32' }));
      const outShape = shape.slice(); outShape[dim] = m;
      const total = outShape.reduce((a, b) => a * b, 1);
      const ref: number[] = [], g = det(total, 50 + dim), gref = new Array<number>(data.length).fill(0);
      for (let p = 0; p < total; p++) {
        const c = unravel(p, outShape);
        c[dim] = index[c[dim]!]!;
        ref.push(data[flatAt(c, shape)]!);
        gref[flatAt(c, shape)]! += g[p]!;
      }
      await expectTensor(y, outShape, ref, { what: `indexSelect dim ${dim}` });
      y.backward(tensor(g, { shape: outShape }));
      // Sums of repeats may cancel: measured against the scale of g (1).
      assertClose(await x.grad!.data(), gref, 1e-5, `indexSelect dim ${dim} gradient`, 1);
    }
    // An embedding table read by 1000 ids (many repeats per row): the weight gradient counts each.
    const w = tensor(det(50 * 4, 7), { shape: [50, 4], requiresGrad: true });
    const tokens = ids(1000, 50, 8);
    F.embedding(tensor(tokens, { shape: [10, 100], dtype: 'int32' }), w).sum().backward();
    const counts = new Array<number>(50).fill(0);
    for (const t of tokens) counts[t]!++;
    await expectTensor(w.grad!, [50, 4], counts.flatMap((c) => [c, c, c, c]), { what: 'embedding gradient' });
  } },
  { name: 'gather and scatterAdd along every dim of a 3-D tensor, index smaller than the input, int32 data', run: async () => {
    const shape = [4, 5, 6];
    const data = det(120, 61);
    const x = tensor(data, { shape, requiresGrad: true });
    for (const dim of [0, 1, 2]) {
      const ishape = [3, 4, 5]; // smaller than x off dim, and along dim (index values pick within x's size)
      const total = 60;
      const index = ids(total, shape[dim]!, 70 + dim);
      const it = tensor(index, { shape: ishape, dtype: 'int32' });
      const ref: number[] = [], dst = new Array<number>(120).fill(0);
      const src = det(total, 80 + dim);
      for (let p = 0; p < total; p++) {
        const c = unravel(p, ishape);
        c[dim] = index[p]!;
        ref.push(data[flatAt(c, shape)]!);
        dst[flatAt(c, shape)]! += src[p]!;
      }
      await expectTensor(gather(x, dim, it), ishape, ref, { what: `gather dim ${dim}` });
      const scattered = scatterAdd(tensor(new Float32Array(120), { shape }), dim, it, tensor(src, { shape: ishape }));
      assertClose(await scattered.data(), dst, 1e-5, `scatterAdd dim ${dim}`, 1);
      const ints = tensor(data.map((v) => Math.round(v * 100)), { shape, dtype: 'int32' });
      await expectTensor(gather(ints, dim, it), ishape, ref.map((v) => Math.round(v * 100)), { dtype: 'int32', what: `gather int32 dim ${dim}` });
    }
    // gather's gradient is a scatterAdd of the upstream gradient.
    const it = tensor([[[0, 0, 5]], [[1, 1, 1]]], { dtype: 'int32' });
    gather(x.narrow(0, 0, 2), 2, it).sum().backward();
    const grad = new Array<number>(120).fill(0);
    grad[0] = 2; grad[5] = 1; grad[30 + 1] = 3;
    await expectTensor(x.grad!, shape, grad, { what: 'gather gradient' });
  } },
  { name: 'an index out of range is an error naming the op, the index and the size', run: async () => {
    const x = tensor([[1, 2], [3, 4], [5, 6]]);
    const read = async (f: () => { data(): Promise<unknown> }) => { await f().data(); };
    await assert.rejects(read(() => x.indexSelect(0, tensor([0, 3], { dtype: 'int32' }))), /indexSelect: index 3 is out of range for a dimension of size 3/);
    await assert.rejects(read(() => gather(x, 1, tensor([[0], [-1], [1]], { dtype: 'int32' }))), /gather: index -1 is out of range for a dimension of size 2/);
    await assert.rejects(read(() => scatterAdd(x, 0, tensor([[7, 0]], { dtype: 'int32' }), tensor([[1, 1]]))), /scatterAdd: index 7 is out of range for a dimension of size 3/);
    // Reported once: the next reads are clean.
    await expectTensor(x.indexSelect(0, tensor([2], { dtype: 'int32' })), [1, 2], [5, 6]);
  } },
];

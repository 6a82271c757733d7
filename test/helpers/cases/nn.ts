// nn.functional ops checked by hand: layerNorm, embedding, dropout statistics, crossEntropy, klDiv,
// attention; and toString against torch's printed strings.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, arange, functional as F, Generator } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { counterUniform } from '../../../src/backend/random_hash.js';
import { expectTensor, vals } from './util.js';

interface ToStringCase { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool'; data: (number | string)[] | null; arangeDiv?: number; str: string }
const SPECIAL: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };

export const nnCases: Case[] = [
  { name: 'layerNorm normalizes rows (with and without affine)', run: async () => {
    const x = tensor([[1, 2, 3, 4], [2, 2, 2, 2]]);
    const s = Math.sqrt(1.25 + 1e-5);
    await expectTensor(F.layerNorm(x, [4]), [2, 4], [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0, 0, 0, 0], { tol: 1e-6 });
    const y = F.layerNorm(x, [4], tensor([1, 2, 1, 1]), tensor([0, 0, 0, 10]), 1e-5);
    await expectTensor(y, [2, 4], [-1.5 / s, -1 / s, 0.5 / s, 10 + 1.5 / s, 0, 0, 0, 10], { tol: 1e-6 });
  } },
  { name: 'embedding picks rows, keeping the ids shape', run: async () => {
    const w = arange(12).float().reshape(4, 3);
    await expectTensor(F.embedding(tensor([[3, 0], [1, 1]], { dtype: 'int32' }), w), [2, 2, 3], [9, 10, 11, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    await expectTensor(F.embedding(tensor(2, { dtype: 'int32' }), w), [3], [6, 7, 8]);
  } },
  { name: 'dropout: drop rate, 1/(1-p) scaling, eval identity, seeded masks', run: async () => {
    const x = tensor(new Float32Array(20000).fill(1), { shape: [100, 200] });
    const y = await vals(F.dropout(x, 0.3, true, new Generator(5)));
    const zeros = y.filter((v) => v === 0).length / y.length;
    // Binomial std of the drop rate is sqrt(0.21/20000) ≈ 0.0032: 0.015 is ~5 sigma.
    assert.ok(Math.abs(zeros - 0.3) < 0.015, `drop rate ${zeros}`);
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6), 'kept values are scaled by 1/(1-p)');
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    assert.ok(Math.abs(mean - 1) < 0.03, `mean ${mean} (dropout keeps the expectation)`);
    assert.deepEqual(await vals(F.dropout(x, 0.3, true, new Generator(5))), y, 'same generator seed, same mask');
    assert.equal(F.dropout(x, 0.3, false), x);
    assert.equal(F.dropout(x, 0), x);
    assert.ok((await vals(F.dropout(x, 1))).every((v) => v === 0));
  } },
  { name: 'dropout: the mask is the counter-based stream of two keys from the generator (the same on every backend)', run: async () => {
    const x = tensor(new Float32Array(4099).fill(2), { shape: [4099] });
    const g = new Generator(11), keys = new Generator(11);
    const y = await vals(F.dropout(x, 0.25, true, g));
    const k0 = keys.nextUint32(), k1 = keys.nextUint32();
    const scale = Math.fround(2 * Math.fround(1 / 0.75));
    y.forEach((v, i) => assert.equal(v, counterUniform(i, k0, k1) < 0.25 ? 0 : scale, `element ${i}`));
    assert.deepEqual(g.getState(), keys.getState(), 'the generator advanced by the two keys only');
    assert.notDeepEqual(await vals(F.dropout(x, 0.25, true, g)), y, 'the next call draws new keys');
  } },
  { name: 'crossEntropy by hand: uniform logits, ignore index, label smoothing', run: async () => {
    const logits = tensor([[0, 0, 0], [0, 0, 0]]);
    const t = tensor([2, -100], { dtype: 'int32' });
    await expectTensor(F.crossEntropy(logits, t), [], [Math.log(3)]);
    await expectTensor(F.crossEntropy(logits, t, { reduction: 'none' }), [2], [Math.log(3), 0]);
    await expectTensor(F.crossEntropy(logits, t, { reduction: 'sum' }), [], [Math.log(3)]);
    // One confident row: -log softmax = log(1 + 2e^-10); smoothing adds eps * mean over classes of -log p.
    const l2 = tensor([[10, 0, 0]]);
    const lp0 = -Math.log(1 + 2 * Math.exp(-10)), lp1 = lp0 - 10;
    await expectTensor(F.crossEntropy(l2, tensor([0], { dtype: 'int32' }), { labelSmoothing: 0.3 }), [],
      [0.7 * -lp0 + 0.3 * -(lp0 + 2 * lp1) / 3], { tol: 1e-6 });
  } },
  { name: 'klDiv matches torch.nn.functional.kl_div (reductions, a zero target, log targets)', run: async () => {
    // Values printed by torch 1.13 for the same inputs.
    const lp = F.logSoftmax(tensor([[1, 2, 0.5], [0, -1, 3]]), 1), t = tensor([[0.2, 0.8, 0], [0.5, 0.25, 0.25]]);
    await expectTensor(F.klDiv(lp, t, { reduction: 'none' }), [2, 3],
      [-0.02901381254196167, 0.19298021495342255, 0, 1.1863683462142944, 0.6698974370956421, -0.3301026225090027], { tol: 1e-6 });
    await expectTensor(F.klDiv(lp, t, { reduction: 'batchmean' }), [], [0.8450647592544556], { tol: 1e-6 });
    await expectTensor(F.klDiv(lp, t), [], [0.28168824315071106], { tol: 1e-6 });
    await expectTensor(F.klDiv(lp, t, { reduction: 'sum' }), [], [1.6901295185089111], { tol: 1e-6 });
    const logT = tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]).log();
    await expectTensor(F.klDiv(lp, logT, { reduction: 'batchmean', logTarget: true }), [], [0.8212931156158447], { tol: 1e-6 });
    const self = (await vals(F.klDiv(lp, lp.exp(), { reduction: 'sum' })))[0]!;
    assert.ok(Math.abs(self) < 1e-6, `KL of a distribution from itself is 0, got ${self}`);
    assert.throws(() => F.klDiv(lp, tensor([0.5, 0.5])), /klDiv: target \[2\] does not match input \[2,3\]/);
  } },
  { name: 'scaledDotProductAttention: causal mask equals the explicit computation', run: async () => {
    const q = tensor([[1, 0], [0, 1], [1, 1]]), k = tensor([[1, 0], [0, 1], [1, -1]]), v = tensor([[1, 2], [3, 4], [5, 6]]);
    const out = await vals(F.scaledDotProductAttention(q, k, v, { isCausal: true }));
    const Q = [[1, 0], [0, 1], [1, 1]], K = [[1, 0], [0, 1], [1, -1]], V = [[1, 2], [3, 4], [5, 6]];
    const ref: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = K.slice(0, i + 1).map((kk) => (Q[i]![0]! * kk[0]! + Q[i]![1]! * kk[1]!) / Math.SQRT2);
      const m = Math.max(...s), e = s.map((z) => Math.exp(z - m)), z = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < 2; c++) ref.push(e.reduce((acc, w, j) => acc + (w / z) * V[j]![c]!, 0));
    }
    out.forEach((o, i) => assert.ok(Math.abs(o - ref[i]!) < 1e-6, `attention[${i}] ${o} vs ${ref[i]}`));
    // A bool mask (true = may attend) of the same triangle gives the same result.
    const allowed = tensor([[true, false, false], [true, true, false], [true, true, true]]);
    assert.deepEqual(await vals(F.scaledDotProductAttention(q, k, v, { attnMask: allowed })), out);
  } },
  { name: 'toString prints like torch', run: async ({ backend }) => {
    if (backend !== 'cpu') {
      // Values print only from cpu tensors (toString is synchronous); elsewhere a placeholder says how to read them.
      assert.equal(tensor([1, 2]).toString(), `tensor(<on ${backend}: use await t.data()> shape=[2], dtype=float32)`);
      return;
    }
    const fx = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/ops/tostring.json'), 'utf8')) as { cases: ToStringCase[] };
    for (const c of fx.cases) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const data = c.data === null ? [...Array(n).keys()].map((i) => i / c.arangeDiv!) : c.data.map((v) => (typeof v === 'string' ? SPECIAL[v]! : v));
      const x = tensor(data, { shape: c.shape, dtype: c.dtype });
      assert.equal(x.toString(), c.str.replace('torch.int32', 'tlm.int32'), c.name);
    }
    assert.equal(tensor([1, 2], { requiresGrad: true }).toString(), 'tensor([1., 2.], requires_grad=True)');
  } },
];

// The graph owns what backward() needs (src/tensor/autograd.ts): a tensor disposed while a live graph
// node still needs it — by tidy(), or by hand — becomes unusable but keeps its storage until
// backward() has run through that node, or until the tensor that owns the graph is disposed.
//
// Every op family is held to it three ways against the plain path (nothing disposed before
// backward): intermediates and constant inputs disposed by hand, then backward; the loss returned
// from tidy(), then backward; and the tidy-returned loss disposed without backward. The gradients
// must be bit-for-bit the plain path's, and once backward (or the loss's dispose) is done the live
// tensor count must be back where it was: the graph frees what it held.

import test from 'node:test';
import assert from 'node:assert/strict';
import { cat, functional as F, Generator, manualSeed, memory, models, optim, scatterAdd, setBackend, setCpuKernels, stack, tensor, tidy, where,
  type Tensor } from '../src/index.js';
import { input, uniform, type GradInput } from './helpers/gradcheck.js';
import { runOnBackends, type Case } from './helpers/suite.js';

/** Live tensors, counting finalizer-reclaimed garbage as still alive (as test/memory.test.ts). */
const live = () => { const m = memory(); return m.numTensors + m.numCollected; };

/** `m` marks a tensor that the by-hand run disposes before backward (and returns it). */
type Mark = <T extends Tensor>(t: T) => T;
type Build = (xs: Tensor[], m: Mark) => Tensor;

const ids = (v: number[], shape = [v.length]) => tensor(v, { shape, dtype: 'int32' });
const bools = (v: number[], shape: number[]) => tensor(v, { shape, dtype: 'bool' });

/** Σ out·w with fixed weights: every output element reaches the gradient with its own factor. */
function lossOf(build: Build, xs: Tensor[], m: Mark): Tensor {
  const out = m(build(xs, m));
  const w = m(tensor(uniform(out.numel, 77), { shape: [...out.shape] }));
  return out.mul(w).sum();
}

async function gradsOf(xs: Tensor[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const [i, x] of xs.entries()) {
    assert.notEqual(x.grad, null, `input ${i} got no gradient`);
    out.push(Array.from(await x.grad!.data()));
  }
  return out;
}

/** One op family member, checked the three ways described at the top. */
function disposedCase(name: string, inputs: GradInput[], build: Build): Case {
  return { name, run: async () => {
    const leaves = () => inputs.map((x) => tensor(x.data, { shape: x.shape, requiresGrad: true }));
    const none: Mark = (t) => t;

    const xs0 = leaves();
    tidy(() => lossOf(build, xs0, none).backward());
    const want = await gradsOf(xs0);

    // By hand: every marked intermediate and constant input disposed before backward.
    const xs1 = leaves();
    tidy(() => {
      const made: Tensor[] = [];
      const loss = lossOf(build, xs1, (t) => { made.push(t); return t; });
      for (const t of made) t.dispose();
      for (const t of made) assert.throws(() => t.add(1), /was disposed and cannot be used/, 'a disposed tensor stays unusable');
      loss.backward();
    });
    assert.deepEqual(await gradsOf(xs1), want, 'intermediates disposed by hand: same gradients');

    // Returned from tidy: every intermediate (the ops' own temporaries too) was disposed there.
    const xs2 = leaves();
    const before = live();
    const loss = tidy(() => lossOf(build, xs2, none));
    assert.ok(live() > before + 1, 'the returned loss holds its graph');
    loss.backward();
    assert.equal(live(), before + 1 + xs2.length, 'after backward only the loss and the .grad of each input are left');
    loss.dispose();
    assert.deepEqual(await gradsOf(xs2), want, 'loss returned from tidy: same gradients');
    for (const x of xs2) x.zeroGrad();
    assert.equal(live(), before, 'nothing left behind');

    // Returned from tidy and disposed without backward: the whole graph goes with it.
    tidy(() => lossOf(build, xs2, none)).dispose();
    assert.equal(live(), before, 'disposing the loss frees its graph');
    for (const x of [...xs0, ...xs1, ...xs2]) x.dispose();
  } };
}

const x23 = input([2, 3], 1), y23 = input([2, 3], 2), x3 = input([3], 3), x34 = input([3, 4], 4), x234 = input([2, 3, 4], 5);
const pos23 = input([2, 3], 6, { positive: true });
/** An intermediate in front of each op, so that the op's own inputs are disposable. */
const pre = (x: Tensor, m: Mark) => m(x.mul(1.25));

const elementwise: Case[] = [
  disposedCase('unary: exp, tanh, sigmoid, gelu, relu, sin', [x23], ([x], m) =>
    m(m(m(m(m(pre(x!, m).exp()).tanh()).sigmoid()).gelu({ approximate: 'tanh' })).relu()).sin()),
  disposedCase('unary on positives: log, sqrt, rsqrt, square, abs', [pos23], ([x], m) =>
    m(m(m(m(pre(x!, m).log()).add(2)).sqrt()).rsqrt()).square().abs()),
  disposedCase('binary with broadcast: mul, div, sub, pow, maximum, minimum', [x23, pos23, x3], ([a, b, c], m) => {
    const pa = pre(a!, m), pb = pre(b!, m), pc = pre(c!, m);
    const q = m(m(m(pa.mul(pc)).div(pb)).sub(pc));
    return m(m(q.maximum(pa)).minimum(pb)).add(m(pb.pow(pc)));
  }),
  disposedCase('scalar operands, clamp, where, maskedFill', [x23, y23], ([a, b], m) => {
    const cond = m(bools([1, 0, 1, 0, 0, 1], [2, 3]));
    const pa = pre(a!, m), pb = pre(b!, m);
    const w = m(where(cond, m(pa.mul(3).add(1)), pb));
    return m(w.clamp(-0.5, 0.7)).maskedFill(m(bools([0, 1, 0], [3])), 0).add(m(pb.pow(2)));
  }),
];

const reductions: Case[] = [
  disposedCase('sum, mean over dims', [x234], ([x], m) => {
    const p = pre(x!, m);
    return m(p.sum([0, 2])).add(m(m(p.mean(2)).sum(0)));
  }),
  disposedCase('var, max, min, logsumexp', [x234], ([x], m) => {
    const p = pre(x!, m);
    return cat([m(p.var(2)), m(p.max(2)), m(p.min(1)).narrow(1, 0, 3), m(p.logsumexp(-1))].map((t) => m(t.reshape(-1))));
  }),
];

const views: Case[] = [
  disposedCase('transpose, permute, reshape of a strided view (a copy), flatten', [x234], ([x], m) => {
    const p = pre(x!, m);
    const t = m(m(p.transpose(0, 2)).reshape(4, 6));
    return m(m(m(p.permute(2, 0, 1)).flatten()).reshape(4, 6)).add(t);
  }),
  disposedCase('slice with a step, narrow, select, squeeze, unsqueeze, expand', [x234], ([x], m) => {
    const p = pre(x!, m);
    const s = m(m(p.slice(2, 0, 4, 2)).narrow(1, 1, 2));
    const e = m(m(m(m(m(p.select(0, 1)).unsqueeze(0)).narrow(2, 0, 2)).expand(2, 3, 2)).narrow(1, 0, 2));
    return m(s.add(e).unsqueeze(3)).squeeze(3);
  }),
  disposedCase('clone, contiguous, view', [x34], ([x], m) => m(m(m(m(pre(x!, m).mT).contiguous()).clone()).view(2, 6))),
];

const linalg: Case[] = [
  disposedCase('matmul: 2-D, batched with a broadcast weight, vector', [x23, x34, x234, x3], ([a, b, c, v], m) => {
    const ab = m(pre(a!, m).matmul(pre(b!, m)));
    const cb = m(pre(c!, m).matmul(m(pre(b!, m).mT)));
    return m(ab.sum(0)).add(m(m(cb.sum(0)).matmul(pre(v!, m))).sum());
  }),
  disposedCase('linear with bias', [x234, input([5, 4], 7), input([5], 8)], ([x, w, b], m) => F.linear(pre(x!, m), pre(w!, m), pre(b!, m))),
];

const indexing: Case[] = [
  disposedCase('indexSelect, gather, scatterAdd', [x34, x23], ([x, s], m) => {
    const p = pre(x!, m);
    const a = m(p.indexSelect(0, m(ids([2, 0, 2]))));
    const g = m(p.gather(1, m(ids([3, 0, 1, 1, 2, 2], [2, 3]))));
    const sa = m(scatterAdd(g, 1, m(ids([0, 0, 2, 1, 1, 2], [2, 3])), pre(s!, m)));
    return m(a.sum(0)).add(m(m(sa.sum()).add(m(g.sum(0)).sum())));
  }),
  disposedCase('embedding with paddingIdx', [input([5, 3], 9)], ([w], m) =>
    F.embedding(m(ids([1, 4, 0, 1, 3, 0], [2, 3])), pre(w!, m), { paddingIdx: 0 })),
];

const nn: Case[] = [
  disposedCase('softmax (last dim and another), logSoftmax', [x234], ([x], m) => {
    const p = pre(x!, m);
    return m(m(F.softmax(p, -1)).add(m(F.softmax(p, 1)))).add(m(F.logSoftmax(p, 0)));
  }),
  disposedCase('layerNorm of a strided input, with weight and bias', [x234, input([2], 10), input([2], 11)], ([x, w, b], m) =>
    F.layerNorm(m(pre(x!, m).narrow(2, 1, 2)), [2], pre(w!, m), pre(b!, m))),
  disposedCase('crossEntropy (label smoothing, class weights, ignored targets), nllLoss', [x34, input([4], 12, { positive: true })], ([x, cw], m) => {
    const p = pre(x!, m), target = m(ids([1, -100, 3]));
    const ce = m(F.crossEntropy(p, target, { labelSmoothing: 0.1, weight: pre(cw!, m) }));
    return ce.add(m(F.nllLoss(m(F.logSoftmax(p, 1)), target)));
  }),
  disposedCase('attention: fused, causal', [x234, input([2, 3, 4], 13), input([2, 3, 4], 14)], ([q, k, v], m) =>
    F.scaledDotProductAttention(pre(q!, m), pre(k!, m), pre(v!, m), { isCausal: true })),
  disposedCase('attention: fused, bool mask, heads as strided views of one projection', [input([2, 3, 24], 15)], ([x], m) => {
    const heads = (t: Tensor) => m(m(t.reshape(2, 3, 2, 4)).transpose(1, 2));
    const [q, k, v] = pre(x!, m).split(8, 2).map((t) => m(t));
    return F.scaledDotProductAttention(heads(q!), heads(k!), heads(v!), { attnMask: m(bools([1, 1, 0, 1, 1, 1, 0, 1, 1], [3, 3])) });
  }),
  disposedCase('attention: composite path (float mask that needs a gradient)', [x234, input([2, 3, 4], 16), input([3, 3], 17)], ([q, k, mask], m) =>
    F.scaledDotProductAttention(pre(q!, m), pre(k!, m), pre(k!, m), { attnMask: pre(mask!, m) })),
  disposedCase('dropout (same seed each run)', [x34], ([x], m) => F.dropout(pre(x!, m), 0.3, true, new Generator(5))),
];

const concat: Case[] = [
  disposedCase('cat, stack', [x23, y23], ([a, b], m) => {
    const pa = pre(a!, m), pb = pre(b!, m);
    const c = m(cat([pa, pb, pa], 1)), s = m(stack([pa, pb], 2));
    return cat([m(c.flatten()), m(s.flatten())]);
  }),
  disposedCase('split, chunk', [x234], ([x], m) => {
    const parts = [...pre(x!, m).split([1, 3], 2), ...pre(x!, m).chunk(2, 1)].map((t, i) => m(m(t.mul(i + 1)).flatten()));
    return cat(parts);
  }),
];

// ---- a real model: the README's training loop, written with tidy ----

const tinyGpt2 = () => new models.GPT2LMHeadModel({ vocab_size: 12, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2,
  resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
const seq = [[1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4]];

async function paramGrads(model: models.GPT2LMHeadModel): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of model.parameters()) {
    assert.notEqual(p.grad, null, `parameter ${p.name || p.describe()} got no gradient`);
    out.push(Array.from(await p.grad!.data()));
  }
  return out;
}

test('GPT-2: tidy(() => forward().loss).backward() gives the plain path\'s gradients, bit for bit', async () => {
  await setBackend('cpu');
  setCpuKernels('wasm');
  manualSeed(3);
  const model = tinyGpt2();
  tidy(() => model.forward({ inputIds: seq, labels: seq }).loss!.backward());
  const want = await paramGrads(model);
  model.zeroGrad();

  const before = live();
  const inputIds = ids(seq[0]!, [1, seq[0]!.length]);
  const loss = tidy(() => model.forward({ inputIds, labels: inputIds }).loss!);
  inputIds.dispose(); // the embedding's index is one of the tensors the graph holds
  loss.backward();
  assert.equal(live(), before + 1 + model.parameters().length, 'after backward only the loss and the .grad of each parameter are left');
  assert.deepEqual(await paramGrads(model), want);
  loss.dispose();
  model.zeroGrad();
  assert.equal(live(), before, 'nothing left behind');

  // The trainer's pattern (backward inside the tidy) is unchanged.
  const v = tidy(() => { const l = model.forward({ inputIds: seq, labels: seq }).loss!; l.backward(); return l.item(); });
  assert.ok(Number.isFinite(v));
  assert.deepEqual(await paramGrads(model), want);
  model.zeroGrad();
  assert.equal(live(), before, 'nothing left behind by the trainer\'s pattern');
  model.dispose();
});

test('GPT-2: 100 AdamW steps of const l = tidy(...); l.backward(); l.dispose(): the model learns, live tensors stay flat', async () => {
  await setBackend('cpu');
  setCpuKernels('wasm');
  manualSeed(4);
  const model = tinyGpt2();
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  const losses: number[] = [];
  let start = { tensors: 0, bytes: 0 };
  for (let step = 0; step < 100; step++) {
    const l = tidy(() => model.forward({ inputIds: seq, labels: seq }).loss!);
    losses.push(l.item());
    l.backward();
    l.dispose();
    opt.step();
    opt.zeroGrad();
    const now = { tensors: live(), bytes: memory().numBytes };
    if (step === 0) start = now; // the first step makes the optimizer's state
    else assert.deepEqual(now, start, `after step ${step + 1}`);
  }
  assert.ok(losses[99]! < 0.3 * losses[0]!, `the loss falls: ${losses[0]} -> ${losses[99]}`);
  opt.dispose();
  model.dispose();
});

// ---- the rule's edges ----

test('backward of a disposed loss is an error naming it; a second backward through a freed graph too', async () => {
  await setBackend('cpu');
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const gone = tidy(() => x.mul(2).exp().sum());
  gone.dispose();
  assert.throws(() => gone.backward(), /backward: tensor \[\] float32 was disposed; call backward\(\) before dispose\(\)/);
  const loss = tidy(() => x.mul(2).exp().sum());
  loss.backward();
  assert.throws(() => loss.backward(), /backward: trying to backward through the graph a second time \(Sum was already freed\)/);
  loss.dispose();
  x.dispose();
});

test('retainGraph keeps the held intermediates for the next backward; the last one frees them', async () => {
  await setBackend('cpu');
  const x = tensor([0.5, -1, 2], { requiresGrad: true });
  const before = live();
  const loss = tidy(() => x.mul(x).exp().sum());
  loss.backward(undefined, { retainGraph: true });
  const held = live();
  assert.ok(held > before + 2, 'the graph still holds its intermediates');
  loss.backward(undefined, { retainGraph: true });
  assert.equal(live(), held, 'a retained backward frees nothing of the graph');
  loss.backward();
  assert.equal(live(), before + 2, 'the last backward freed the graph (the loss and x.grad are left)');
  const want = [0.5, -1, 2].map((v) => 3 * 2 * v * Math.exp(v * v));
  (await x.grad!.data()).forEach((g, i) => assert.ok(Math.abs(g - want[i]!) < 1e-5 * Math.abs(want[i]!), `x.grad[${i}] = ${g}, want ${want[i]}`));
  loss.dispose();
  x.dispose();
});

test('a leaf disposed before backward gets no .grad; the other leaves get theirs', async () => {
  await setBackend('cpu');
  const a = tensor([1, 2], { requiresGrad: true }), b = tensor([3, 4], { requiresGrad: true });
  const before = live();
  const loss = tidy(() => a.mul(b).sum());
  b.dispose(); // held by the graph (a's gradient reads it), unusable, its gradient could never be read
  loss.backward();
  assert.deepEqual(Array.from(await a.grad!.data()), [3, 4]);
  assert.equal(b.grad, null);
  loss.dispose();
  a.zeroGrad();
  assert.equal(live(), before - 1, 'b was freed with the graph');
  a.dispose();
});

runOnBackends('backward after the intermediates were disposed', { elementwise, reductions, views, linalg, indexing, nn, 'concat and split': concat });

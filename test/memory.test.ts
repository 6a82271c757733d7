// The memory policy in practice: 100 training steps inside tidy() leave the live-tensor count, the
// live bytes and the pool bytes exactly where they were after the first (warm-up) step. The warm-up
// step is excluded because it is the one that fills the pool with the step's working set.

import assert from 'node:assert/strict';
import { functional as F, Generator, memory, noGrad, ones, randn, randint, tidy, zeros, type Tensor } from '../src/index.js';
import { getKernel } from '../src/backend/registry.js';
import { runOnBackends, type Case } from './helpers/suite.js';

const STEPS = 100;
/** Live tensors, counting finalizer-reclaimed garbage as still alive (see train()). */
const live = () => { const m = memory(); return m.numTensors + m.numCollected; };

/** Leaf parameters made inside tidy (the scaled draws are the only thing kept). */
function params(shapes: Record<string, number[]>, g: Generator): Record<string, Tensor> {
  return tidy(() => {
    const out: Record<string, Tensor> = {};
    for (const [k, s] of Object.entries(shapes)) {
      // layerNorm weights (ln*w) start at one, biases (b*, ln*b) at zero, matrices at N(0, 1/fan_in).
      const init = /^ln.*w$/.test(k) ? ones(s) : /^(b|ln)/.test(k) ? zeros(s) : randn(s, { generator: g }).mul(1 / Math.sqrt(s[s.length - 1]!));
      out[k] = init.requiresGrad_(true);
    }
    return out;
  });
}

/** Runs the steps; returns the losses. `step` is one whole update and returns the detached loss. */
async function train(step: () => Tensor): Promise<number[]> {
  const losses: number[] = [];
  const run = async () => { const l = step(); losses.push((await l.data())[0]!); l.dispose(); };
  await run(); // warm-up
  const m0 = memory();
  for (let i = 1; i < STEPS; i++) {
    await run();
    const m = memory();
    // Garbage left by earlier tests may be finalized between steps (the awaits yield to it): that
    // moves tensors to numCollected and bytes to the pool, but the sums below only move on a leak.
    assert.deepEqual({ tensors: m.numTensors + m.numCollected, heap: m.numBytes + m.poolBytes },
      { tensors: m0.numTensors + m0.numCollected, heap: m0.numBytes + m0.poolBytes }, `after step ${i + 1}`);
    assert.ok(m.numBytes <= m0.numBytes && m.storages <= m0.storages, `live bytes and storages must not grow (step ${i + 1})`);
  }
  return losses;
}

const mlp: Case = { name: '2-layer MLP, SGD through copy_ under noGrad', run: async () => {
  const g = new Generator(1);
  const p = params({ w1: [16, 8], b1: [16], w2: [4, 16], b2: [4] }, g);
  const x = randn([32, 8], { generator: g }), y = randn([32, 4], { generator: g });
  const before = live();
  const losses = await train(() => tidy(() => {
    const out = F.linear(F.linear(x, p.w1!, p.b1).relu(), p.w2!, p.b2);
    const loss = out.sub(y).square().mean();
    loss.backward();
    noGrad(() => { for (const t of Object.values(p)) { t.copy_(t.sub(t.grad!.mul(0.05))); t.zeroGrad(); } });
    return loss.detach();
  }));
  assert.ok(losses[STEPS - 1]! < 0.8 * losses[0]!, `the model trains: loss ${losses[0]} -> ${losses[STEPS - 1]}`);
  assert.equal(live(), before, 'nothing outlives the steps');
  for (const t of [...Object.values(p), x, y]) t.dispose();
} };

const attention: Case = { name: 'tiny attention block (embedding, layerNorm, causal attention, gelu, dropout, crossEntropy), AdamW kernel', run: async ({ backend }) => {
  const V = 11, T = 6, D = 8, H = 2;
  const g = new Generator(2);
  const p = params({ emb: [V, D], pos: [T, D], ln1w: [D], ln1b: [D], wq: [D, D], wk: [D, D], wv: [D, D], wo: [D, D],
    ln2w: [D], ln2b: [D], ff1: [2 * D, D], bff1: [2 * D], ff2: [D, 2 * D], head: [V, D] }, g);
  const ids = randint(0, V, [2, T], { generator: g });
  const targets = randint(0, V, [2, T], { generator: g });
  const state = tidy(() => Object.values(p).map((t) => [zeros(t.shape), zeros(t.shape)] as const));
  const adamw = getKernel('adamw', backend);
  let step = 0;
  const losses = await train(() => tidy(() => {
    const heads = (t: Tensor) => t.reshape(2, T, H, D / H).transpose(1, 2);
    let h = F.embedding(ids, p.emb!).add(p.pos!);
    const a = F.layerNorm(h, [D], p.ln1w, p.ln1b);
    const att = F.scaledDotProductAttention(heads(F.linear(a, p.wq!)), heads(F.linear(a, p.wk!)), heads(F.linear(a, p.wv!)), { isCausal: true });
    h = h.add(F.linear(att.transpose(1, 2).reshape(2, T, D), p.wo!));
    const ff = F.dropout(F.linear(F.layerNorm(h, [D], p.ln2w, p.ln2b), p.ff1!, p.bff1).gelu(), 0.1, true, g);
    h = h.add(F.linear(ff, p.ff2!));
    const loss = F.crossEntropy(F.linear(h, p.head!).reshape(-1, V), targets.reshape(-1), { labelSmoothing: 0.05 });
    loss.backward();
    step++;
    const b = p.emb!.storage.backend;
    Object.values(p).forEach((t, i) => {
      adamw(b, t, t.grad!, state[i]![0], state[i]![1], { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01,
        bc1: 1 - 0.9 ** step, bc2: 1 - 0.999 ** step });
      t.zeroGrad();
    });
    return loss.detach();
  }));
  assert.ok(losses[STEPS - 1]! < 0.7 * losses[0]!, `the model trains: loss ${losses[0]} -> ${losses[STEPS - 1]}`);
} };

runOnBackends('memory: 100 training steps stay flat', { 'training loops': [mlp, attention] });

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensor } from '../src/index.js';
import { SGD, Adam, AdamW, clipGradNorm, type Optimizer } from '../src/train/optim.js';
import { noam, warmupCosine, warmupLinear } from '../src/train/schedule.js';
import { assertClose } from './helpers/assert.js';

interface Fixture {
  w0: number[]; b0: number[]; grads: { w: number[]; b: number[] }[];
  cases: Record<string, { options: Record<string, unknown>; trajectory: { w: number[]; b: number[] }[] }>;
  clip: { max_norm: number; norm: number; w: number[]; b: number[] };
  noam: { step: number; lr: number }[];
}
const fx = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/train/optimizers.json'), 'utf8')) as Fixture;

const make: Record<string, (p: ReturnType<typeof tensor>[], o: Record<string, unknown>) => Optimizer> = {
  sgd: (p, o) => new SGD(p, o as never),
  sgd_momentum: (p, o) => new SGD(p, o as never),
  sgd_nesterov: (p, o) => new SGD(p, o as never),
  adam: (p, o) => new Adam(p, o as never),
  adamw: (p, o) => new AdamW(p, o as never),
};

for (const [name, c] of Object.entries(fx.cases)) {
  test(`${name} follows torch.optim's trajectory over 5 steps`, () => {
    const w = tensor(fx.w0, { shape: [3, 4], requiresGrad: true });
    const b = tensor(fx.b0, { shape: [4], requiresGrad: true });
    const opt = make[name]!([w, b], c.options);
    c.trajectory.forEach((expected, i) => {
      w.grad = tensor(fx.grads[i]!.w, { shape: [3, 4] });
      b.grad = tensor(fx.grads[i]!.b, { shape: [4] });
      opt.step();
      assertClose(w.dataSync(), expected.w, 1e-5, `${name} w step ${i}`);
      assertClose(b.dataSync(), expected.b, 1e-5, `${name} b step ${i}`);
    });
  });
}

test('clipGradNorm scales to the max norm and returns the norm before', () => {
  const w = tensor(new Float32Array(12), { shape: [3, 4], requiresGrad: true });
  const b = tensor(new Float32Array(4), { shape: [4], requiresGrad: true });
  w.grad = tensor(fx.grads[0]!.w, { shape: [3, 4] });
  b.grad = tensor(fx.grads[0]!.b, { shape: [4] });
  const normTensor = clipGradNorm([w, b], fx.clip.max_norm);
  assert.deepEqual(normTensor.shape, [], 'the norm is a scalar tensor');
  const norm = normTensor.item();
  assert.ok(Math.abs(norm - fx.clip.norm) < 1e-4);
  assertClose(w.grad.dataSync(), fx.clip.w, 1e-5, 'clipped w');
  assertClose(b.grad.dataSync(), fx.clip.b, 1e-5, 'clipped b');
});

test('schedules: warmup + cosine as nanoGPT, linear, Noam', () => {
  const s = warmupCosine({ lr: 1e-3, minLr: 1e-4, warmupIters: 100, decayIters: 2000 });
  assert.ok(Math.abs(s(0) - 1e-3 / 101) < 1e-12);
  assert.ok(Math.abs(s(100) - 1e-3) < 1e-12);
  assert.ok(Math.abs(s(1050) - 5.5e-4) < 1e-9); // halfway down the cosine
  assert.equal(s(2001), 1e-4);
  const l = warmupLinear({ lr: 1, warmupIters: 0, decayIters: 10 });
  assert.ok(Math.abs(l(5) - 0.5) < 1e-12);
  const n = noam({ dModel: 512, warmupSteps: 400 });
  for (const p of fx.noam) assert.ok(Math.abs(n(p.step) - p.lr) < 1e-12, `noam step ${p.step}`);
});

test('optimizer state round-trips through stateDict', () => {
  const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const opt = new AdamW([w], { lr: 0.1 });
  w.grad = tensor([[1, 1], [1, 1]]);
  opt.step();
  const sd = opt.stateDict();
  const w2 = tensor(Array.from(w.dataSync()), { shape: [2, 2], requiresGrad: true });
  const opt2 = new AdamW([w2], { lr: 0.1 });
  opt2.loadStateDict(sd);
  w.grad = tensor([[0.5, -1], [2, 0]]); w2.grad = tensor([[0.5, -1], [2, 0]]);
  opt.step(); opt2.step();
  assert.deepEqual(Array.from(w2.dataSync()), Array.from(w.dataSync()));
});

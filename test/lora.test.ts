// nn.LoraLinear against PyTorch (scripts/gen_lora_fixtures.py: PEFT's lora.Linear formula in torch),
// finite differences, PEFT's init, merge/unmerge, dropout on the adapter path only, several adapters.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Generator, nn, noGrad, tensor, type Tensor } from '../src/index.js';
import { Conv1D } from '../src/models/index.js';
import { ErrorLog, floats, fromFixture, type FixtureTensor } from './nn_util.js';
import { gradcheck, input } from './helpers/gradcheck.js';

interface LoraCase {
  name: string; fanInFanOut: boolean; r: number; loraAlpha: number; useRslora: boolean; scaling: number;
  inputs: Record<'x' | 'weight' | 'lora_A' | 'lora_B' | 'grad_output', FixtureTensor> & { bias?: FixtureTensor };
  outputs: { output: FixtureTensor; merged_weight: FixtureTensor };
  grads: Record<'x' | 'lora_A' | 'lora_B', FixtureTensor>;
}
const fixture = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'test', 'fixtures', 'lora', 'lora_linear.json'), 'utf8')) as { cases: LoraCase[] };
const log = new ErrorLog();
after(() => log.report('torch fixture'));

/** A frozen base layer: Linear (weight [out, in]) or GPT-2's Conv1D (weight [in, out]). */
function baseLayer(fanInFanOut: boolean, nIn: number, nOut: number, bias = true): nn.LinearLike {
  const m = fanInFanOut ? new Conv1D(nOut, nIn, bias) : new nn.Linear(nIn, nOut, { bias });
  m.requiresGrad_(false);
  return m;
}

function fromCase(c: LoraCase): { layer: nn.LoraLinear; x: Tensor; g: Tensor } {
  const w = fromFixture(c.inputs.weight);
  const [nIn, nOut] = c.fanInFanOut ? w.shape : [w.shape[1]!, w.shape[0]!];
  const base = baseLayer(c.fanInFanOut, nIn!, nOut!, c.inputs.bias !== undefined);
  noGrad(() => { base.weight.copy_(w); if (c.inputs.bias) base.bias!.copy_(fromFixture(c.inputs.bias)); });
  const layer = new nn.LoraLinear(base, { fanInFanOut: c.fanInFanOut });
  layer.updateLayer('default', { r: c.r, loraAlpha: c.loraAlpha, useRslora: c.useRslora });
  layer.setAdapter('default');
  noGrad(() => { layer.lora_A.get('default')!.weight.copy_(fromFixture(c.inputs.lora_A)); layer.lora_B.get('default')!.weight.copy_(fromFixture(c.inputs.lora_B)); });
  return { layer, x: fromFixture(c.inputs.x, true), g: fromFixture(c.inputs.grad_output) };
}

for (const c of fixture.cases) {
  test(`LoraLinear ${c.name}: output and gradients of x, A, B match torch`, () => {
    const { layer, x, g } = fromCase(c);
    assert.equal(layer.scaling.default, c.scaling);
    const y = layer.forward(x);
    log.check('lora_linear', `${c.name} output`, y.dataSync(), floats(c.outputs.output));
    y.mul(g).sum().backward();
    const A = layer.lora_A.get('default')!.weight, B = layer.lora_B.get('default')!.weight;
    log.check('lora_linear', `${c.name} grad x`, x.grad!.dataSync(), floats(c.grads.x));
    log.check('lora_linear', `${c.name} grad lora_A`, A.grad!.dataSync(), floats(c.grads.lora_A));
    log.check('lora_linear', `${c.name} grad lora_B`, B.grad!.dataSync(), floats(c.grads.lora_B));
    assert.equal(layer.weight.grad, null, 'the frozen base weight gets no gradient');
  });

  test(`LoraLinear ${c.name}: merge gives torch's W + s·BA and the unmerged outputs; unmerge restores W`, () => {
    const { layer, x } = fromCase(c);
    const w0 = Float32Array.from(layer.weight.dataSync());
    const unmerged = noGrad(() => layer.forward(x)).dataSync();
    layer.merge();
    assert.ok(layer.merged);
    log.check('lora_linear', `${c.name} merged weight`, layer.weight.dataSync(), floats(c.outputs.merged_weight));
    const merged = noGrad(() => layer.forward(x)).dataSync();
    const scale = Math.max(...unmerged.map(Math.abs));
    for (let i = 0; i < merged.length; i++) assert.ok(Math.abs(merged[i]! - unmerged[i]!) <= 1e-5 * scale, `merged output [${i}]: ${merged[i]} vs ${unmerged[i]}`);
    layer.merge(); // merging twice adds nothing
    log.check('lora_linear', `${c.name} merged twice`, layer.weight.dataSync(), floats(c.outputs.merged_weight));
    layer.unmerge();
    assert.equal(layer.merged, false);
    const w = layer.weight.dataSync();
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i]! - w0[i]!) <= 1e-6, `unmerged weight [${i}]: ${w[i]} vs ${w0[i]}`);
  });
}

for (const fanInFanOut of [false, true]) {
  const kind = fanInFanOut ? 'Conv1D' : 'Linear';
  test(`LoraLinear (${kind}): finite-difference gradients of x, A and B`, async () => {
    const nIn = 4, nOut = 3, r = 2;
    const base = baseLayer(fanInFanOut, nIn, nOut);
    noGrad(() => base.weight.copy_(tensor(input([...base.weight.shape], 11).data, { shape: base.weight.shape })));
    const layer = new nn.LoraLinear(base, { fanInFanOut });
    layer.updateLayer('default', { r, loraAlpha: 3 });
    layer.setAdapter('default');
    const fn = (x: Tensor, A: Tensor, B: Tensor) => {
      layer.lora_A.get('default')!.setParameter('weight', A);
      layer.lora_B.get('default')!.setParameter('weight', B);
      return layer.forward(x);
    };
    const worst = await gradcheck(`LoraLinear ${kind}`, fn, [input([2, 3, nIn], 1), input([r, nIn], 2), input([nOut, r], 3)]);
    assert.ok(worst <= 1);
  });
}

test('LoraLinear: PEFT init — A kaiming-uniform(a=√5), i.e. U(±1/√in), B zeros, so the output is the base layer\'s', () => {
  const nIn = 256, nOut = 64, r = 16;
  const base = baseLayer(false, nIn, nOut);
  const layer = new nn.LoraLinear(base);
  layer.updateLayer('default', { r, loraAlpha: 32, generator: new Generator(5) });
  layer.setAdapter('default');
  const A = layer.lora_A.get('default')!.weight.dataSync(), B = layer.lora_B.get('default')!.weight.dataSync();
  assert.deepEqual(layer.lora_A.get('default')!.weight.shape, [r, nIn]);
  assert.deepEqual(layer.lora_B.get('default')!.weight.shape, [nOut, r]);
  const bound = 1 / Math.sqrt(nIn);
  assert.ok(A.every((v) => Math.abs(v) <= bound), 'A within ±1/√in');
  // U(-b, b) has variance b²/3: 4096 draws put the sample variance within a few percent of it.
  const variance = Array.from(A).reduce((s, v) => s + v * v, 0) / A.length;
  assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.1, `A variance ${variance} vs ${bound * bound / 3}`);
  assert.ok(B.every((v) => v === 0), 'B starts at zero');
  assert.equal(layer.scaling.default, 2);
  const x = tensor(input([3, nIn], 4).data, { shape: [3, nIn] });
  assert.deepEqual(noGrad(() => layer.forward(x)).dataSync(), noGrad(() => base.forward(x)).dataSync());
  assert.equal(layer.lora_A.get('default')!.weight.requiresGrad, true);
  assert.equal(base.weight.requiresGrad, false);
});

test('LoraLinear: gaussian init (A ~ N(0, 1/r)), init false (B random too), rsLoRA scaling α/√r', () => {
  const base = baseLayer(false, 128, 32);
  const layer = new nn.LoraLinear(base);
  layer.updateLayer('g', { r: 4, initLoraWeights: 'gaussian', generator: new Generator(1) });
  const A = layer.lora_A.get('g')!.weight.dataSync();
  const std = Math.sqrt(Array.from(A).reduce((s, v) => s + v * v, 0) / A.length);
  assert.ok(Math.abs(std / 0.25 - 1) < 0.1, `gaussian A std ${std}, expected 1/r = 0.25`);
  assert.ok(layer.lora_B.get('g')!.weight.dataSync().every((v) => v === 0));
  layer.updateLayer('random', { r: 4, initLoraWeights: false, generator: new Generator(2) });
  assert.ok(layer.lora_B.get('random')!.weight.dataSync().some((v) => v !== 0), 'init false leaves B random');
  layer.updateLayer('rs', { r: 16, loraAlpha: 8, useRslora: true });
  assert.equal(layer.scaling.rs, 2);
  assert.equal(layer.scaling.g, 2, 'default alpha 8 over r 4');
});

test('LoraLinear: dropout acts on the adapter input only, and only in training', () => {
  const base = baseLayer(false, 8, 8);
  const layer = new nn.LoraLinear(base);
  layer.updateLayer('default', { r: 2, loraDropout: 0.5, initLoraWeights: false, generator: new Generator(3) });
  layer.setAdapter('default');
  const x = tensor(input([4, 8], 9, { away: 0.1 }).data, { shape: [4, 8] });
  const b = noGrad(() => base.forward(x)).dataSync();
  layer.eval();
  const e1 = noGrad(() => layer.forward(x)).dataSync(), e2 = noGrad(() => layer.forward(x)).dataSync();
  assert.deepEqual(e1, e2, 'eval: deterministic');
  layer.train();
  const t = noGrad(() => layer.forward(x)).dataSync();
  assert.notDeepEqual(t, e1, 'training: the adapter input is dropped out');
  // With B = 0 the adapter adds nothing, dropout or not: the base path never sees dropout.
  noGrad(() => layer.lora_B.get('default')!.weight.fill_(0));
  assert.deepEqual(noGrad(() => layer.forward(x)).dataSync(), b);
});

test('LoraLinear: two active adapters add up; disableAdapters gives the base layer; deleteAdapter', () => {
  const base = baseLayer(true, 5, 6);
  noGrad(() => base.weight.copy_(tensor(input([5, 6], 21).data, { shape: [5, 6] })));
  const layer = new nn.LoraLinear(base, { fanInFanOut: true });
  layer.updateLayer('a', { r: 2, initLoraWeights: false, generator: new Generator(4) });
  layer.updateLayer('b', { r: 3, loraAlpha: 4, initLoraWeights: false, generator: new Generator(5) });
  const x = tensor(input([2, 5], 8).data, { shape: [2, 5] });
  const run = () => noGrad(() => layer.forward(x)).dataSync();
  const baseOut = noGrad(() => base.forward(x)).dataSync();
  layer.setAdapter('a'); const ya = run();
  layer.setAdapter('b'); const yb = run();
  assert.equal(layer.lora_A.get('a')!.weight.requiresGrad, false, 'inactive adapters are frozen');
  assert.equal(layer.lora_A.get('b')!.weight.requiresGrad, true);
  layer.setAdapter(['a', 'b']);
  const both = run();
  for (let i = 0; i < both.length; i++) assert.ok(Math.abs(both[i]! - (ya[i]! + yb[i]! - baseOut[i]!)) < 1e-5, `sum of updates at [${i}]`);
  layer.merge();
  assert.deepEqual(layer.mergedAdapters, ['a', 'b']);
  layer.disableAdapters = true;
  const off = run();
  assert.equal(layer.merged, false, 'disabling unmerges');
  for (let i = 0; i < off.length; i++) assert.ok(Math.abs(off[i]! - baseOut[i]!) < 1e-5);
  layer.disableAdapters = false;
  layer.deleteAdapter('b');
  assert.deepEqual(layer.adapterNames, ['a']);
  assert.deepEqual(layer.activeAdapters, ['a']);
  // Merging then unmerging leaves W within rounding of where it was (W + ΔW − ΔW in float32).
  const again = run();
  for (let i = 0; i < again.length; i++) assert.ok(Math.abs(again[i]! - ya[i]!) < 1e-5, `adapter a again at [${i}]`);
});

test('LoraLinear: state-dict keys follow PEFT (base_layer, lora_A.<adapter>.weight)', () => {
  const layer = new nn.LoraLinear(baseLayer(false, 4, 3));
  layer.updateLayer('default', { r: 2 });
  assert.deepEqual(Object.keys(layer.stateDict()), ['base_layer.weight', 'base_layer.bias', 'lora_A.default.weight', 'lora_B.default.weight']);
  assert.equal(layer.weight, layer.base_layer.weight, 'weight reads through to the base layer');
});

test('LoraLinear: bad arguments get one-line errors', () => {
  assert.throws(() => new nn.LoraLinear(baseLayer(false, 4, 3), { fanInFanOut: true }), /nn.Linear keeps \[out, in\]/);
  const layer = new nn.LoraLinear(baseLayer(false, 4, 3));
  assert.throws(() => layer.updateLayer('x', { r: 0 }), /r must be a positive integer, got 0/);
  assert.throws(() => layer.updateLayer('x', { r: 2, loraDropout: 1 }), /loraDropout must be in \[0, 1\), got 1/);
  assert.throws(() => layer.merge(['nope']), /no adapter 'nope'/);
  assert.throws(() => new nn.LoraLinear(new nn.Embedding(5, 3) as unknown as nn.LinearLike), /Embedding is not nn.Linear; say how its weight is laid out/);
  assert.throws(() => new nn.LoraLinear(new nn.LayerNorm(4) as unknown as nn.LinearLike, { fanInFanOut: false }), /needs a 2-D weight, got \[4\]/);
});

test('nn.LoraModel on a plain Sequential: list slots replaced in place, PEFT keys, unload restores the model', () => {
  const seq = new nn.Sequential(new nn.Linear(4, 8), new nn.Linear(8, 2));
  const x = tensor(input([3, 4], 31).data, { shape: [3, 4] });
  const before = noGrad(() => seq.forward(x)).dataSync();
  const lora = new nn.LoraModel(seq, { r: 2, targetModules: ['0'], initLoraWeights: false, generator: new Generator(6) });
  assert.ok(seq.at(0) instanceof nn.LoraLinear, 'the list slot forward() iterates holds the wrapper');
  assert.notDeepEqual(noGrad(() => seq.forward(x)).dataSync(), before);
  assert.deepEqual(Object.keys(seq.stateDict()), ['0.base_layer.weight', '0.base_layer.bias', '0.lora_A.default.weight', '0.lora_B.default.weight', '1.weight', '1.bias']);
  assert.deepEqual(Object.keys(lora.adapterStateDict()), ['base_model.model.0.lora_A.weight', 'base_model.model.0.lora_B.weight']);
  assert.deepEqual(lora.trainableParameters().map((p) => p.shape), [[2, 4], [8, 2]]);
  assert.equal(lora.unload(), seq);
  assert.ok(seq.at(0) instanceof nn.Linear);
  assert.deepEqual(noGrad(() => seq.forward(x)).dataSync(), before);
  assert.ok(seq.parameters().every((p) => p.requiresGrad));
});

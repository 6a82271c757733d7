// nn.LoraEmbedding (PEFT's lora.Embedding) against PyTorch (scripts/gen_lora_embedding_fixtures.py),
// finite differences, PEFT's init and key names, merge/unmerge, and LoRA on a BERT classifier's word
// embeddings: training leaves the table bit-identical, and the adapter saves and reloads.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, manualSeed, nn, noGrad, optim, tensor, tidy, type Tensor } from '../src/index.js';
import * as models from '../src/models/index.js';
import { ErrorLog, floats, fromFixture, type FixtureTensor } from './nn_util.js';
import { gradcheck, input } from './helpers/gradcheck.js';

interface EmbeddingCase {
  name: string; r: number; loraAlpha: number; scaling: number; paddingIdx: number | null; ids: number[][];
  inputs: Record<'weight' | 'lora_embedding_A' | 'lora_embedding_B' | 'grad_output', FixtureTensor>;
  outputs: { output: FixtureTensor; merged_weight: FixtureTensor };
  grads: Record<'lora_embedding_A' | 'lora_embedding_B', FixtureTensor>;
}
const fixture = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'test', 'fixtures', 'lora', 'lora_embedding.json'), 'utf8')) as { cases: EmbeddingCase[] };
const log = new ErrorLog();
after(() => log.report('torch fixture'));

const idsTensor = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0]!.length] });

function fromCase(c: EmbeddingCase): { layer: nn.LoraEmbedding; ids: Tensor; g: Tensor } {
  const w = fromFixture(c.inputs.weight);
  const base = new nn.Embedding(w.shape[0]!, w.shape[1]!, { paddingIdx: c.paddingIdx });
  noGrad(() => base.weight.copy_(w));
  base.requiresGrad_(false);
  const layer = new nn.LoraEmbedding(base);
  layer.updateLayer('default', { r: c.r, loraAlpha: c.loraAlpha });
  layer.setAdapter('default');
  noGrad(() => {
    layer.lora_embedding_A.get('default')!.copy_(fromFixture(c.inputs.lora_embedding_A));
    layer.lora_embedding_B.get('default')!.copy_(fromFixture(c.inputs.lora_embedding_B));
  });
  return { layer, ids: idsTensor(c.ids), g: fromFixture(c.inputs.grad_output) };
}

for (const c of fixture.cases) {
  test(`LoraEmbedding ${c.name}: output and gradients of A and B match torch; merge gives W + s·(BA)ᵀ`, () => {
    const { layer, ids, g } = fromCase(c);
    assert.equal(layer.scaling.default, c.scaling);
    const y = layer.forward(ids);
    log.check('lora_embedding', `${c.name} output`, y.dataSync(), floats(c.outputs.output));
    y.mul(g).sum().backward();
    log.check('lora_embedding', `${c.name} grad A`, layer.lora_embedding_A.get('default')!.grad!.dataSync(), floats(c.grads.lora_embedding_A));
    log.check('lora_embedding', `${c.name} grad B`, layer.lora_embedding_B.get('default')!.grad!.dataSync(), floats(c.grads.lora_embedding_B));
    assert.equal(layer.weight.grad, null, 'the frozen table gets no gradient');
    const w0 = Float32Array.from(layer.weight.dataSync());
    const unmerged = noGrad(() => layer.forward(ids)).dataSync();
    layer.merge();
    log.check('lora_embedding', `${c.name} merged weight`, layer.weight.dataSync(), floats(c.outputs.merged_weight));
    const merged = noGrad(() => layer.forward(ids)).dataSync();
    for (let i = 0; i < merged.length; i++) assert.ok(Math.abs(merged[i]! - unmerged[i]!) <= 1e-5, `merged output [${i}]: ${merged[i]} vs ${unmerged[i]}`);
    layer.unmerge();
    const w = layer.weight.dataSync();
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i]! - w0[i]!) <= 1e-6, `unmerged weight [${i}]`);
  });
}

test('LoraEmbedding: finite-difference gradients of A and B', async () => {
  const base = new nn.Embedding(6, 4);
  base.requiresGrad_(false);
  const layer = new nn.LoraEmbedding(base);
  layer.updateLayer('default', { r: 2, loraAlpha: 3 });
  layer.setAdapter('default');
  const ids = idsTensor([[1, 5, 5], [0, 2, 3]]);
  const fn = (A: Tensor, B: Tensor) => {
    layer.lora_embedding_A.setParameter('default', A);
    layer.lora_embedding_B.setParameter('default', B);
    return layer.forward(ids);
  };
  const worst = await gradcheck('LoraEmbedding', fn, [input([2, 6], 5), input([4, 2], 6)]);
  assert.ok(worst <= 1);
});

test('LoraEmbedding: PEFT init (A zeros, B N(0, 1)) leaves the table\'s output; state-dict keys are PEFT\'s', () => {
  manualSeed(2);
  const base = new nn.Embedding(9, 8);
  const layer = new nn.LoraEmbedding(base);
  layer.updateLayer('default', { r: 4, loraAlpha: 8 });
  layer.setAdapter('default');
  const ids = idsTensor([[1, 2, 8]]);
  assert.deepEqual(noGrad(() => layer.forward(ids)).dataSync(), noGrad(() => base.forward(ids)).dataSync());
  assert.ok(layer.lora_embedding_A.get('default')!.dataSync().every((v) => v === 0));
  const B = Array.from(layer.lora_embedding_B.get('default')!.dataSync() as Float32Array);
  const std = Math.sqrt(B.reduce((s, v) => s + v * v, 0) / B.length);
  assert.ok(std > 0.5 && std < 1.5, `B's spread ${std}`);
  assert.deepEqual(Object.keys(layer.stateDict()).sort(), ['base_layer.weight', 'lora_embedding_A.default', 'lora_embedding_B.default']);
  assert.throws(() => layer.updateLayer('x', { r: 0 }), /r must be a positive integer, got 0/);
});

test('LoRA on a BERT classifier\'s word embeddings: trains with the table bit-identical, PEFT keys, save → load gives the same outputs', async () => {
  const cfg = { vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
    max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, num_labels: 2 };
  manualSeed(11);
  const model = new models.BertForSequenceClassification(cfg);
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlm-lemb-base-')), dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlm-lemb-'));
  try {
    await model.savePretrained(baseDir);
    const table = model.bert.embeddings.word_embeddings.weight;
    const before = Float32Array.from(table.dataSync());
    const lora = models.applyLora(model, { r: 2, loraAlpha: 4, targetModules: ['word_embeddings', 'query'] });
    assert.ok(model.bert.embeddings.word_embeddings instanceof nn.LoraEmbedding);
    const inputs = { inputIds: [[2, 7, 9, 4], [5, 1, 8, 6], [12, 3, 3, 9]], labels: [0, 1, 1] };
    const opt = new optim.AdamW(lora.trainableParameters(), { lr: 5e-2, weightDecay: 0 });
    model.train();
    const losses: number[] = [];
    for (let s = 0; s < 8; s++) {
      losses.push(tidy(() => { const loss = model.forward(inputs).loss!; loss.backward(); return loss.item(); }));
      opt.step();
      opt.zeroGrad();
    }
    model.eval();
    assert.ok(losses.at(-1)! < losses[0]!, `loss falls: ${losses.join(', ')}`);
    assert.deepEqual(table.dataSync(), before, 'the word embeddings stay bit-identical');
    const A = (model.bert.embeddings.word_embeddings as unknown as nn.LoraEmbedding).lora_embedding_A.get('default')!;
    assert.ok(A.dataSync().some((v) => v !== 0), 'A trained');
    const adapted = noGrad(() => model.forward({ inputIds: inputs.inputIds }).logits).dataSync();
    await models.saveAdapter(dir, lora);
    const saved = await io.loadSafetensors(path.join(dir, 'adapter_model.safetensors'));
    assert.deepEqual([...saved['base_model.model.bert.embeddings.word_embeddings.lora_embedding_A']!.shape], [2, 40]);
    assert.deepEqual([...saved['base_model.model.bert.embeddings.word_embeddings.lora_embedding_B']!.shape], [16, 2]);
    const fresh = await models.fromPretrained(baseDir, { warn: () => {} }) as models.BertForSequenceClassification;
    await models.loadAdapter(fresh, dir);
    assert.deepEqual(noGrad(() => fresh.forward({ inputIds: inputs.inputIds }).logits).dataSync(), adapted);
    // Merged: the same logits, and the plain Embedding back.
    const plain = lora.mergeAndUnload();
    assert.ok(plain.bert.embeddings.word_embeddings instanceof nn.Embedding);
    const mergedLogits = noGrad(() => plain.forward({ inputIds: inputs.inputIds }).logits).dataSync();
    for (let i = 0; i < adapted.length; i++) assert.ok(Math.abs(mergedLogits[i]! - adapted[i]!) <= 1e-5, `merged logit [${i}]`);
  } finally {
    fs.rmSync(baseDir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('LoRA on a tied embedding (a masked LM\'s decoder shares it) is refused', () => {
  manualSeed(1);
  const mlm = new models.BertForMaskedLM({ vocab_size: 30, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 });
  assert.throws(() => models.applyLora(mlm, { r: 2, targetModules: ['word_embeddings'] }), /word_embeddings' shares its weight with cls\.predictions\.decoder\.weight \(tied\)/);
});

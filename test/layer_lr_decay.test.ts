// Layer-wise learning-rate decay (ELECTRA's): each parameter's rate follows its depth in the stack,
// read from its HF name. Checked on the scales, on the optimizer's groups, and on the update itself:
// Adam's first step moves every parameter with a gradient by exactly its rate, so the size of the
// step shows the rate each parameter really trained at.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, type Tensor } from '../src/index.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { BertForSequenceClassification, bertConfig } from '../src/models/bert/index.js';
import { Trainer, type TrainingArguments } from '../src/train/trainer.js';
import type { TrainingTask } from '../src/train/task.js';
import { decayGroups, layerLrScales, parameterDepth } from '../src/train/param_groups.js';
import finetuneCommand, { finetuneOptions } from '../src/cli/commands/finetune.js';
import { parseFlags } from '../src/cli/args.js';

const LAYERS = 3;
const bert = () => new BertForSequenceClassification(bertConfig({ vocab_size: 30, hidden_size: 16, num_hidden_layers: LAYERS, num_attention_heads: 2,
  intermediate_size: 32, max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, num_labels: 2 }));

test('parameterDepth reads the block index from BERT, GPT-2 and Llama names', () => {
  assert.equal(parameterDepth('bert.embeddings.word_embeddings.weight'), 'embeddings');
  assert.equal(parameterDepth('transformer.wte.weight'), 'embeddings');
  assert.equal(parameterDepth('model.embed_tokens.weight'), 'embeddings');
  assert.equal(parameterDepth('bert.encoder.layer.2.attention.self.query.weight'), 2);
  assert.equal(parameterDepth('transformer.h.11.mlp.c_fc.weight'), 11);
  assert.equal(parameterDepth('model.layers.5.self_attn.q_proj.weight'), 5);
  assert.equal(parameterDepth('classifier.weight'), null);
  assert.equal(parameterDepth('bert.pooler.dense.weight'), null);
  assert.equal(parameterDepth('score.weight'), null);
});

test('layerLrScales: block i of L at decay^(L-i), the embeddings at decay^(L+1), the head at 1', () => {
  manualSeed(1);
  const model = bert();
  const scales = layerLrScales(model, 0.5);
  for (const [name, p] of model.namedParameters()) {
    const d = parameterDepth(name);
    const want = d === null ? 1 : d === 'embeddings' ? 0.5 ** (LAYERS + 1) : 0.5 ** (LAYERS - d);
    assert.equal(scales.get(p), want, name);
  }
  // Off (1): the two decay groups of before, with no scale.
  const plain = decayGroups(model, 0.01);
  assert.equal(plain.length, 2);
  assert.ok(plain.every((g) => g.lrScale === undefined));
  // On: every (decay, scale) pair is a group; every trainable parameter is in exactly one.
  const groups = decayGroups(model, 0.01, 'matrices', { layerLrDecay: 0.5 });
  const seen = groups.flatMap((g) => g.params);
  assert.equal(new Set(seen).size, seen.length);
  assert.equal(seen.length, model.parameters().length);
  for (const g of groups) for (const p of g.params) assert.equal(g.lrScale, scales.get(p));
  assert.deepEqual([...new Set(groups.map((g) => g.lrScale))].sort(), [0.0625, 0.125, 0.25, 0.5, 1]);
});

/** Random sentences with random labels: enough for one step with a gradient everywhere that gets one. */
class RandomClassify implements TrainingTask<BertForSequenceClassification, { inputIds: Tensor; labels: Tensor }> {
  readonly metricForBest = 'eval_loss';
  trainBatch() {
    const ids = Int32Array.from({ length: 4 * 8 }, (_, i) => 1 + ((i * 7 + 3) % 29));
    return { inputs: { inputIds: tensor(ids, { shape: [4, 8] }), labels: tensor(Int32Array.from([0, 1, 1, 0]), { shape: [4] }) }, tokens: 32 };
  }
  loss(model: BertForSequenceClassification, b: { inputIds: Tensor; labels: Tensor }) { return model.forward(b).loss!; }
  evaluate() { return { eval_loss: 0 }; }
}

test('Trainer: the first Adam step moves each parameter by lr × its layer scale', async () => {
  manualSeed(2);
  const model = bert();
  const lr = 1e-2;
  const args: TrainingArguments = { maxIters: 1, lr, minLr: 0, warmupIters: 0, lrDecayIters: 1, schedule: 'constant', weightDecay: 0, beta1: 0.9,
    beta2: 0.999, gradClip: 1, gradAccum: 1, evalInterval: 1, logInterval: 1, seed: 1, layerLrDecay: 0.5 };
  const before = new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.dataSync())]));
  const trainer = new Trainer(model, new RandomClassify(), args, null);
  await trainer.trainStep();
  for (const g of trainer.optimizer.paramGroups) assert.equal(g.lr, lr * (g.lrScale as number));
  for (const [name, p] of model.namedParameters()) {
    // A key bias adds the same score to every key of a query, which softmax ignores: no gradient.
    if (name.endsWith('key.bias')) continue;
    const d = parameterDepth(name);
    const scale = d === null ? 1 : d === 'embeddings' ? 0.5 ** (LAYERS + 1) : 0.5 ** (LAYERS - d);
    const old = before.get(name)!;
    const step = Math.max(...Array.from(p.dataSync(), (v, i) => Math.abs(v - old[i]!)));
    // Adam's first step is lr·g/(|g| + eps): never above the rate, and close to it wherever the gradient
    // is well above eps (1e-6: float32 rounding near 1). The scales are a factor 2 apart, so the bounds
    // single out the right one.
    assert.ok(step <= lr * scale + 1e-6 && step > 0.9 * lr * scale, `${name}: moved ${step}, expected ${lr * scale}`);
  }
  trainer.optimizer.dispose();
});

test('tlm finetune --layer-lr-decay: reaches the training arguments; out of (0, 1] is a one-line error', () => {
  const argv = ['--task', 'classify', '--model', 'M', '--train', 't.csv', '--eval', 'e.csv', '--out', 'o'];
  const parse = (...more: string[]) => finetuneOptions(parseFlags(finetuneCommand.spec, [...argv, ...more]).flags);
  assert.equal(parse('--layer-lr-decay', '0.8').args.layerLrDecay, 0.8);
  assert.equal(parse().args.layerLrDecay, 1);
  assert.throws(() => parse('--layer-lr-decay', '0'), /--layer-lr-decay .*\(0, 1\]/);
  assert.throws(() => parse('--layer-lr-decay', '1.5'), /--layer-lr-decay .*\(0, 1\]/);
});

// LoRA+ (Hayou et al. 2024; PEFT's loraplus_lr_ratio): an adapter's B matrices learn at a multiple of
// the rate. Checked on the scales, on the optimizer's groups (with layer-wise decay, the two multiply),
// and on the update itself: Adam's first step moves a parameter by its rate wherever its gradient is
// well above eps, and B, which starts at zero, is the only adapter matrix with a gradient at step one.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, type Tensor } from '../src/index.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { BertForSequenceClassification, bertConfig } from '../src/models/bert/index.js';
import { Trainer, type TrainingArguments } from '../src/train/trainer.js';
import type { TrainingTask } from '../src/train/task.js';
import { decayGroups, layerLrScales, loraPlusScales } from '../src/train/param_groups.js';
import { checkTrainingArguments } from '../src/pipelines/pretrain.js';
import { applyLora } from '../src/models/peft.js';
import finetuneCommand, { finetuneOptions } from '../src/cli/commands/finetune.js';
import { parseFlags } from '../src/cli/args.js';

const LAYERS = 2;
/** A tiny BERT classifier with LoRA on query, value and the word embeddings (the base frozen). */
function loraBert(): BertForSequenceClassification {
  const model = new BertForSequenceClassification(bertConfig({ vocab_size: 30, hidden_size: 16, num_hidden_layers: LAYERS, num_attention_heads: 2,
    intermediate_size: 32, max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, num_labels: 2 }));
  applyLora(model, { r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['query', 'value', 'word_embeddings'] });
  return model;
}
const isB = (name: string) => /\.lora_B\./.test(name);

test('loraPlusScales: the linear adapters\' B at the ratio; A, embedding adapters and the base at 1', () => {
  manualSeed(1);
  const model = loraBert();
  const scales = loraPlusScales(model, 16);
  const names = model.namedParameters().map(([n]) => n);
  assert.equal(names.filter(isB).length, 2 * LAYERS, `two B per layer: ${names.filter(isB).join(', ')}`);
  assert.ok(names.some((n) => /lora_embedding_B/.test(n)));
  for (const [name, p] of model.namedParameters()) assert.equal(scales.get(p), isB(name) ? 16 : 1, name);
});

test('decayGroups: the LoRA+ ratio and the layer-wise decay multiply; every trained parameter in one group', () => {
  manualSeed(2);
  const model = loraBert();
  const lora = loraPlusScales(model, 8), layer = layerLrScales(model, 0.5);
  const groups = decayGroups(model, 0.01, 'matrices', { layerLrDecay: 0.5, loraPlusRatio: 8 });
  const seen = groups.flatMap((g) => g.params);
  assert.equal(new Set(seen).size, seen.length);
  assert.equal(seen.length, model.parameters().filter((p) => p.requiresGrad).length);
  for (const g of groups) for (const p of g.params) assert.equal(g.lrScale, lora.get(p)! * layer.get(p)!);
  // Both off: the two plain groups, with no scale.
  assert.ok(decayGroups(model, 0.01).every((g) => g.lrScale === undefined));
});

type Batch = { inputIds: Tensor; labels: Tensor };
class FixedBatch implements TrainingTask<BertForSequenceClassification, Batch> {
  readonly metricForBest = 'eval_loss';
  trainBatch() {
    return { inputs: { inputIds: tensor(Int32Array.from({ length: 32 }, (_, i) => 1 + ((i * 7 + 3) % 29)), { shape: [4, 8] }),
      labels: tensor(Int32Array.from([0, 1, 1, 0]), { shape: [4] }) }, tokens: 32 };
  }
  loss(model: BertForSequenceClassification, b: Batch) { return model.forward(b).loss!; }
  evaluate() { return { eval_loss: 0 }; }
}

test('Trainer with loraPlusLrRatio: the first Adam step moves B by lr × ratio, the head by lr, A and the base not at all', async () => {
  manualSeed(3);
  const model = loraBert();
  const lr = 1e-3, ratio = 4;
  const args: TrainingArguments = { maxIters: 1, lr, minLr: 0, warmupIters: 0, lrDecayIters: 1, schedule: 'constant', weightDecay: 0, beta1: 0.9,
    beta2: 0.999, gradClip: 0, gradAccum: 1, evalInterval: 1, logInterval: 1, seed: 1, loraPlusLrRatio: ratio };
  const before = new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.dataSync())]));
  const trainer = new Trainer(model, new FixedBatch(), args, null);
  await trainer.trainStep();
  const moved = (name: string, p: Tensor) => Math.max(...Array.from(p.dataSync(), (v, i) => Math.abs(v - before.get(name)![i]!)));
  for (const [name, p] of model.namedParameters()) {
    const step = moved(name, p);
    // B's gradients are small here (|g| a few times Adam's eps in places), so only the bound is tight;
    // above lr·ratio/2, the step is twice what the base rate could ever give.
    if (isB(name)) assert.ok(step <= lr * ratio + 1e-6 && step > lr * ratio / 2, `${name}: moved ${step}, expected about ${lr * ratio}`);
    else if (name.startsWith('classifier.modules_to_save.')) assert.ok(step <= lr + 1e-6 && step > 0.9 * lr, `${name}: moved ${step}, expected ${lr}`);
    // An embedding adapter is the other way round (PEFT's init: A at zero, B random): A learns at lr, B waits.
    else if (/lora_embedding_A/.test(name)) assert.ok(step <= lr + 1e-6 && step > 0.9 * lr, `${name}: moved ${step}, expected ${lr}`);
    else if (/lora_A|lora_embedding_B/.test(name) || !p.requiresGrad) assert.equal(step, 0, `${name} moved by ${step}`);
  }
  trainer.optimizer.dispose();
});

test('tlm finetune --loraplus-lr-ratio: reaches the training arguments (default 1: off), LoRA only, > 0', () => {
  const argv = ['--task', 'classify', '--model', 'M', '--train', 't.csv', '--eval', 'e.csv', '--out', 'o'];
  const flags = (...more: string[]) => parseFlags(finetuneCommand.spec, [...argv, ...more]).flags;
  assert.equal(finetuneOptions(flags('--method', 'lora', '--loraplus-lr-ratio', '16')).args.loraPlusLrRatio, 16);
  assert.equal(finetuneOptions(flags()).args.loraPlusLrRatio, 1);
  assert.throws(() => flags('--loraplus-lr-ratio', '0'), /--loraplus-lr-ratio/);
  assert.throws(() => flags('--loraplus-lr-ratio', '16'), /--loraplus-lr-ratio .*apply to --method lora/);
  const base: TrainingArguments = { maxIters: 1, lr: 1, minLr: 0, warmupIters: 0, lrDecayIters: 1, schedule: 'constant', weightDecay: 0, beta1: 0.9,
    beta2: 0.999, gradClip: 0, gradAccum: 1, evalInterval: 1, logInterval: 1, seed: 1 };
  assert.throws(() => checkTrainingArguments({ ...base, loraPlusLrRatio: -2 }, 'finetune'), /loraPlusLrRatio must be > 0/);
});

// Adversarial training on the token embeddings (FGM, Miyato et al. 2017): the trainer runs each batch
// a second time with the word-embedding table moved by epsilon along the clean loss's gradient, keeps
// both gradients, and puts the table back bit for bit before the optimizer steps. Each of these is
// checked against the same quantities computed here by hand with autograd.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, type Tensor } from '../src/index.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { BertForSequenceClassification, bertConfig } from '../src/models/bert/index.js';
import { GPT2ForSequenceClassification } from '../src/models/gpt2/index.js';
import { Trainer, type TrainingArguments } from '../src/train/trainer.js';
import type { TrainingTask } from '../src/train/task.js';
import { tokenEmbeddingTables } from '../src/train/param_groups.js';
import { checkTrainingArguments } from '../src/pipelines/pretrain.js';
import { applyLora } from '../src/models/peft.js';
import finetuneCommand, { finetuneOptions } from '../src/cli/commands/finetune.js';
import { parseFlags } from '../src/cli/args.js';

const bert = () => new BertForSequenceClassification(bertConfig({ vocab_size: 30, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
  intermediate_size: 32, max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, num_labels: 2 }));

type Batch = { inputIds: Tensor; labels: Tensor };
const batch = (): Batch => ({
  inputIds: tensor(Int32Array.from({ length: 4 * 8 }, (_, i) => 1 + ((i * 7 + 3) % 13)), { shape: [4, 8] }),
  labels: tensor(Int32Array.from([0, 1, 1, 0]), { shape: [4] }),
});

/** One fixed batch; records the word-embedding table each loss call saw. */
class Recording implements TrainingTask<BertForSequenceClassification, Batch> {
  readonly metricForBest = 'eval_loss';
  seen: Float32Array[] = [];
  trainBatch() { return { inputs: batch(), tokens: 32 }; }
  loss(model: BertForSequenceClassification, b: Batch) {
    this.seen.push(Float32Array.from(model.bert.embeddings.word_embeddings.weight.dataSync()));
    return model.forward(b).loss!;
  }
  evaluate() { return { eval_loss: 0 }; }
}

/** The gradients of every parameter, by name, of the loss at the model's weights now. */
function gradients(model: BertForSequenceClassification): Map<string, Float32Array> {
  model.zeroGrad();
  model.forward(batch()).loss!.backward();
  const g = new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.grad?.dataSync() ?? new Float32Array(p.numel))]));
  model.zeroGrad();
  return g;
}

const WORDS = 'bert.embeddings.word_embeddings.weight';
const args = (eps: number): TrainingArguments => ({ maxIters: 1, lr: 1e-2, minLr: 0, warmupIters: 0, lrDecayIters: 1, schedule: 'constant',
  weightDecay: 0, beta1: 0.9, beta2: 0.999, gradClip: 0, gradAccum: 1, evalInterval: 1, logInterval: 1, seed: 1, adversarialEpsilon: eps });

test('tokenEmbeddingTables: the token tables only, not positions or segments; the base table under a LoRA adapter', () => {
  manualSeed(1);
  const b = bert();
  assert.deepEqual(tokenEmbeddingTables(b), [b.bert.embeddings.word_embeddings.weight]);
  const table = b.bert.embeddings.word_embeddings.weight;
  applyLora(b, { r: 1, loraAlpha: 1, targetModules: ['word_embeddings'] });
  assert.deepEqual(tokenEmbeddingTables(b), [table]);
  const g = new GPT2ForSequenceClassification({ vocab_size: 30, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2, num_labels: 2, pad_token_id: 0 });
  const names = new Map(g.namedParameters().map(([n, p]) => [p, n]));
  assert.deepEqual(tokenEmbeddingTables(g).map((p) => names.get(p)), ['transformer.wte.weight']);
});

/**
 * One FGM step, checked against autograd by hand: the second loss call sees the table at
 * w + eps·g/‖g‖ (g: the clean loss's gradient of the table), the gradients the optimizer gets are
 * the clean ones plus those at the moved table, and the table is back to w bit for bit.
 */
async function checkFgmStep(freezeTable: boolean): Promise<void> {
  const eps = 0.5;
  const model = bert();
  const table = model.bert.embeddings.word_embeddings.weight;
  const w = Float32Array.from(table.dataSync());
  const clean = gradients(model);
  const g = clean.get(WORDS)!;
  const norm = Math.hypot(...g);
  assert.ok(norm > 0);
  const moved = w.map((x, i) => x + eps * g[i]! / norm);
  table.copy_(tensor(moved, { shape: table.shape }));
  const adv = gradients(model);
  table.copy_(tensor(w, { shape: table.shape }));
  if (freezeTable) table.requiresGrad = false;

  const task = new Recording();
  const trainer = new Trainer(model, task, args(eps), null);
  let before: Map<string, Float32Array> | null = null;
  const step = trainer.optimizer.step.bind(trainer.optimizer);
  trainer.optimizer.step = () => {
    before = new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.grad?.dataSync() ?? new Float32Array(p.numel))]));
    assert.deepEqual(table.dataSync(), w, 'the table is back to its exact values before the optimizer steps');
    step();
  };
  await trainer.trainStep();

  assert.equal(task.seen.length, 2);
  assert.deepEqual(task.seen[0], w);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(task.seen[1]![i]! - moved[i]!) < 1e-6, `moved table at ${i}`);
  for (const [name, want] of clean) {
    const got = before!.get(name)!;
    if (name === WORDS && freezeTable) {
      // A frozen table's gradient only gives the direction: it is cleared before the optimizer steps.
      assert.ok(got.every((x) => x === 0), 'a frozen table has no gradient left for the optimizer');
      continue;
    }
    const a = adv.get(name)!;
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i]! - (want[i]! + a[i]!)) < 1e-5 * (1 + Math.abs(want[i]! + a[i]!)), `${name}[${i}]: ${got[i]} vs ${want[i]! + a[i]!}`);
    }
  }
  if (freezeTable) {
    assert.equal(table.requiresGrad, false, 'the table stays frozen');
    assert.deepEqual(table.dataSync(), w, 'a frozen table is bit-identical after the step');
  }
}

test('FGM: the second pass sees the table moved by eps along the normalised gradient; both gradients are kept; the table is restored exactly', async () => {
  manualSeed(2);
  await checkFgmStep(false);
});

test('FGM on a frozen table (LoRA, prompts): the inputs move the same way, and the table never trains', async () => {
  manualSeed(2);
  await checkFgmStep(true);
});

test('FGM off (eps 0) runs each batch once', async () => {
  manualSeed(3);
  const off = new Recording();
  await new Trainer(bert(), off, args(0), null).trainStep();
  assert.equal(off.seen.length, 1);
});

test('tlm finetune --adversarial-eps reaches the training arguments (default 0: off); a negative one is a one-line error', () => {
  const argv = ['--task', 'classify', '--model', 'M', '--train', 't.csv', '--eval', 'e.csv', '--out', 'o'];
  const parse = (...more: string[]) => finetuneOptions(parseFlags(finetuneCommand.spec, [...argv, ...more]).flags);
  assert.equal(parse('--adversarial-eps', '0.5').args.adversarialEpsilon, 0.5);
  assert.equal(parse().args.adversarialEpsilon, 0);
  assert.throws(() => parse('--adversarial-eps', '-1'), /--adversarial-eps/);
  // Library callers get the same check.
  assert.throws(() => checkTrainingArguments(args(-1), 'finetune'), /adversarialEpsilon must be >= 0/);
});

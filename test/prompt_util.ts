// Shared pieces of the prompt-learning tests: tiny BERT / GPT-2 configs, batches, snapshots, a training loop.
import assert from 'node:assert/strict';
import { manualSeed, noGrad, optim, tidy, type nn, type Tensor } from '../src/index.js';
import * as models from '../src/models/index.js';

export const BERT_TINY = { vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
  max_position_embeddings: 24, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, num_labels: 3, pad_token_id: 0,
  // Larger than BERT's 0.02, so that a frozen random model carries input differences a prompt can use.
  initializer_range: 0.2 };
export const GPT2_TINY = { vocab_size: 30, n_positions: 24, n_embd: 16, n_layer: 2, n_head: 2, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, initializer_range: 0.3 };

export const ids = [[2, 7, 9, 4, 11, 3], [5, 1, 8, 8, 6, 2], [12, 3, 3, 9, 1, 7], [4, 4, 10, 2, 13, 5]];
export const labels = [0, 2, 1, 2];

export function bertClassifier(seed = 0): models.BertForSequenceClassification {
  manualSeed(seed);
  return new models.BertForSequenceClassification(BERT_TINY);
}
export function gpt2(seed = 0): models.GPT2LMHeadModel {
  manualSeed(seed);
  return new models.GPT2LMHeadModel(GPT2_TINY);
}
export function gpt2Classifier(seed = 0, extra: Record<string, unknown> = {}): models.GPT2ForSequenceClassification {
  manualSeed(seed);
  return new models.GPT2ForSequenceClassification({ ...GPT2_TINY, num_labels: 3, ...extra });
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Every parameter's values, by tensor (identity survives the wrapping). */
export function snapshot(m: nn.Module): Map<Tensor, Float32Array> {
  return new Map(m.parameters().map((p) => [p, Float32Array.from(p.dataSync())]));
}

export function assertUnchanged(base: Map<Tensor, Float32Array>): void {
  for (const [p, v] of base) assert.deepEqual(p.dataSync(), v, `base parameter ${p.name} changed`);
}

/** Values of a forward's output (no graph). */
export function run(fn: () => Tensor): Float32Array {
  return noGrad(() => tidy(() => Float32Array.from(fn().dataSync())));
}

/** A few AdamW steps on the trainable parameters of a handle; the losses. */
export function train(handle: models.PromptLearningModel, inputs: models.ModelInputs, steps: number, lr = 5e-2): number[] {
  const opt = new optim.AdamW(handle.trainableParameters(), { lr, weightDecay: 0 });
  handle.train();
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    losses.push(tidy(() => { const loss = handle.forward(inputs).loss!; loss.backward(); return loss.item(); }));
    opt.step();
    opt.zeroGrad();
  }
  handle.eval();
  return losses;
}

// The masked-LM loss on masked positions only (BertForMaskedLM.maskedLmLoss) is the full forward's
// loss, with the same gradients, at a fraction of the vocabulary projection's cost.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, models, Generator } from '../src/index.js';
import { TokenStream, mlmBatch } from '../src/train/data.js';

test('maskedLmLoss equals forward()\'s MLM loss, value and gradients', () => {
  manualSeed(5);
  const model = new models.BertForMaskedLM(models.bertConfig({ vocab_size: 50, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
    intermediate_size: 32, max_position_embeddings: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }));
  const stream = TokenStream.fromArray(Array.from({ length: 500 }, (_, i) => 5 + (i * 7) % 45));
  const batch = mlmBatch(stream, 4, 16, { maskId: 4, vocabSize: 50, specialIds: new Set([0, 1, 2, 3, 4]) }, new Generator(1));
  assert.ok(batch.masked.positions.shape[0]! > 0);
  const full = model.forward({ inputIds: batch.x, labels: batch.y }).loss!;
  full.backward();
  const gradsFull = model.parameters().map((p) => Array.from(p.grad!.dataSync()));
  model.zeroGrad();
  const part = model.maskedLmLoss({ inputIds: batch.x }, batch.masked.positions, batch.masked.targets);
  assert.ok(Math.abs(part.item() - full.item()) < 1e-6, `${part.item()} vs ${full.item()}`);
  part.backward();
  model.parameters().forEach((p, i) => {
    const g = p.grad!.dataSync();
    gradsFull[i]!.forEach((v, j) => assert.ok(Math.abs(v - g[j]!) <= 1e-6 + 1e-5 * Math.abs(v), `${p.name}[${j}]: ${v} vs ${g[j]}`));
  });
});

// classifier_pooling 'mean' (a tlm extension of BERT, named as ModernBERT's config field): the pooler
// reads the mean of the unpadded token states instead of [CLS]'s. Checked against the same mean taken
// by hand, for padding invariance, with a prefix, and through save/load.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, noGrad } from '../src/index.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { BertForSequenceClassification, bertConfig } from '../src/models/bert/index.js';
import { assertClose } from './helpers/assert.js';

const config = (pooling: 'cls' | 'mean', dense = true) => bertConfig({ vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
  max_position_embeddings: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_pooling: pooling, pooler_dense: dense, num_labels: 3 });
const ids = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0]!.length] });

test('mean pooling: tanh(W·mean(unpadded states) + b), the same padded or not', () => {
  manualSeed(3);
  const model = new BertForSequenceClassification(config('mean'));
  model.eval();
  noGrad(() => {
    const alone = model.forward({ inputIds: ids([[2, 7, 9, 11, 3]]) });
    const padded = model.forward({ inputIds: ids([[2, 7, 9, 11, 3, 0, 0], [2, 5, 3, 0, 0, 0, 0]]), attentionMask: ids([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]]) });
    assertClose(padded.logits.narrow(0, 0, 1).dataSync(), alone.logits.dataSync(), 1e-5, 'padded vs alone');
    const h = alone.lastHiddenState!.mean(1);
    const byHand = model.bert.pooler!.dense!.forward(h).tanh();
    assertClose(alone.poolerOutput!.dataSync(), byHand.dataSync(), 1e-6, 'pooler vs by hand');
    // [CLS] pooling of the same weights reads another vector.
    const cls = model.bert.pooler!.dense!.forward(alone.lastHiddenState!.select(1, 0)).tanh();
    assert.ok(Math.max(...Array.from(cls.sub(byHand).abs().dataSync())) > 1e-3);
  });
});

test('pooler_dense false: the classifier reads the pooled state itself, and the model has no pooler weights', async () => {
  manualSeed(5);
  const model = new BertForSequenceClassification(config('mean', false));
  model.eval();
  assert.ok(!model.namedParameters().some(([name]) => name.startsWith('bert.pooler')), 'no pooler parameters');
  noGrad(() => {
    const x = ids([[2, 7, 9, 11, 3, 0], [2, 5, 3, 0, 0, 0]]);
    const mask = ids([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]]);
    const out = model.forward({ inputIds: x, attentionMask: mask });
    const second = out.lastHiddenState!.narrow(0, 1, 1).narrow(1, 0, 3).mean(1);
    assertClose(out.poolerOutput!.narrow(0, 1, 1).dataSync(), second.dataSync(), 1e-6, 'pooled = mean of the unpadded states');
    const logits = model.classifier.forward(out.poolerOutput!);
    assertClose(out.logits.dataSync(), logits.dataSync(), 1e-6, 'classifier on the pooled state');
  });
  const dir = mkdtempSync(join(tmpdir(), 'tlm-pool-'));
  try {
    await model.savePretrained(dir);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).pooler_dense, false);
    const back = await BertForSequenceClassification.fromPretrained(dir);
    back.eval();
    const x = ids([[2, 7, 9, 3]]);
    noGrad(() => assert.deepEqual(back.forward({ inputIds: x }).logits.dataSync(), model.forward({ inputIds: x }).logits.dataSync()));
    assert.throws(() => bertConfig({ pooler_dense: 'no' as never }), /pooler_dense must be true or false/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('classifier_pooling is written to config.json only when it is mean, and reloads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-pool-'));
  try {
    manualSeed(4);
    const model = new BertForSequenceClassification(config('mean'));
    model.eval();
    await model.savePretrained(dir);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).classifier_pooling, 'mean');
    const back = await BertForSequenceClassification.fromPretrained(dir);
    back.eval();
    const x = ids([[2, 7, 9, 3]]);
    noGrad(() => assert.deepEqual(back.forward({ inputIds: x }).logits.dataSync(), model.forward({ inputIds: x }).logits.dataSync()));
    const plain = new BertForSequenceClassification(config('cls'));
    await plain.savePretrained(dir);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).classifier_pooling, undefined);
    assert.throws(() => bertConfig({ classifier_pooling: 'max' as never }), /classifier_pooling must be 'cls' or 'mean'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

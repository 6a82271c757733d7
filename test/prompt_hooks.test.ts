// The model hooks prompt learning stands on: inputsEmbeds (HF's inputs_embeds) in BERT and GPT-2,
// and per-layer prefix keys/values (HF's past_key_values) in BERT, with the positions they imply.
import test from 'node:test';
import assert from 'node:assert/strict';
import { arange, cat, functional as F, Generator, noGrad, randn, tensor, type Tensor } from '../src/index.js';
import * as models from '../src/models/index.js';
import { bertClassifier, gpt2, gpt2Classifier, ids, maxDiff, run } from './prompt_util.js';

const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]];
const types = [[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1]];

test('inputsEmbeds = the word embeddings of inputIds gives the inputIds outputs (BERT, GPT-2 LM)', () => {
  const b = bertClassifier(1).eval();
  const words = (m: models.BertForSequenceClassification) => m.bert.embeddings.word_embeddings.forward(models.asIds(ids));
  const byIds = run(() => b.forward({ inputIds: ids, attentionMask: mask, tokenTypeIds: types }).logits!);
  assert.deepEqual(run(() => b.forward({ inputsEmbeds: words(b), attentionMask: mask, tokenTypeIds: types }).logits!), byIds);
  const g = gpt2(1).eval();
  const gIds = run(() => g.forward({ inputIds: ids, attentionMask: mask }).logits);
  assert.deepEqual(run(() => g.forward({ inputsEmbeds: g.transformer.wte.forward(models.asIds(ids)), attentionMask: mask }).logits), gIds);
});

test('GPT-2 classifier: given inputsEmbeds, the attention mask finds each row\'s last token (the ids path uses pad_token_id)', () => {
  const m = gpt2Classifier(2, { pad_token_id: 0 }).eval();
  const padded = mask.map((r, b) => r.map((v, t) => (v ? ids[b]![t]! + 1 : 0)));
  const byIds = run(() => m.forward({ inputIds: padded }).logits!);
  const byEmbeds = run(() => m.forward({ inputsEmbeds: m.transformer.wte.forward(models.asIds(padded)), attentionMask: mask }).logits!);
  assert.ok(maxDiff(byEmbeds, byIds) < 1e-6, 'same rows picked');
  // Row 2 alone, unpadded: the logits of its third (last real) token.
  const alone = run(() => m.forward({ inputIds: [padded[2]!.slice(0, 3)] }).logits!);
  assert.ok(maxDiff(byIds.slice(6, 9), alone) < 1e-5);
});

test('inputIds / inputsEmbeds: both, neither or a wrong width are one-line errors', () => {
  const b = bertClassifier(0);
  const e = randn([1, 3, 16]);
  assert.throws(() => b.forward({ inputIds: [[1, 2, 3]], inputsEmbeds: e }), /^Error: give inputIds or inputsEmbeds, not both$/);
  assert.throws(() => b.forward({}), /inputIds is missing: pass token ids \(or inputsEmbeds, where the model takes them\)/);
  assert.throws(() => gpt2().forward({ inputsEmbeds: randn([1, 3, 8]) }), /inputsEmbeds must be a float32 \[batch, length, 16\] tensor, got float32 \[1,3,8\]/);
});

test('BERT self-attention with a prefix = softmax over [prefix keys; own keys] by the functional attention, masked prefix columns get no weight', () => {
  const m = bertClassifier(3).eval();
  const self = m.bert.encoder.layer.at(0).attention.self;
  const g = new Generator(4);
  const B = 2, T = 5, P = 3, H = 2, Dh = 8;
  const x = randn([B, T, 16], { generator: g }), key = randn([B, H, P, Dh], { generator: g }), value = randn([B, H, P, Dh], { generator: g });
  // Row 0 hides its second prefix token and its last token.
  const { mask: m4 } = models.modelAttentionMask(tensor([[1, 0, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 1]], { dtype: 'int32' }), T, P + T, false);
  const got = noGrad(() => self.forward(x, { mask: m4, positionIds: null, outputAttentions: true }, { key, value }));
  const expected = run(() => {
    const heads = (t: Tensor) => t.reshape(B, T, H, Dh).transpose(1, 2);
    const q = heads(F.linear(x, self.query.weight, self.query.bias));
    const k = cat([key, heads(F.linear(x, self.key.weight, self.key.bias))], 2);
    const v = cat([value, heads(F.linear(x, self.value.weight, self.value.bias))], 2);
    return F.scaledDotProductAttention(q, k, v, { attnMask: m4 }).transpose(1, 2).reshape(B, T, H * Dh);
  });
  assert.ok(maxDiff(got.y.dataSync(), expected) < 1e-5, `attention output ${maxDiff(got.y.dataSync(), expected)}`);
  assert.deepEqual(got.weights!.shape, [B, H, T, P + T], 'every query sees P + T keys');
  const w = got.weights!.dataSync();
  for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
    assert.equal(w[((0 * H + h) * T + i) * (P + T) + 1], 0, 'masked prefix column');
    assert.ok(w[((0 * H + h) * T + i) * (P + T) + 0]! > 0, 'visible prefix column');
  }
});

test('BERT with a prefix: positions start at P (HF), the mask is [B, P + T]; a fully masked prefix gives the plain model at positions P..P+T-1', () => {
  const m = bertClassifier(5).eval();
  const g = new Generator(6);
  const B = ids.length, T = 6, P = 4;
  const prefix = Array.from({ length: 2 }, () => ({ key: randn([B, 2, P, 8], { generator: g }), value: randn([B, 2, P, 8], { generator: g }) }));
  const hidden = [...Array(P).fill(0), ...Array(T).fill(1)];
  const withPrefix = run(() => m.forward({ inputIds: ids, pastKeyValues: prefix, attentionMask: ids.map(() => hidden) }).logits!);
  const shifted = run(() => m.forward({ inputIds: ids, positionIds: arange(P, P + T).reshape(1, T) }).logits!);
  assert.ok(maxDiff(withPrefix, shifted) < 1e-5, `masked prefix vs positions ${P}.. ${maxDiff(withPrefix, shifted)}`);
  const plain = run(() => m.forward({ inputIds: ids }).logits!);
  assert.ok(maxDiff(shifted, plain) > 1e-4, 'the positions matter (else the check above proves nothing)');
  const seen = run(() => m.forward({ inputIds: ids, pastKeyValues: prefix }).logits!);
  assert.ok(maxDiff(seen, withPrefix) > 1e-4, 'a visible prefix changes the outputs');
  assert.throws(() => m.forward({ inputIds: ids, pastKeyValues: prefix, attentionMask: mask }), /attentionMask must be \[batch, 10\] \(past \+ new tokens\), got \[4,6\]/);
  assert.throws(() => m.forward({ inputIds: ids, pastKeyValues: prefix.slice(0, 1) }), /pastKeyValues has 1 layers, the model 2/);
  assert.throws(() => m.forward({ inputIds: ids, pastKeyValues: [prefix[0]!, { key: randn([B, 2, P, 4]), value: randn([B, 2, P, 4]) }] }),
    /pastKeyValues\[1\]: keys and values must be \[4, 2, 4, 8\] \(batch, heads, prefix, head dim\), got \[4,2,4,4\]/);
  const long = [{ key: randn([1, 2, 20, 8]), value: randn([1, 2, 20, 8]) }, { key: randn([1, 2, 20, 8]), value: randn([1, 2, 20, 8]) }];
  assert.throws(() => m.forward({ inputIds: [ids[0]!], pastKeyValues: long }), /BERT: 20 prefix \+ 6 tokens exceed max_position_embeddings 24/);
});

test('GPT-2 with pastKeyValues as a prefix: positions start at P (HF cache_position, as PEFT prefix tuning on GPT-2 relies on)', () => {
  const m = gpt2(7).eval();
  const g = new Generator(8);
  const B = ids.length, T = 6, P = 3;
  const prefix = Array.from({ length: 2 }, () => ({ key: randn([B, 2, P, 8], { generator: g }), value: randn([B, 2, P, 8], { generator: g }) }));
  const hidden = [...Array(P).fill(0), ...Array(T).fill(1)];
  const withPrefix = run(() => m.forward({ inputIds: ids, pastKeyValues: prefix, attentionMask: ids.map(() => hidden) }).logits);
  const shifted = run(() => m.forward({ inputIds: ids, positionIds: arange(P, P + T).reshape(1, T) }).logits);
  assert.ok(maxDiff(withPrefix, shifted) < 1e-5, `masked prefix vs positions ${P}..: ${maxDiff(withPrefix, shifted)}`);
  assert.ok(maxDiff(shifted, run(() => m.forward({ inputIds: ids }).logits)) > 1e-4, 'the positions matter');
});

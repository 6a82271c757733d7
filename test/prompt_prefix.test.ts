// Prefix tuning (models.applyPrefixTuning, PEFT's PREFIX_TUNING / P-tuning v2): PEFT's prefix
// layout, what the model sees, the MLP reparameterization, training with the base bit-identical.
import test from 'node:test';
import assert from 'node:assert/strict';
import { cat, Generator, memory, nn, noGrad, ones, optim, tidy } from '../src/index.js';
import * as models from '../src/models/index.js';
import { assertUnchanged, BERT_TINY, bertClassifier, gpt2, ids, labels, run, snapshot, train } from './prompt_util.js';
import { BertModel, bertConfig } from '../src/models/bert/index.js';
import { manualSeed, randn } from '../src/index.js';

const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]];

test('prefix layout as PEFT\'s get_prompt: the flat [P, L·2·d] vector viewed [P, 2L, H, Dh]; layer l keys = row 2l, values = row 2l + 1', () => {
  const pf = models.applyPrefixTuning(bertClassifier(1), { numVirtualTokens: 3, generator: new Generator(1) });
  const P = 3, L = 2, H = 2, Dh = 8, d = 16;
  const flat = pf.encoder.forward().dataSync();
  assert.equal(flat.length, P * L * 2 * d);
  const kv = pf.getPrompt(2) as nn.KeyValue[];
  assert.equal(kv.length, L);
  for (let l = 0; l < L; l++) {
    for (const [which, t] of [[0, kv[l]!.key], [1, kv[l]!.value]] as const) {
      assert.deepEqual(t.shape, [2, H, P, Dh]);
      const v = run(() => t.contiguous());
      for (let b = 0; b < 2; b++) for (let h = 0; h < H; h++) for (let p = 0; p < P; p++) for (let j = 0; j < Dh; j++) {
        assert.equal(v[((b * H + h) * P + p) * Dh + j], flat[p * L * 2 * d + ((2 * l + which) * H + h) * Dh + j]);
      }
    }
  }
});

test('prefix tuning (BERT classifier): the model gets the prefix as pastKeyValues and a [B, P + T] mask; positions given move by P', () => {
  const model = bertClassifier(2).eval();
  const P = 4;
  const pf = models.applyPrefixTuning(model, { numVirtualTokens: P, generator: new Generator(2) });
  const seen = pf.prepareInputs({ inputIds: ids, attentionMask: mask, positionIds: [[0, 1, 2, 3, 4, 5]] });
  assert.equal(seen.inputIds, ids, 'ids go through as they are');
  assert.equal(seen.pastKeyValues!.length, 2);
  assert.deepEqual((seen.attentionMask as { dataSync(): Int32Array }).dataSync(), Int32Array.from(mask.flatMap((r) => [1, 1, 1, 1, ...r])));
  assert.deepEqual((seen.positionIds as { dataSync(): Int32Array }).dataSync(), Int32Array.from([4, 5, 6, 7, 8, 9]));
  const byHand = run(() => model.forward({ inputIds: ids, pastKeyValues: pf.getPrompt(4) as nn.KeyValue[],
    attentionMask: cat([ones([4, P], { dtype: 'int32' }), models.asIds(mask)], 1) }).logits!);
  const got = run(() => pf.forward({ inputIds: ids, attentionMask: mask }).logits!);
  assert.deepEqual(got, byHand);
  assert.deepEqual(run(() => pf.forward({ inputIds: ids, attentionMask: mask, positionIds: [[0, 1, 2, 3, 4, 5]] }).logits!), got,
    'positions 0.. given = the default (they start at P either way)');
  const att = noGrad(() => pf.forward({ inputIds: ids, outputAttentions: true }).attentions![1]!);
  assert.deepEqual(att.shape, [4, 2, 6, P + 6]);
});

test('a prefix is positionless: under ALiBi its keys get no distance penalty, the real keys get -slope·|i - j|', () => {
  const H = 2, Dh = 4, T = 5, P = 3;
  const model = new BertModel(bertConfig({ vocab_size: 20, hidden_size: H * Dh, num_hidden_layers: 1, num_attention_heads: H, intermediate_size: 16,
    max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, position_embedding_type: 'alibi' })).eval();
  const input = models.asIds([[3, 7, 1, 9, 4]]);
  noGrad(() => {
    const prefix = { key: randn([1, H, P, Dh]), value: randn([1, H, P, Dh]) };
    const got = model.forward({ inputIds: input, pastKeyValues: [prefix], outputAttentions: true }).attentions![0]!.dataSync();
    // By hand (post-norm: the layer reads the embeddings' output).
    const self = model.encoder.layer.at(0).attention.self;
    const x = model.embeddings.forward(input, null, null);
    const q = self.query.forward(x).dataSync(), k = self.key.forward(x).dataSync(), pk = prefix.key.dataSync();
    const slopes = nn.alibiSlopes(H);
    for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
      const scores: number[] = [];
      const dot = (key: (d: number) => number) => Array.from({ length: Dh }, (_, d) => q[i * H * Dh + h * Dh + d]! * key(d)).reduce((a, b) => a + b) / Math.sqrt(Dh);
      for (let j = 0; j < P; j++) scores.push(dot((d) => pk[(h * P + j) * Dh + d]!));
      for (let j = 0; j < T; j++) scores.push(dot((d) => k[j * H * Dh + h * Dh + d]!) - slopes[h]! * Math.abs(i - j));
      const m = Math.max(...scores), e = scores.map((s) => Math.exp(s - m)), z = e.reduce((a, b) => a + b);
      e.forEach((v, j) => assert.ok(Math.abs(got[(h * T + i) * (P + T) + j]! - v / z) < 1e-5, `head ${h}, query ${i}, key ${j}`));
    }
  });
});

test('ScoreBias with positionless keys: 0 on them, and the real keys\' bias as without them (ALiBi, relative)', () => {
  const H = 2, Dh = 4, L = 3, P = 2;
  const q = randn([1, H, L, Dh]);
  for (const bias of [new nn.ALiBi({ numHeads: H }), new nn.RelativePositionBias({ headDim: Dh, maxRelativePosition: 2 })]) {
    noGrad(() => {
      const alone = bias.scoreBias(q, 0, L).dataSync();
      const withPrefix = bias.scoreBias(q, 0, P + L, P).dataSync();
      const rows = alone.length / L;
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < P; j++) assert.equal(withPrefix[r * (P + L) + j], 0, `${bias.constructor.name}: prefix column ${j}`);
        for (let j = 0; j < L; j++) assert.equal(withPrefix[r * (P + L) + P + j], alone[r * L + j], `${bias.constructor.name}: key ${j}`);
      }
    });
  }
});

test('prefix tuning training (BERT classifier, flat and with the MLP): the loss falls, the base stays bit-identical; PEFT\'s parameter counts', () => {
  for (const prefixProjection of [false, true]) {
    const model = bertClassifier(3);
    const base = snapshot(model);
    const pf = models.applyPrefixTuning(model, { numVirtualTokens: 4, prefixProjection, encoderHiddenSize: 8, generator: new Generator(3) });
    const head = 16 * 3 + 3, d = 16, L = 2;
    const prefix = prefixProjection ? 4 * d + (d * 8 + 8) + (8 * L * 2 * d + L * 2 * d) : 4 * L * 2 * d;
    assert.equal(pf.getNbTrainableParameters().trainable, prefix + head);
    assert.equal(pf.getNbTrainableParameters().all, model.numParameters() + prefix);
    const keys = pf.namedTrainableParameters().map(([k]) => k).filter((k) => k.startsWith('prompt_encoder'));
    assert.deepEqual(keys, prefixProjection
      ? ['prompt_encoder.default.embedding.weight', 'prompt_encoder.default.transform.0.weight', 'prompt_encoder.default.transform.0.bias',
        'prompt_encoder.default.transform.2.weight', 'prompt_encoder.default.transform.2.bias']
      : ['prompt_encoder.default.embedding.weight'], 'PEFT\'s PrefixEncoder names');
    const losses = train(pf, { inputIds: ids, attentionMask: mask, labels }, 12, 5e-2);
    assert.ok(losses[losses.length - 1]! < 0.7 * losses[0]!, `projection ${prefixProjection}: loss ${losses[0]} → ${losses[losses.length - 1]}`);
    assertUnchanged(base);
  }
});

test('prefix tuning training (GPT-2 LM): the loss falls, the base stays bit-identical; a KV cache or token types are refused', () => {
  const model = gpt2(4);
  const base = snapshot(model);
  const pf = models.applyPrefixTuning(model, { numVirtualTokens: 3, generator: new Generator(4) });
  assert.equal(pf.peftConfig.taskType, 'CAUSAL_LM');
  const losses = train(pf, { inputIds: ids, labels: ids }, 12, 5e-2);
  assert.ok(losses[losses.length - 1]! < 0.85 * losses[0]!, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  assertUnchanged(base);
  assert.throws(() => pf.forward({ inputIds: ids, pastKeyValues: pf.getPrompt(4) as nn.KeyValue[] }), /prefix tuning: pastKeyValues cannot be given/);
  assert.throws(() => pf.forward({ inputIds: ids, tokenTypeIds: ids }), /prefix tuning: tokenTypeIds are not supported on a causal LM/);
  // A step leaves no tensor behind once the optimizer's state exists.
  const opt = new optim.AdamW(pf.trainableParameters(), { lr: 1e-2 });
  const step = () => { tidy(() => { pf.forward({ inputIds: ids, labels: ids }).loss!.backward(); }); opt.step(); opt.zeroGrad(); };
  step();
  const live = memory().numTensors + memory().numCollected;
  for (let i = 0; i < 5; i++) step();
  assert.equal(memory().numTensors + memory().numCollected, live);
});

test('prefix init: zero (PEFT\'s init_weights="zero", flat and through the MLP) and N(0, 1) by default; option errors', () => {
  const zero = models.applyPrefixTuning(gpt2(5), { numVirtualTokens: 2, initWeights: 'zero' });
  assert.ok(zero.encoder.forward().dataSync().every((v) => v === 0));
  const zeroMlp = models.applyPrefixTuning(gpt2(5), { numVirtualTokens: 2, initWeights: 'zero', prefixProjection: true });
  assert.ok(run(() => zeroMlp.encoder.forward()).every((v) => v === 0), 'the last MLP layer starts at zero');
  assert.ok(run(() => zeroMlp.encoder.forward()).length === 2 * 2 * 2 * 16);
  const rnd = Array.from(models.applyPrefixTuning(gpt2(5), { numVirtualTokens: 16, generator: new Generator(3) }).encoder.forward().dataSync());
  const std = Math.sqrt(rnd.reduce((s, v) => s + v * v, 0) / rnd.length);
  assert.ok(Math.abs(std - 1) < 0.05, `std ${std}`);
  assert.throws(() => models.applyPrefixTuning(gpt2(), { numVirtualTokens: 2, initWeights: 'ones' as 'zero' }), /PrefixEncoder: initWeights must be 'zero' or null, got "ones"/);
  assert.throws(() => models.applyPrefixTuning(gpt2(), { numVirtualTokens: 1.5 }), /applyPrefixTuning: numVirtualTokens must be a positive integer, got 1.5/);
});

test('prefix init from real words (Li & Liang): each layer\'s keys and values are what the frozen model computes for the tokens (post- and pre-norm BERT)', () => {
  const tokenizer = { encode: () => ({ ids: [5, 7, 9] }) };
  for (const extra of [{}, { norm_first: true, position_embedding_type: 'alibi' }]) {
    manualSeed(4);
    const model = new models.BertForSequenceClassification({ ...BERT_TINY, ...extra });
    model.train();
    const pf = models.applyPrefixTuning(model, { numVirtualTokens: 4, init: { text: 'x', tokenizer } });
    assert.equal(model.training, true, 'the model is left in training mode');
    const got = pf.encoder.forward().dataSync();
    const L = 2, d = 16;
    model.eval();
    const layers = [...model.bert.encoder.layer];
    const hidden = noGrad(() => model.bert.forward({ inputIds: [[5, 7, 9, 5]], outputHiddenStates: true }).hiddenStates!);
    layers.forEach((layer, l) => {
      const pre = 'norm_first' in extra;
      const x = noGrad(() => (pre ? layer.attention.output.LayerNorm.forward(hidden[l]!) : hidden[l]!));
      for (const [which, lin] of [[0, layer.attention.self.key], [1, layer.attention.self.value]] as const) {
        const want = run(() => lin.forward(x));
        for (let p = 0; p < 4; p++) for (let j = 0; j < d; j++) {
          const g = got[p * L * 2 * d + (2 * l + which) * d + j]!, w = want[p * d + j]!;
          assert.ok(Math.abs(g - w) <= 1e-5 * (1 + Math.abs(w)), `layer ${l} ${which ? 'value' : 'key'} [${p}, ${j}]: ${g} vs ${w}`);
        }
      }
    });
    // The projections are the class's own again (no recording left behind).
    assert.equal(Object.hasOwn(layers[0]!.attention.self.key, 'forward'), false);
  }
  assert.throws(() => models.applyPrefixTuning(bertClassifier(), { numVirtualTokens: 2, init: 'sample-vocab', prefixProjection: true }), /PrefixEncoder: init sets the prefix itself; it cannot go with prefixProjection \(the MLP computes the prefix\)/);
  assert.throws(() => new nn.PrefixEncoder({ numVirtualTokens: 2, tokenDim: 4, numLayers: 1, init: ones([2, 4]) }), /PrefixEncoder: init must be \[2, 8\], got \[2,4\]/);
  assert.throws(() => new nn.PrefixEncoder({ numVirtualTokens: 2, tokenDim: 4, numLayers: 1, initWeights: 'zero', init: ones([2, 8]) }), /PrefixEncoder: init sets the prefix itself; it cannot go with initWeights 'zero'/);
  assert.throws(() => models.applyPrefixTuning(gpt2(), { numVirtualTokens: 2, init: 'sample-vocab' }), /applyPrefixTuning: init from activations needs each layer's key and value projections \(BERT's attention\); found 0 for 2 layers in GPT2LMHeadModel/);
  assert.throws(() => models.applyPrefixTuning(bertClassifier(), { numVirtualTokens: 2, init: { text: 'x', tokenizer: { encode: () => ({ ids: [99999] }) } } }), /init text has token id 99999, outside the model's/);
});

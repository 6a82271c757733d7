// Soft prompts (models.applyPromptTuning, PEFT's PROMPT_TUNING): what the model sees, the inits,
// training that leaves the base bit-identical, GPT-2 classification's last token, memory.
import test from 'node:test';
import assert from 'node:assert/strict';
import { cat, functional, Generator, manualSeed, memory, nn, noGrad, ones, optim, tidy } from '../src/index.js';
import * as models from '../src/models/index.js';
import { assertUnchanged, BERT_TINY, bertClassifier, gpt2, gpt2Classifier, ids, labels, maxDiff, run, snapshot, train } from './prompt_util.js';

const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]];

test('prompt tuning (BERT classifier): P vectors before the word embeddings, mask and token types extended, attention over P + T', () => {
  const model = bertClassifier(1).eval();
  const plain = run(() => model.forward({ inputIds: ids, attentionMask: mask }).logits!);
  const P = 5;
  const pt = models.applyPromptTuning(model, { numVirtualTokens: P, generator: new Generator(2) });
  assert.equal(pt.peftConfig.taskType, 'SEQ_CLS');
  assert.deepEqual(pt.peftConfig.modulesToSave, ['classifier']);
  const types = ids.map((r) => r.map((_, t) => (t < 3 ? 0 : 1)));
  const seen = pt.prepareInputs({ inputIds: ids, attentionMask: mask, tokenTypeIds: types, labels });
  assert.equal(seen.inputIds, undefined);
  assert.deepEqual(seen.inputsEmbeds!.shape, [4, P + 6, 16]);
  assert.deepEqual((seen.attentionMask as { dataSync(): Int32Array }).dataSync(), Int32Array.from(mask.flatMap((r) => [1, 1, 1, 1, 1, ...r])));
  assert.deepEqual((seen.tokenTypeIds as { dataSync(): Int32Array }).dataSync(), Int32Array.from(types.flatMap((r) => [0, 0, 0, 0, 0, ...r])));
  assert.equal(seen.labels, labels, 'sequence labels are left alone');
  // The handle's output is the model's on [prompt; embeddings], built here by hand.
  const prompt = pt.encoder.forward();
  const byHand = run(() => model.forward({
    inputsEmbeds: cat([prompt.unsqueeze(0).expand(4, P, 16), model.bert.embeddings.word_embeddings.forward(models.asIds(ids))], 1),
    attentionMask: cat([ones([4, P], { dtype: 'int32' }), models.asIds(mask)], 1),
  }).logits!);
  assert.deepEqual(run(() => pt.forward({ inputIds: ids, attentionMask: mask }).logits!), byHand);
  const out = noGrad(() => pt.forward({ inputIds: ids, attentionMask: mask, outputAttentions: true }));
  assert.deepEqual(out.attentions![0]!.shape, [4, 2, P + 6, P + 6], 'attention sees the prompt');
  const w = out.attentions![0]!.dataSync();
  assert.ok(w[(0 * (P + 6) + 2) * (P + 6) + P + 5] === 0 && w[(0 * (P + 6) + 2) * (P + 6) + 1]! > 0, 'padding masked, prompt visible');
  assert.deepEqual(pt.disableAdapters(() => run(() => pt.forward({ inputIds: ids, attentionMask: mask }).logits!)), plain, 'disabled: the base model');
  assert.ok(maxDiff(run(() => pt.forward({ inputIds: ids, attentionMask: mask }).logits!), plain) > 1e-4, 'enabled again: the prompt acts');
});

test('prompt tuning inits: TEXT copies the text\'s token embeddings (repeated to P, as PEFT), SAMPLE_VOCAB rows of the vocabulary, RANDOM N(0, 1)', () => {
  const model = gpt2(2);
  const wte = model.transformer.wte.weight.dataSync();
  const tokenizer = { encode: (text: string) => ({ ids: text.split(' ').map((w) => w.length) }) };
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 7, init: { text: 'ab c defg', tokenizer, tokenizerNameOrPath: 'tok' } });
  const rows = [2, 1, 4, 2, 1, 4, 2];
  const e = pt.encoder.forward().dataSync();
  rows.forEach((r, i) => assert.deepEqual(e.slice(i * 16, (i + 1) * 16), wte.slice(r * 16, (r + 1) * 16), `virtual token ${i} = word ${r}`));
  assert.deepEqual([pt.peftConfig.promptTuningInit, pt.peftConfig.promptTuningInitText, pt.peftConfig.tokenizerNameOrPath], ['TEXT', 'ab c defg', 'tok']);
  assert.deepEqual(models.applyPromptTuning(gpt2(2), { numVirtualTokens: 2, init: { text: 'abcdef ghijklm', tokenizer } }).encoder.forward().dataSync().slice(16),
    gpt2(2).transformer.wte.weight.dataSync().slice(7 * 16, 8 * 16), 'a longer text is cut to P');
  const sv = models.applyPromptTuning(gpt2(3), { numVirtualTokens: 4, init: 'sample-vocab', generator: new Generator(9) });
  const table = sv.base_model.transformer.wte.weight.dataSync(), got = sv.encoder.forward().dataSync();
  for (let i = 0; i < 4; i++) {
    const row = got.slice(i * 16, (i + 1) * 16);
    assert.ok(Array.from({ length: 30 }, (_, r) => table.slice(r * 16, (r + 1) * 16)).some((w) => maxDiff(w, row) === 0), `virtual token ${i} is a vocabulary row`);
  }
  const rnd = Array.from(models.applyPromptTuning(gpt2(4), { numVirtualTokens: 64, generator: new Generator(1) }).encoder.forward().dataSync());
  const std = Math.sqrt(rnd.reduce((s, v) => s + v * v, 0) / rnd.length);
  assert.ok(Math.abs(std - 1) < 0.05, `RANDOM: N(0, 1) as torch's Embedding, std ${std}`);
  assert.throws(() => models.applyPromptTuning(gpt2(), { numVirtualTokens: 2, init: { text: 'x', tokenizer: { encode: () => ({ ids: [99] }) } } }),
    /init text has token id 99, outside the model's 30 embeddings/);
  assert.throws(() => models.applyPromptTuning(gpt2(), { numVirtualTokens: 0 }), /applyPromptTuning: numVirtualTokens must be a positive integer, got 0/);
  assert.throws(() => models.applyPromptTuning(gpt2(), { numVirtualTokens: 2, init: 'zeros' as 'random' }), /init must be 'random', 'sample-vocab' or \{ text, tokenizer \}, got "zeros"/);
});

test('prompt tuning training (BERT classifier, AdamW): the loss falls, every base weight stays bit-identical', () => {
  const model = bertClassifier(3);
  const base = snapshot(model);
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 4, generator: new Generator(3) });
  const { trainable, all } = pt.getNbTrainableParameters();
  assert.equal(trainable, 4 * 16 + (16 * 3 + 3), 'the prompt and the classifier copy (PEFT\'s modules_to_save)');
  assert.equal(all, model.numParameters() + 4 * 16);
  assert.deepEqual(pt.namedTrainableParameters().map(([k]) => k).sort(),
    ['base_model.classifier.modules_to_save.default.bias', 'base_model.classifier.modules_to_save.default.weight', 'prompt_encoder.default.embedding.weight']);
  const losses = train(pt, { inputIds: ids, attentionMask: mask, labels }, 12, 5e-2);
  assert.ok(losses[losses.length - 1]! < 0.7 * losses[0]!, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  assertUnchanged(base);
});

test('prompt tuning training (GPT-2 LM): labels get P leading -100s, the loss falls, the base stays bit-identical', () => {
  const model = gpt2(4);
  const base = snapshot(model);
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 3, generator: new Generator(4) });
  assert.equal(pt.peftConfig.taskType, 'CAUSAL_LM');
  assert.equal(pt.peftConfig.modulesToSave, null);
  const seen = pt.prepareInputs({ inputIds: ids, labels: ids });
  assert.deepEqual((seen.labels as { dataSync(): Int32Array }).dataSync().slice(0, 9), Int32Array.from([-100, -100, -100, ...ids[0]!]));
  // The model's loss over P + T positions with the prompt's targets ignored: the prompt's last
  // position predicts the first real token, so T targets count, as in PEFT.
  const l = run(() => pt.forward({ inputIds: ids, labels: ids }).loss!)[0]!;
  const manual = run(() => {
    const logits = pt.forward({ inputIds: ids }).logits;
    // Positions P - 1 .. P + T - 2 predict the T real tokens.
    return functional.crossEntropy(logits.narrow(1, 2, 6).reshape(-1, 30), models.asIds(ids).reshape(-1));
  })[0]!;
  assert.ok(Math.abs(l - manual) < 1e-5, `loss ${l} vs the real positions' ${manual}`);
  assert.throws(() => pt.forward({ inputIds: ids, tokenTypeIds: ids }), /prompt tuning: tokenTypeIds are not supported on a causal LM \(PEFT drops them\)/);
  assert.throws(() => pt.forward({ inputIds: ids, positionIds: [[0, 1, 2, 3, 4, 5]] }), /prompt tuning: positionIds cannot be given/);
  const losses = train(pt, { inputIds: ids, labels: ids }, 15, 1e-1);
  assert.ok(losses[losses.length - 1]! < 0.85 * losses[0]!, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  assertUnchanged(base);
});

test('prompt tuning (GPT-2 classifier, right padding): the last real token is picked, with or without an attention mask', () => {
  const model = gpt2Classifier(5, { pad_token_id: 0 });
  const base = snapshot(model);
  const padded = mask.map((r, b) => r.map((v, t) => (v ? ids[b]![t]! + 1 : 0)));
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 3, generator: new Generator(5) });
  pt.eval();
  const withMask = run(() => pt.forward({ inputIds: padded, attentionMask: mask }).logits!);
  assert.deepEqual(run(() => pt.forward({ inputIds: padded }).logits!), withMask, 'pad ids give the mask');
  for (let b = 0; b < 4; b++) {
    const n = mask[b]!.reduce((s, v) => s + v, 0);
    const alone = run(() => pt.forward({ inputIds: [padded[b]!.slice(0, n)] }).logits!);
    assert.ok(maxDiff(withMask.slice(b * 3, b * 3 + 3), alone) < 1e-5, `row ${b}: the logits of its last real token`);
  }
  const losses = train(pt, { inputIds: padded, attentionMask: mask, labels }, 12, 5e-2);
  assert.ok(losses[losses.length - 1]! < 0.7 * losses[0]!, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  assertUnchanged(base);
});

test('prompt tuning (BERT QA): qa_outputs trains as a copy, span positions move by P so that they index the same tokens', () => {
  manualSeed(8);
  const model = new models.BertForQuestionAnswering({ ...BERT_TINY, num_labels: 2 });
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 3 });
  assert.deepEqual([pt.peftConfig.taskType, pt.peftConfig.modulesToSave], ['QUESTION_ANS', ['qa_outputs']]);
  const seen = pt.prepareInputs({ inputIds: ids, startPositions: [1, 2, 0, 5], endPositions: [2, 4, 0, 5] });
  assert.deepEqual((seen.startPositions as { dataSync(): Int32Array }).dataSync(), Int32Array.from([4, 5, 3, 8]));
  assert.deepEqual((seen.endPositions as { dataSync(): Int32Array }).dataSync(), Int32Array.from([5, 7, 3, 8]));
  const out = noGrad(() => pt.forward({ inputIds: ids, startPositions: [1, 2, 0, 5], endPositions: [2, 4, 0, 5] }));
  assert.deepEqual(out.startLogits!.shape, [4, 9], 'logits over the prompt and the text, as PEFT');
  assert.ok(Number.isFinite(out.loss!.item()));
});

test('prompt tuning: live tensors stay flat across 20 training steps', () => {
  const pt = models.applyPromptTuning(bertClassifier(6), { numVirtualTokens: 4 });
  const opt = new optim.AdamW(pt.trainableParameters(), { lr: 1e-2 });
  pt.train();
  const step = () => { tidy(() => { pt.forward({ inputIds: ids, attentionMask: mask, labels }).loss!.backward(); }); opt.step(); opt.zeroGrad(); };
  step(); // the optimizer's state is made here
  const live = memory().numTensors + memory().numCollected;
  for (let i = 0; i < 20; i++) step();
  assert.equal(memory().numTensors + memory().numCollected, live);
});

test('unload gives the model back as it was; a second adapter on a wrapped model is refused', () => {
  const model = bertClassifier(7);
  const before = run(() => model.forward({ inputIds: ids }).logits!);
  const flags = model.parameters().map((p) => p.requiresGrad);
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 2 });
  assert.ok(model.classifier instanceof nn.ModulesToSaveWrapper, 'the head is trained as a copy');
  assert.throws(() => models.applyPrefixTuning(model, { numVirtualTokens: 2 }), /already has adapter-trained modules \(at 'classifier'\)/);
  assert.equal(pt.unload(), model);
  assert.deepEqual(run(() => model.forward({ inputIds: ids }).logits!), before);
  assert.deepEqual(model.parameters().map((p) => p.requiresGrad), flags);
  assert.throws(() => pt.forward({ inputIds: ids }), /the prompt was unloaded/);
  assert.throws(() => models.applyPromptTuning(new models.Seq2SeqTransformer({ src_vocab_size: 10, tgt_vocab_size: 10, d_model: 8, nhead: 2, num_encoder_layers: 1, num_decoder_layers: 1, dim_feedforward: 8 }), { numVirtualTokens: 2 }), /Seq2SeqTransformer is an encoder-decoder model; prompt learning supports one-stack models \(BERT, GPT-2, Llama\)/);
});

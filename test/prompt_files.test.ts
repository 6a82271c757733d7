// Prompt-learning adapters in PEFT's file format: adapter_config.json fields (against configs PEFT
// published), `prompt_embeddings` and head keys, save → load round trips, dispatch, errors.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Generator, io, nn } from '../src/index.js';
import * as models from '../src/models/index.js';
import { bertClassifier, gpt2, ids, labels, run, train } from './prompt_util.js';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `tlm-${name}-`));
const quiet = { warn: () => {} };
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(process.cwd(), 'test', 'fixtures', 'prompt', name), 'utf8')) as Record<string, unknown>;
const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]];
const shapes = (d: Record<string, { shape: readonly number[] }>) => Object.fromEntries(Object.entries(d).map(([k, t]) => [k, [...t.shape]]));
const readJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;

test('prompt tuning adapter files: PEFT\'s keys (prompt_embeddings, base_model.classifier.*) and adapter_config.json fields', async () => {
  const tokenizer = { encode: (t: string) => ({ ids: [...t].map((c) => c.charCodeAt(0) % 40) }) };
  const pt = models.applyPromptTuning(bertClassifier(1), { numVirtualTokens: 5, init: { text: 'classify', tokenizer, tokenizerNameOrPath: 'bert-tiny' }, baseModelNameOrPath: 'bert-tiny' });
  const dir = tmp('pt');
  await models.saveAdapter(dir, pt);
  const saved = await io.loadSafetensors(path.join(dir, 'adapter_model.safetensors'));
  assert.deepEqual(shapes(saved), { prompt_embeddings: [5, 16], 'base_model.classifier.weight': [3, 16], 'base_model.classifier.bias': [3] });
  assert.deepEqual(saved.prompt_embeddings!.dataSync(), pt.encoder.forward().dataSync());
  const cfg = readJson(dir);
  assert.deepEqual(Object.keys(cfg), [...Object.keys(cfg)].sort(), 'keys sorted, as PEFT');
  // Every field PEFT writes for PROMPT_TUNING (a config it published), plus modules_to_save (PromptLearningConfig's, for the head).
  assert.deepEqual(Object.keys(cfg), [...Object.keys(fixture('peft_prompt_tuning.json')), 'modules_to_save'].sort());
  assert.deepEqual(cfg, {
    auto_mapping: null, base_model_name_or_path: 'bert-tiny', inference_mode: true, modules_to_save: ['classifier'], num_attention_heads: 2,
    num_layers: 2, num_transformer_submodules: 1, num_virtual_tokens: 5, peft_type: 'PROMPT_TUNING', prompt_tuning_init: 'TEXT',
    prompt_tuning_init_text: 'classify', revision: null, task_type: 'SEQ_CLS', token_dim: 16, tokenizer_kwargs: null, tokenizer_name_or_path: 'bert-tiny',
  });
});

test('prefix tuning adapter files: PEFT saves the computed prefix [P, L·2·d] (through the MLP when there is one) and PREFIX_TUNING fields', async () => {
  const pf = models.applyPrefixTuning(gpt2(2), { numVirtualTokens: 3, prefixProjection: true, encoderHiddenSize: 8 });
  const dir = tmp('pf');
  await models.saveAdapter(dir, pf);
  const saved = await io.loadSafetensors(path.join(dir, 'adapter_model.safetensors'));
  assert.deepEqual(shapes(saved), { prompt_embeddings: [3, 2 * 2 * 16] }, 'no MLP weights, no head for a causal LM');
  assert.deepEqual(saved.prompt_embeddings!.dataSync(), run(() => pf.encoder.forward()));
  const cfg = readJson(dir);
  assert.deepEqual(Object.keys(cfg), [...Object.keys(fixture('peft_prefix_tuning.json')), 'modules_to_save'].sort());
  assert.deepEqual([cfg.peft_type, cfg.task_type, cfg.prefix_projection, cfg.encoder_hidden_size, cfg.num_layers, cfg.token_dim, cfg.num_attention_heads, cfg.modules_to_save],
    ['PREFIX_TUNING', 'CAUSAL_LM', true, 8, 2, 16, 2, null]);
  const zdir = tmp('pfz');
  await models.saveAdapter(zdir, models.applyPrefixTuning(gpt2(2), { numVirtualTokens: 3, initWeights: 'zero' }));
  assert.deepEqual(Object.keys(readJson(zdir)), [...Object.keys(fixture('peft_prefix_tuning_zero_init.json')), 'modules_to_save'].sort());
  assert.equal(readJson(zdir).init_weights, 'zero');
});

test('PEFT\'s published prompt and prefix configs parse (fields as written by save_pretrained)', () => {
  const p = models.promptConfigFromJson(fixture('peft_prompt_tuning.json'));
  assert.deepEqual([p.peftType, p.taskType, p.numVirtualTokens, p.tokenDim, p.numLayers, p.numAttentionHeads, p.promptTuningInit, p.inferenceMode],
    ['PROMPT_TUNING', 'CAUSAL_LM', 200, 3072, 28, 24, 'RANDOM', false]);
  const f = models.promptConfigFromJson(fixture('peft_prefix_tuning.json'));
  assert.deepEqual([f.peftType, f.prefixProjection, f.encoderHiddenSize, f.initWeights], ['PREFIX_TUNING', false, 3072, null]);
  assert.equal(models.promptConfigFromJson(fixture('peft_prefix_tuning_zero_init.json')).initWeights, 'zero');
});

test('save → load (prompt tuning, BERT classifier): a fresh base model with the loaded adapter gives identical outputs', async () => {
  const baseDir = tmp('base'), dir = tmp('adapter');
  const model = bertClassifier(3);
  await model.savePretrained(baseDir);
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 4, generator: new Generator(3) });
  train(pt, { inputIds: ids, attentionMask: mask, labels }, 3);
  const adapted = run(() => pt.forward({ inputIds: ids, attentionMask: mask }).logits!);
  await models.saveAdapter(dir, pt);

  const fresh = await models.fromPretrained(baseDir, quiet) as models.BertForSequenceClassification;
  const loaded = await models.loadPromptAdapter(fresh, dir);
  assert.deepEqual(run(() => loaded.forward({ inputIds: ids, attentionMask: mask }).logits!), adapted);
  assert.equal(loaded.getNbTrainableParameters().trainable, 0, 'inference mode by default, as PEFT');
  const again = await models.loadPeftAdapter(await models.fromPretrained(baseDir, quiet), dir, { isTrainable: true });
  assert.ok(again instanceof models.PromptLearningModel, 'loadPeftAdapter dispatches on peft_type');
  assert.equal(again.getNbTrainableParameters().trainable, 4 * 16 + 16 * 3 + 3);
  assert.deepEqual(run(() => again.forward({ inputIds: ids, attentionMask: mask }).logits!), adapted);
  await assert.rejects(models.loadAdapter(await models.fromPretrained(baseDir, quiet), dir),
    /peft_type 'PROMPT_TUNING' is a prompt-learning adapter; load it with loadPromptAdapter \(or loadPeftAdapter\)/);
  const loraDir = tmp('lora');
  await models.saveAdapter(loraDir, models.applyLora(bertClassifier(3), { r: 2, targetModules: ['query'] }));
  assert.ok(await models.loadPeftAdapter(bertClassifier(3), loraDir) instanceof nn.LoraModel, 'LoRA directories go to loadAdapter');
});

test('save → load (prefix tuning through the MLP, GPT-2): the saved prefix runs identically; it loads for inference only', async () => {
  const baseDir = tmp('gbase'), dir = tmp('gadapter');
  const model = gpt2(4);
  await model.savePretrained(baseDir);
  const pf = models.applyPrefixTuning(model, { numVirtualTokens: 3, prefixProjection: true, generator: new Generator(4) });
  train(pf, { inputIds: ids, labels: ids }, 3);
  const adapted = run(() => pf.forward({ inputIds: ids }).logits);
  await models.saveAdapter(dir, pf);
  const fresh = await models.fromPretrained(baseDir, quiet);
  const loaded = await models.loadPromptAdapter(fresh, dir);
  assert.equal(loaded.peftConfig.prefixProjection, true);
  assert.deepEqual(run(() => loaded.forward({ inputIds: ids }).logits!), adapted);
  await assert.rejects(models.loadPromptAdapter(await models.fromPretrained(baseDir, quiet), dir, { isTrainable: true }),
    /prefix_projection is true and PEFT saves only the computed prefix, so the adapter can be loaded for inference only/);
  assert.throws(() => loaded.setTrainable(true), /loaded without its MLP/);
});

test('loadPromptAdapter: a model of another shape, missing or misshapen weights, other PEFT types get one-line errors; the model is left as it was', async () => {
  const dir = tmp('bad');
  await models.saveAdapter(dir, models.applyPromptTuning(bertClassifier(5), { numVirtualTokens: 4 }));
  const cfgFile = path.join(dir, 'adapter_config.json'), weights = path.join(dir, 'adapter_model.safetensors');
  const cfg = readJson(dir);
  const model = bertClassifier(5);
  const expectError = async (re: RegExp, target: nn.Module = model) => {
    await assert.rejects(models.loadPromptAdapter(target, dir), (err: Error) => { assert.match(err.message, re); assert.ok(!err.message.includes('\n')); return true; });
    assert.ok(![...target.namedModules()].some(([, m]) => m instanceof nn.ModulesToSaveWrapper), 'model unchanged');
    assert.ok(target.parameters().every((p) => p.requiresGrad), 'nothing frozen');
  };
  // GPT-2 tiny has BERT tiny's layers, width and heads, but no classifier to restore.
  await expectError(/modulesToSave 'classifier' matches no module of GPT2LMHeadModel/, gpt2());
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, num_layers: 3 }));
  await expectError(/adapter_config\.json: num_layers is 3, the model \(BertForSequenceClassification\) has 2/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, num_virtual_tokens: 6 }));
  await expectError(/'prompt_embeddings' is \[4,16\], the adapter's is \[6,16\] \(check num_virtual_tokens and the base model\)/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, num_transformer_submodules: 2 }));
  await expectError(/num_transformer_submodules 2 is for encoder-decoder models/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, peft_type: 'LORA' }));
  await expectError(/peft_type "LORA" is not a prompt-learning adapter \(expected 'PROMPT_TUNING' or 'PREFIX_TUNING'; load LoRA adapters with loadAdapter\)/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, modules_to_save: null }));
  await expectError(/key 'base_model\.classifier\.bias' is not part of this PROMPT_TUNING adapter \(2 such keys\)/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, token_dim: 'wide' }));
  await expectError(/token_dim must be a positive integer, got "wide"/);
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  fs.renameSync(weights, weights + '.moved');
  await expectError(/adapter_model\.safetensors not found/);
  fs.renameSync(weights + '.moved', weights);
  await assert.rejects(models.loadPromptAdapter(model, path.join(dir, 'nope')), /loadPromptAdapter: .*adapter_config\.json not found/);
  const ok = await models.loadPromptAdapter(model, dir);
  assert.equal(ok.peftConfig.numVirtualTokens, 4);
});

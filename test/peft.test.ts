// LoRA on whole models (models.applyLora) and PEFT's adapter files: injection by name, freezing,
// training that leaves the base bit-identical, named adapters, merge/unload, save → load.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Generator, io, manualSeed, memory, nn, noGrad, optim, tidy, type Tensor } from '../src/index.js';
import * as models from '../src/models/index.js';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `tlm-${name}-`));
const quiet = { warn: () => {} };

const BERT_TINY = { vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
  max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, num_labels: 3 };
const GPT2_TINY = { vocab_size: 30, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, initializer_range: 0.3 };

const ids = [[2, 7, 9, 4, 11, 3], [5, 1, 8, 8, 6, 2], [12, 3, 3, 9, 1, 7], [4, 4, 10, 2, 13, 5]];
const labels = [0, 2, 1, 2];

function bert(seed = 0): models.BertForSequenceClassification {
  manualSeed(seed);
  return new models.BertForSequenceClassification(BERT_TINY);
}
function gpt2(seed = 0): models.GPT2LMHeadModel {
  manualSeed(seed);
  return new models.GPT2LMHeadModel(GPT2_TINY);
}
const logits = (m: { forward(i: models.ModelInputs): models.ModelOutput }) => Float32Array.from(noGrad(() => m.forward({ inputIds: ids }).logits!).dataSync());

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Every parameter's values, by tensor (identity survives the wrapping). */
function snapshot(m: nn.Module): Map<Tensor, Float32Array> {
  return new Map(m.parameters().map((p) => [p, Float32Array.from(p.dataSync())]));
}

/** A few AdamW steps on the trainable parameters; the losses. */
function train(lora: nn.LoraModel, inputs: models.ModelInputs, steps: number, lr = 1e-2): number[] {
  const model = lora.model as unknown as { forward(i: models.ModelInputs): models.ModelOutput };
  const opt = new optim.AdamW(lora.trainableParameters(), { lr, weightDecay: 0 });
  lora.model.train();
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    losses.push(tidy(() => { const loss = model.forward(inputs).loss!; loss.backward(); return loss.item(); }));
    opt.step();
    opt.zeroGrad();
  }
  lora.model.eval();
  return losses;
}

test('applyLora (BERT): query/value become LoraLinear, the classifier a trained copy, outputs unchanged at init', () => {
  const model = bert();
  const before = logits(model);
  const lora = models.applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['query', 'value'] });
  const self = model.bert.encoder.layer.at(1).attention.self;
  assert.ok(self.query instanceof nn.LoraLinear && self.value instanceof nn.LoraLinear, 'the forward path reaches the wrappers');
  assert.ok(!(self.key instanceof nn.LoraLinear));
  assert.ok(model.classifier instanceof nn.ModulesToSaveWrapper, 'SEQ_CLS trains the classifier, as PEFT');
  const copy = (model.classifier as unknown as nn.ModulesToSaveWrapper).current() as nn.Linear;
  assert.ok(model.classifier.weight === copy.weight && model.classifier.bias === copy.bias, 'the head\'s weights read through the wrapper are its trained copy\'s');
  assert.equal(lora.peftConfig.default!.taskType, 'SEQ_CLS');
  assert.deepEqual(lora.peftConfig.default!.modulesToSave, ['classifier']);
  assert.deepEqual(lora.loraLayers().map(([k]) => k), [0, 1].flatMap((l) => ['query', 'value'].map((n) => `bert.encoder.layer.${l}.attention.self.${n}`)));
  assert.deepEqual(logits(model), before, 'B = 0: the adapted model starts as the base model');
  assert.deepEqual(noGrad(() => lora.forward({ inputIds: ids }).logits).dataSync(), before, 'the handle forwards to the model');
  assert.throws(() => models.applyLora(model, { targetModules: ['key'] }), /already has LoRA adapters \(at 'bert\.encoder\.layer\.0\.attention\.self\.query'\); add more with addAdapter/);
  // Only LoRA and the classifier copy train.
  const trainable = lora.namedTrainableParameters().map(([k]) => k).sort();
  assert.deepEqual(trainable, [
    ...[0, 1].flatMap((l) => ['query', 'value'].flatMap((n) => ['A', 'B'].map((ab) => `bert.encoder.layer.${l}.attention.self.${n}.lora_${ab}.default.weight`))),
    'classifier.modules_to_save.default.bias', 'classifier.modules_to_save.default.weight',
  ].sort());
  const { trainable: t, all } = lora.getNbTrainableParameters();
  assert.equal(t, 2 * 2 * (4 * 16 + 16 * 4) + (16 * 3 + 3));
  assert.equal(all, model.numParameters());
  let line = '';
  lora.printTrainableParameters((s) => { line = s; });
  assert.equal(line, `trainable params: ${t.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${(100 * t / all).toFixed(4)}`);
});

test('modulesToSave on the whole encoder: BertModel walks the running copy\'s layers, which alone train', () => {
  const model = bert(3);
  model.eval();
  const before = logits(model);
  const base = snapshot(model);
  // Full fine-tuning of the encoder beside a low-rank update of the word embeddings.
  const lora = models.applyLora(model, { r: 1, loraAlpha: 1, targetModules: ['word_embeddings'], modulesToSave: ['encoder'] });
  const wrapper = model.bert.encoder as unknown as nn.ModulesToSaveWrapper;
  assert.ok(lora.namedTrainableParameters().some(([k]) => k.startsWith('bert.encoder.modules_to_save.default.layer.1.')));
  assert.ok(wrapper instanceof nn.ModulesToSaveWrapper);
  assert.equal(model.bert.encoder.layer, (wrapper.current() as typeof model.bert.encoder).layer, 'a field the wrapper lacks is the running module\'s');
  assert.notEqual(wrapper.current(), wrapper.original_module);
  assert.deepEqual(logits(model), before, 'the copy starts as the original');
  const losses = train(lora, { inputIds: ids, labels }, 20, 2e-2);
  assert.ok(losses[losses.length - 1]! < 0.7 * losses[0]!, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  for (const [p, v] of base) assert.deepEqual(p.dataSync(), v, `base parameter ${p.name} changed`);
  const trained = logits(model);
  assert.deepEqual(lora.disableAdapters(() => logits(model)), before, 'adapters off: the original encoder runs again');
  assert.deepEqual(logits(model), trained);
});

test('LoRA training (BERT classifier): the loss falls, every base weight stays bit-identical', () => {
  const model = bert(1);
  const base = snapshot(model);
  const lora = models.applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['query', 'value', 'dense'] });
  const losses = train(lora, { inputIds: ids, labels }, 10, 2e-2);
  assert.ok(losses[losses.length - 1]! < 0.7 * losses[0]!, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  for (const [p, v] of base) assert.deepEqual(p.dataSync(), v, `base parameter ${p.name} changed`);
  assert.ok(lora.trainableParameters().every((p) => !base.has(p)));
  // Once the optimizer's state exists, a training step leaves no tensor behind.
  const opt = new optim.AdamW(lora.trainableParameters(), { lr: 1e-3 });
  const step = () => { tidy(() => { model.forward({ inputIds: ids, labels }).loss!.backward(); }); opt.step(); opt.zeroGrad(); };
  step();
  const live = memory().numTensors + memory().numCollected;
  step(); step();
  assert.equal(memory().numTensors + memory().numCollected, live);
});

test('LoRA training (GPT-2 c_attn + MLP projections, Conv1D): the loss falls, the base stays bit-identical', () => {
  const model = gpt2(2);
  const base = snapshot(model);
  const lora = models.applyLora(model, { r: 4, loraAlpha: 16, loraDropout: 0.1, targetModules: ['c_attn', 'c_fc', 'mlp.c_proj'], generator: new Generator(7) });
  assert.equal(lora.peftConfig.default!.taskType, 'CAUSAL_LM');
  assert.equal(lora.loraLayers().length, 2 * 3);
  assert.ok(lora.loraLayers().every(([, l]) => l.fanInFanOut));
  assert.ok(!(model.transformer.h.at(0).attn.c_proj instanceof nn.LoraLinear), "'mlp.c_proj' leaves attn.c_proj alone");
  const losses = train(lora, { inputIds: ids, labels: ids }, 10, 5e-2);
  assert.ok(losses[losses.length - 1]! < 0.7 * losses[0]!, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  for (const [p, v] of base) assert.deepEqual(p.dataSync(), v, `base parameter ${p.name} changed`);
});

test('trainable fraction under 2% on a realistic config (BERT-mini, r = 8 on query/value)', () => {
  // google/bert_uncased_L-4_H-256_A-4's shape; weights left uninitialised (only counts matter).
  const model = new models.BertForSequenceClassification({ vocab_size: 30522, hidden_size: 256, num_hidden_layers: 4,
    num_attention_heads: 4, intermediate_size: 1024, max_position_embeddings: 512, num_labels: 2 }, { skipInit: true });
  const total = model.numParameters();
  const lora = models.applyLora(model, { r: 8, loraAlpha: 16, targetModules: ['query', 'value'] });
  const { trainable, all, percent } = lora.getNbTrainableParameters();
  assert.equal(trainable, 4 * 2 * (8 * 256 + 256 * 8) + (256 * 2 + 2));
  assert.equal(all, total + 4 * 2 * 2 * 8 * 256 + 256 * 2 + 2, 'all counts the adapters and the classifier copy, as PEFT');
  assert.ok(percent < 2 && percent > 0, `trainable ${percent}%`);
  model.dispose();
});

test('merge()/unmerge() on a model: the same logits within 1e-5; mergeAndUnload gives the plain classes back', async () => {
  const model = gpt2(3);
  const lora = models.applyLora(model, { r: 4, targetModules: ['c_attn', 'c_proj'], initLoraWeights: false });
  const adapted = logits(model);
  const scale = Math.max(...adapted.map(Math.abs));
  lora.merge();
  assert.ok(lora.loraLayers().every(([, l]) => l.merged));
  assert.ok(maxDiff(logits(model), adapted) <= 1e-5 * scale, 'merged');
  lora.unmerge();
  assert.ok(maxDiff(logits(model), adapted) <= 1e-5 * scale, 'unmerged');
  // Generation (KV cache, one token at a time through the LoRA layers) agrees merged and unmerged.
  const unmergedTokens = await model.generate([[1, 2, 3]], { maxNewTokens: 5, doSample: false });
  lora.merge();
  assert.deepEqual(await model.generate([[1, 2, 3]], { maxNewTokens: 5, doSample: false }), unmergedTokens);
  lora.unmerge();
  const plain = lora.mergeAndUnload();
  assert.equal(plain, model);
  assert.ok(plain.transformer.h.at(0).attn.c_attn instanceof models.Conv1D);
  assert.equal([...plain.namedModules()].filter(([, m]) => m instanceof nn.LoraLinear).length, 0);
  assert.ok(maxDiff(logits(plain), adapted) <= 1e-5 * scale);
  assert.ok(plain.parameters().every((p) => p.requiresGrad), 'requiresGrad restored');
  assert.throws(() => lora.merge(), /adapters were unloaded/);
});

test('mergeAndUnload → savePretrained → fromPretrained: the adapted logits, the base model\'s keys', async () => {
  const model = bert(4);
  const keys = Object.keys(model.pretrainedStateDict()).sort();
  const lora = models.applyLora(model, { r: 4, targetModules: ['query', 'key', 'value'] });
  train(lora, { inputIds: ids, labels }, 3);
  const adapted = logits(model);
  const dir = tmp('merged');
  await lora.mergeAndUnload().savePretrained(dir);
  const saved = await io.loadSafetensors(path.join(dir, 'model.safetensors'));
  assert.deepEqual(Object.keys(saved).sort(), keys, 'no LoRA keys, no base_layer');
  const back = await models.fromPretrained(dir, quiet);
  assert.ok(back instanceof models.BertForSequenceClassification);
  assert.ok(maxDiff(logits(back), adapted) <= 1e-5 * Math.max(...adapted.map(Math.abs)));
});

test('two adapters on one base: different outputs, switching back restores the first; disableAdapters gives the base', async () => {
  const model = bert(5);
  const base = logits(model);
  const lora = models.applyLora(model, { r: 2, targetModules: ['query', 'value'], initLoraWeights: false, generator: new Generator(1) });
  const first = logits(model);
  lora.addAdapter('other', { r: 4, loraAlpha: 16, targetModules: ['key', 'dense'], initLoraWeights: false, generator: new Generator(2) });
  assert.deepEqual(lora.activeAdapters, ['default'], 'addAdapter leaves the active adapter alone');
  assert.deepEqual(logits(model), first);
  lora.setAdapter('other');
  const second = logits(model);
  assert.ok(maxDiff(second, first) > 1e-3, 'the second adapter changes the outputs');
  assert.ok(lora.trainableParameters().every((p) => lora.namedTrainableParameters().some(([k, q]) => q === p && /\.other\./.test(k))), 'only the active adapter trains');
  lora.setAdapter('default');
  assert.deepEqual(logits(model), first, 'switching back restores the first exactly');
  assert.deepEqual(lora.disableAdapters(() => logits(model)), base, 'disabled: the base model');
  assert.deepEqual(await lora.disableAdapters(async () => logits(model)), base, 'async callbacks too');
  lora.disableAdapters(() => { lora.disableAdapters(() => undefined); assert.deepEqual(logits(model), base, 'nested: still disabled'); });
  assert.deepEqual(logits(model), first, 'enabled again afterwards');
  lora.deleteAdapter('other');
  assert.deepEqual(lora.adapterNames, ['default']);
  assert.throws(() => lora.setAdapter('other'), /no adapter 'other' \(adapters: default\)/);
  assert.deepEqual(logits(lora.unload()), base, 'unload: the base model as it was');
});

test('saveAdapter writes PEFT key names, shapes and adapter_config.json fields', async () => {
  const model = bert(6);
  const lora = models.applyLora(model, { r: 4, loraAlpha: 16, loraDropout: 0.05, targetModules: ['query', 'value'], baseModelNameOrPath: 'bert-tiny' });
  const dir = tmp('adapter');
  await models.saveAdapter(dir, lora);
  const saved = await io.loadSafetensors(path.join(dir, 'adapter_model.safetensors'));
  const want: Record<string, number[]> = { 'base_model.model.classifier.weight': [3, 16], 'base_model.model.classifier.bias': [3] };
  for (const l of [0, 1]) {
    for (const n of ['query', 'value']) {
      want[`base_model.model.bert.encoder.layer.${l}.attention.self.${n}.lora_A.weight`] = [4, 16];
      want[`base_model.model.bert.encoder.layer.${l}.attention.self.${n}.lora_B.weight`] = [16, 4];
    }
  }
  assert.deepEqual(Object.fromEntries(Object.entries(saved).map(([k, t]) => [k, [...t.shape]])), want);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  assert.deepEqual(Object.keys(cfg), [...Object.keys(cfg)].sort(), 'keys sorted, as PEFT');
  assert.deepEqual({ peft_type: cfg.peft_type, task_type: cfg.task_type, r: cfg.r, lora_alpha: cfg.lora_alpha, lora_dropout: cfg.lora_dropout,
    target_modules: cfg.target_modules, fan_in_fan_out: cfg.fan_in_fan_out, bias: cfg.bias, modules_to_save: cfg.modules_to_save,
    base_model_name_or_path: cfg.base_model_name_or_path, inference_mode: cfg.inference_mode, use_rslora: cfg.use_rslora,
    init_lora_weights: cfg.init_lora_weights, use_dora: cfg.use_dora }, {
    peft_type: 'LORA', task_type: 'SEQ_CLS', r: 4, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['query', 'value'],
    fan_in_fan_out: false, bias: 'none', modules_to_save: ['classifier'], base_model_name_or_path: 'bert-tiny', inference_mode: true,
    use_rslora: false, init_lora_weights: true, use_dora: false });
  // GPT-2: Conv1D layers are saved with fan_in_fan_out, A [r, in] and B [out, r] as PEFT's.
  const g = gpt2(6);
  const gl = models.applyLora(g, { r: 2, targetModules: /.*\.c_attn/, useRslora: true });
  const gdir = tmp('adapter-gpt2');
  await models.saveAdapter(gdir, gl);
  const gsaved = await io.loadSafetensors(path.join(gdir, 'adapter_model.safetensors'));
  assert.deepEqual([...gsaved['base_model.model.transformer.h.0.attn.c_attn.lora_A.weight']!.shape], [2, 16]);
  assert.deepEqual([...gsaved['base_model.model.transformer.h.1.attn.c_attn.lora_B.weight']!.shape], [48, 2]);
  assert.equal(Object.keys(gsaved).length, 4);
  const gcfg = JSON.parse(fs.readFileSync(path.join(gdir, 'adapter_config.json'), 'utf8'));
  assert.deepEqual([gcfg.fan_in_fan_out, gcfg.task_type, gcfg.target_modules, gcfg.use_rslora, gcfg.modules_to_save], [true, 'CAUSAL_LM', '.*\\.c_attn', true, null]);
});

test('save → load round trip: a fresh base model with the loaded adapter gives identical outputs', async () => {
  const baseDir = tmp('base'), dir = tmp('adapter');
  const model = bert(7);
  await model.savePretrained(baseDir);
  const lora = models.applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['query', 'value'], useRslora: true });
  train(lora, { inputIds: ids, labels }, 3);
  const adapted = logits(model);
  await models.saveAdapter(dir, lora);

  const fresh = await models.fromPretrained(baseDir, quiet) as models.BertForSequenceClassification;
  const loaded = await models.loadAdapter(fresh, dir);
  assert.deepEqual(logits(fresh), adapted);
  assert.equal(loaded.getNbTrainableParameters().trainable, 0, 'loaded adapters are in inference mode by default');
  assert.equal(loaded.peftConfig.default!.useRslora, true);

  // Into an existing handle, under another name; trainable on request.
  const again = await models.fromPretrained(baseDir, quiet) as models.BertForSequenceClassification;
  const other = models.applyLora(again, { r: 2, targetModules: ['key'] });
  await models.loadAdapter(other, dir, { adapterName: 'sst', isTrainable: true });
  assert.deepEqual(other.activeAdapters, ['default']);
  other.setAdapter('sst');
  assert.deepEqual(logits(again), adapted);
  assert.ok(other.getNbTrainableParameters().trainable > 0);
});

test('loadAdapter: missing files, stray keys, wrong shapes, other PEFT types get one-line errors; the model is left as it was', async () => {
  const model = bert(8);
  const dir = tmp('bad');
  await models.saveAdapter(dir, models.applyLora(bert(8), { r: 4, targetModules: ['query', 'value'] }));
  const cfgFile = path.join(dir, 'adapter_config.json'), weights = path.join(dir, 'adapter_model.safetensors');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  const expectError = async (re: RegExp) => {
    await assert.rejects(models.loadAdapter(model, dir), (err: Error) => { assert.match(err.message, re); assert.ok(!err.message.includes('\n')); return true; });
    assert.equal([...model.namedModules()].filter(([, m]) => m instanceof nn.LoraLinear || m instanceof nn.ModulesToSaveWrapper).length, 0, 'model unchanged');
  };
  await assert.rejects(models.loadAdapter(model, path.join(dir, 'nope')), /adapter_config\.json not found/);

  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, peft_type: 'IA3' }));
  await expectError(/peft_type 'IA3' is not supported; tlm loads 'LORA' adapters/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, use_dora: true }));
  await expectError(/use_dora = true is not supported/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, target_modules: ['not_a_layer'] }));
  await expectError(/targetModules \[not_a_layer\] match no module of BertForSequenceClassification/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, r: 2 }));
  await expectError(/'base_model\.model\.bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight' is \[4,16\], the model's is \[2,16\]/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, target_modules: ['query'] }));
  await expectError(/key 'base_model\.model\.bert\.encoder\.layer\.0\.attention\.self\.value\.lora_A\.weight' matches no LoRA layer or module to save of adapter 'default' \(4 such keys\)/);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, target_modules: ['query', 'value', 'key'] }));
  await expectError(/no weight for 'base_model\.model\.bert\.encoder\.layer\.0\.attention\.self\.key\.lora_A\.weight' \(4 missing\)/);
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  fs.renameSync(weights, weights + '.moved');
  await expectError(/adapter_model\.safetensors not found/);
  fs.renameSync(weights + '.moved', weights);
  const ok = await models.loadAdapter(model, dir);
  assert.equal(ok.loraLayers().length, 4);
});

test('applyLora: regex and all-linear targets, exclusions, patterns, tied and unsupported layers', () => {
  const byList = models.applyLora(bert(), { targetModules: ['query', 'value'] }).loraLayers().map(([k]) => k);
  assert.deepEqual(models.applyLora(bert(), { targetModules: /.*\.(query|value)/ }).loraLayers().map(([k]) => k), byList);
  assert.deepEqual(models.applyLora(bert(), { targetModules: '.*\\.(query|value)' }).loraLayers().map(([k]) => k), byList, 'a string is a PEFT regex');
  assert.throws(() => models.applyLora(bert(), { targetModules: /query/i }), /RegExp flags are not saved/);
  // all-linear: every Linear / Conv1D but the output layer (GPT-2's tied lm_head).
  const g = models.applyLora(gpt2(), { targetModules: 'all-linear' });
  assert.deepEqual(g.loraLayers().map(([k]) => k.replace(/^transformer\.h\.\d\./, '')), ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj', 'attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']);
  const b = models.applyLora(bert(), { targetModules: 'all-linear' });
  assert.ok(!b.loraLayers().some(([k]) => k.startsWith('classifier')), 'the classifier is trained in full, not adapted');
  assert.equal(b.loraLayers().length, 2 * 6 + 1);
  const ex = models.applyLora(bert(), { targetModules: ['dense'], excludeModules: ['pooler.dense', 'attention.output.dense'] });
  assert.deepEqual(ex.loraLayers().map(([k]) => k), ['bert.encoder.layer.0.intermediate.dense', 'bert.encoder.layer.0.output.dense', 'bert.encoder.layer.1.intermediate.dense', 'bert.encoder.layer.1.output.dense']);
  const pat = models.applyLora(bert(), { r: 4, loraAlpha: 8, targetModules: ['query', 'value'], rankPattern: { 'layer\\.1\\.attention\\.self\\.value': 2 }, alphaPattern: { value: 1 } });
  const layers = Object.fromEntries(pat.loraLayers());
  assert.deepEqual([layers['bert.encoder.layer.1.attention.self.value']!.r.default, layers['bert.encoder.layer.0.attention.self.value']!.r.default], [2, 4]);
  assert.deepEqual([layers['bert.encoder.layer.0.attention.self.value']!.scaling.default, layers['bert.encoder.layer.0.attention.self.query']!.scaling.default], [1 / 4, 2]);
  const gm = gpt2();
  assert.throws(() => models.applyLora(gm, { targetModules: ['lm_head'] }), /target 'lm_head' shares its weight with transformer\.wte\.weight \(tied\)/);
  assert.ok(gm.parameters().every((p) => p.requiresGrad), 'a refused config leaves the model as it was');
  assert.throws(() => models.applyLora(bert(), { targetModules: ['LayerNorm'] }), /target 'bert\.embeddings\.LayerNorm' is a LayerNorm; LoRA wraps Linear, Conv1D and Embedding layers/);
  assert.throws(() => models.applyLora(bert(), { targetModules: [] }), /targetModules is required/);
  assert.throws(() => models.applyLora(bert(), { targetModules: ['query'], modulesToSave: ['head'] }), /modulesToSave 'head' matches no module/);
  assert.throws(() => models.applyLora(bert(), { targetModules: ['query'], r: 1.5 }), /r must be a positive integer, got 1\.5/);
  assert.throws(() => models.applyLora(bert(), { targetModules: ['query'], bias: 'all' as 'none' }), /bias 'all' is not supported/);
});

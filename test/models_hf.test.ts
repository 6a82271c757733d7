// HF-layout fixtures (test/fixtures/hf, saved by HF Transformers): tlm's logits and hidden
// states against HF's, the KV cache against full recomputation, and savePretrained → fromPretrained.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, noGrad, tensor, type Tensor } from '../src/index.js';
// The lead adds `models` to src/index.ts; the tests reach the module directly.
import * as models from '../src/models/index.js';
import * as M from '../src/models/index.js';
import { ErrorLog } from './nn_util.js';

const HF = path.join(process.cwd(), 'test', 'fixtures', 'hf');
const GPT2 = path.join(HF, 'gpt2-tiny');
const BERT = path.join(HF, 'bert-tiny');

const log = new ErrorLog();
after(() => log.report('HF fixture'));
const quiet = { warn: () => {} };

function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tlm-${name}-`));
}

function safetensorsKeys(file: string): string[] {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return Object.keys(JSON.parse(buf.subarray(8, 8 + n).toString('utf8'))).filter((k) => k !== '__metadata__').sort();
}

test('GPT-2: logits match HF GPT2LMHeadModel', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(GPT2, 'expected.json'), 'utf8'));
  const ref = await io.loadSafetensors(path.join(GPT2, 'expected_logits.safetensors'));
  const model = await models.fromPretrained(GPT2);
  assert.ok(model instanceof M.GPT2LMHeadModel);
  assert.equal(model.training, false, 'fromPretrained returns a model in eval mode');
  const out = noGrad(() => model.forward({ inputIds: [expected.logits_ids] }));
  assert.deepEqual(out.logits!.shape, [1, expected.logits_ids.length, 1000]);
  log.check('gpt2-tiny', 'logits', out.logits!.dataSync(), ref.logits!.dataSync());
  // The head is tied: one tensor, counted once.
  assert.equal(model.lm_head.weight, model.transformer.wte.weight);
});

test('GPT-2: greedy continuation matches HF, with and without the KV cache', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(GPT2, 'expected.json'), 'utf8'));
  const model = await models.fromPretrained(GPT2) as M.GPT2LMHeadModel;
  const want: number[] = expected.greedy_out;
  const steps = want.length - expected.greedy_prompt.length;
  const argmaxLast = (logits: Tensor) => logits.select(1, logits.shape[1]! - 1).argmax(-1).item();
  noGrad(() => {
    // Full recomputation each step.
    const ids = [...expected.greedy_prompt];
    for (let i = 0; i < steps; i++) ids.push(argmaxLast(model.forward({ inputIds: [ids] }).logits));
    assert.deepEqual(ids, want);
    // KV cache: one token per step after the prompt.
    const cached = [...expected.greedy_prompt];
    let r = model.forward({ inputIds: [cached], useCache: true });
    for (let i = 0; i < steps; i++) {
      const next = argmaxLast(r.logits);
      cached.push(next);
      if (i < steps - 1) r = model.forward({ inputIds: [[next]], pastKeyValues: r.presentKeyValues, useCache: true });
    }
    assert.deepEqual(cached, want);
  });
});

test('GPT-2: cached logits equal full logits; padding mask and position ids', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(GPT2, 'expected.json'), 'utf8'));
  const model = await models.fromPretrained(GPT2) as M.GPT2LMHeadModel;
  const ids: number[] = expected.logits_ids.slice(0, 12);
  noGrad(() => {
    const full = model.forward({ inputIds: [ids] }).logits;
    const a = model.forward({ inputIds: [ids.slice(0, 7)], useCache: true });
    const b = model.forward({ inputIds: [ids.slice(7)], pastKeyValues: a.presentKeyValues, useCache: true });
    assert.deepEqual(b.presentKeyValues![0]!.key.shape, [1, 4, 12, 16]);
    log.check('gpt2-tiny cache vs full', 'cached logits', b.logits.dataSync(), full.narrow(1, 7, 5).contiguous().dataSync());
    // Left padding: with the mask and shifted position ids, the real tokens' logits are unchanged.
    const pad = 3;
    const padded = model.forward({
      inputIds: [[...Array(pad).fill(0), ...ids]],
      attentionMask: [[...Array(pad).fill(0), ...ids.map(() => 1)]],
      positionIds: [[...Array(pad).fill(0), ...ids.map((_, i) => i)]],
    }).logits;
    log.check('gpt2-tiny padded vs unpadded', 'left-padded logits', padded.narrow(1, pad, ids.length).contiguous().dataSync(), full.dataSync(), 1e-4);
    assert.ok(Array.from(padded.dataSync()).every(Number.isFinite), 'padded rows stay finite');
  });
});

test('GPT-2: savePretrained writes HF layout; fromPretrained reproduces logits exactly', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(GPT2, 'expected.json'), 'utf8'));
  const model = await models.fromPretrained(GPT2);
  const dir = tmpDir('gpt2');
  await model.savePretrained(dir);
  assert.deepEqual(safetensorsKeys(path.join(dir, 'model.safetensors')), safetensorsKeys(path.join(GPT2, 'model.safetensors')));
  // Byte for byte what HF's save_pretrained wrote.
  assert.ok(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(fs.readFileSync(path.join(GPT2, 'model.safetensors'))), 'model.safetensors differs from HF\'s');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const orig = JSON.parse(fs.readFileSync(path.join(GPT2, 'config.json'), 'utf8'));
  assert.deepEqual(cfg, orig, 'config.json round-trips unchanged');
  const again = await models.fromPretrained(dir, { strict: true });
  const a = noGrad(() => model.forward({ inputIds: [expected.logits_ids] }).logits!.dataSync());
  const b = noGrad(() => again.forward({ inputIds: [expected.logits_ids] }).logits!.dataSync());
  assert.deepEqual(Array.from(b), Array.from(a));
  fs.rmSync(dir, { recursive: true });
});

test('BERT: MLM logits and last hidden state match HF BertForMaskedLM', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(BERT, 'expected.json'), 'utf8'));
  const ref = await io.loadSafetensors(path.join(BERT, 'expected_outputs.safetensors'));
  const model = await models.fromPretrained(BERT, { strict: true });
  assert.ok(model instanceof M.BertForMaskedLM);
  const out = noGrad(() => model.forward({ inputIds: [expected.pair_input_ids], tokenTypeIds: [expected.pair_token_type_ids], outputHiddenStates: true }));
  log.check('bert-tiny', 'mlm_logits', out.logits!.dataSync(), ref.mlm_logits!.dataSync());
  log.check('bert-tiny', 'last_hidden', out.lastHiddenState!.dataSync(), ref.last_hidden!.dataSync());
  assert.equal(out.hiddenStates!.length, 3, 'embeddings + one per layer');
  assert.deepEqual(Array.from(out.hiddenStates![2]!.dataSync()), Array.from(out.lastHiddenState!.dataSync()));
  // An all-ones attention mask changes nothing; token types matter.
  const masked = noGrad(() => model.forward({ inputIds: [expected.pair_input_ids], tokenTypeIds: [expected.pair_token_type_ids],
    attentionMask: [expected.pair_input_ids.map(() => 1)] }));
  log.check('bert-tiny', 'mlm_logits (mask of ones)', masked.logits!.dataSync(), ref.mlm_logits!.dataSync());
});

test('BERT: savePretrained round trip, gamma/beta names, base-model prefix, task heads', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(BERT, 'expected.json'), 'utf8'));
  const ref = await io.loadSafetensors(path.join(BERT, 'expected_outputs.safetensors'));
  const inputs = { inputIds: [expected.pair_input_ids], tokenTypeIds: [expected.pair_token_type_ids] };
  const model = await models.fromPretrained(BERT);
  const dir = tmpDir('bert');
  await model.savePretrained(dir);
  assert.deepEqual(safetensorsKeys(path.join(dir, 'model.safetensors')), safetensorsKeys(path.join(BERT, 'model.safetensors')));
  assert.ok(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(fs.readFileSync(path.join(BERT, 'model.safetensors'))), 'model.safetensors differs from HF\'s');
  const again = await models.fromPretrained(dir, { strict: true });
  assert.deepEqual(Array.from(noGrad(() => again.forward(inputs).logits!.dataSync())), Array.from(noGrad(() => model.forward(inputs).logits!.dataSync())));

  // An old checkpoint: LayerNorm.gamma / LayerNorm.beta, plus the position_ids buffer.
  const weights = await io.loadSafetensors(path.join(BERT, 'model.safetensors'));
  const old: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(weights)) old[k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')] = v;
  old['bert.embeddings.position_ids'] = tensor(new Int32Array(128).map((_, i) => i), { shape: [1, 128] });
  assert.ok(Object.keys(old).some((k) => k.endsWith('.gamma')));
  const oldDir = tmpDir('bert-old');
  fs.copyFileSync(path.join(BERT, 'config.json'), path.join(oldDir, 'config.json'));
  await io.saveSafetensors(path.join(oldDir, 'model.safetensors'), old, { format: 'pt' });
  const fromOld = await models.fromPretrained(oldDir, { strict: true });
  log.check('bert-tiny', 'mlm_logits (gamma/beta checkpoint)', noGrad(() => fromOld.forward(inputs).logits!.dataSync()), ref.mlm_logits!.dataSync());

  // The MLM checkpoint into a bare BertModel (prefix 'bert.' stripped; the pooler is new).
  const warnings: string[] = [];
  const base = await M.BertModel.fromPretrained(BERT, { warn: (m) => warnings.push(m) });
  log.check('bert-tiny', 'last_hidden (BertModel)', noGrad(() => base.forward(inputs).lastHiddenState.dataSync()), ref.last_hidden!.dataSync());
  assert.match(warnings.join('\n'), /newly initialised.*pooler\.dense\.weight/);
  assert.match(warnings.join('\n'), /not used: .*cls\.predictions/);

  // Task heads on the same body.
  const cls = await M.BertForSequenceClassification.fromPretrained(BERT, quiet);
  const c = noGrad(() => cls.forward({ ...inputs, labels: [1] }));
  assert.deepEqual(c.logits.shape, [1, 2]);
  assert.ok(Number.isFinite(c.loss!.item()));
  const qa = await M.BertForQuestionAnswering.fromPretrained(BERT, quiet);
  const q = noGrad(() => qa.forward({ ...inputs, startPositions: [3], endPositions: [5] }));
  assert.deepEqual(q.startLogits.shape, [1, expected.pair_input_ids.length]);
  assert.deepEqual(q.endLogits.shape, [1, expected.pair_input_ids.length]);
  assert.ok(Number.isFinite(q.loss!.item()));
  // A BertModel saved by tlm loads back into a head model (prefix added).
  const baseDir = tmpDir('bert-base');
  await base.savePretrained(baseDir);
  assert.ok(safetensorsKeys(path.join(baseDir, 'model.safetensors')).every((k) => !k.startsWith('bert.')));
  const mlm2 = await M.BertForMaskedLM.fromPretrained(baseDir, quiet);
  log.check('bert-tiny', 'last_hidden (BertModel → BertForMaskedLM)', noGrad(() => mlm2.forward(inputs).lastHiddenState!.dataSync()), ref.last_hidden!.dataSync());
  for (const d of [dir, oldDir, baseDir]) fs.rmSync(d, { recursive: true });
});

test('fromPretrained: clear errors for a missing directory, an unknown architecture, a wrong checkpoint', async () => {
  await assert.rejects(models.fromPretrained('/nonexistent/dir'), /cannot read \/nonexistent\/dir\/config\.json/);
  const dir = tmpDir('bad');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'falcon', architectures: ['FalconForCausalLM'] }));
  await assert.rejects(models.fromPretrained(dir), /model_type 'falcon' \(architectures FalconForCausalLM\) is not supported; supported: GPT2LMHeadModel/);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_layer: 1, n_embd: 8, n_head: 2, vocab_size: 10, n_positions: 8 }));
  await assert.rejects(models.fromPretrained(dir), /model\.safetensors not found/);
  await io.saveSafetensors(path.join(dir, 'model.safetensors'), { 'foo.weight': tensor([1, 2]) });
  await assert.rejects(models.fromPretrained(dir), /no weight in .* matches GPT2LMHeadModel/);
  fs.rmSync(dir, { recursive: true });
});

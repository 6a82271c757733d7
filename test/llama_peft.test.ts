// Fine-tuning Llama as the other families: LoRA on all seven projections, prefix tuning under
// grouped-query attention (the prefix is num_key_value_heads wide, as PEFT's #1901), soft prompts.
// Each: a few training steps change the outputs, the base stays bit-identical, the saved adapter
// reloads onto a fresh model with identical outputs; LoRA merged equals unmerged. A prefix made of a
// real KV cache, and a soft prompt made of real token embeddings, reproduce the model run on those
// tokens: the shapes, head grouping and positions are the ones the model itself uses.

import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Generator, io, manualSeed, nn, noGrad, optim, tensor, tidy, type Tensor } from '../src/index.js';
import * as models from '../src/models/index.js';
import { assertUnchanged, maxDiff, run, snapshot, train } from './prompt_util.js';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `tlm-llama-peft-${name}-`));
const quiet = { warn: () => {} };
// GQA: 4 query heads share 2 key/value heads (head_dim 8: a prefix is 2 · 8 = 16 wide per layer, for keys and for values).
const LLAMA_TINY = { vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, max_position_embeddings: 64, initializer_range: 0.2, bos_token_id: null, eos_token_id: null };
const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const ids = [[2, 7, 9, 4, 11, 3], [5, 1, 8, 8, 6, 2], [12, 3, 3, 9, 1, 7], [4, 4, 10, 2, 13, 5]];

function llama(seed = 0, extra: Record<string, unknown> = {}): models.LlamaForCausalLM {
  manualSeed(seed);
  return new models.LlamaForCausalLM({ ...LLAMA_TINY, ...extra });
}
const logits = (m: { forward(i: models.ModelInputs): models.ModelOutput }, x: number[][] = ids) => run(() => m.forward({ inputIds: x }).logits!);

/** AdamW steps on LoRA's trainable parameters, causal-LM loss on `ids`; the losses. */
function trainLora(lora: nn.LoraModel<models.LlamaForCausalLM>, steps: number, lr = 2e-2): number[] {
  const model = lora.model;
  const opt = new optim.AdamW(lora.trainableParameters(), { lr, weightDecay: 0 });
  model.train();
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    losses.push(tidy(() => { const loss = model.forward({ inputIds: ids, labels: ids }).loss!; loss.backward(); return loss.item(); }));
    opt.step();
    opt.zeroGrad();
  }
  model.eval();
  return losses;
}

test('LoRA on q/k/v/o and gate/up/down (GQA): training changes outputs, base bit-identical, merged = unmerged, adapter reloads', async () => {
  const baseDir = tmp('base'), dir = tmp('lora');
  const model = llama(1);
  await model.savePretrained(baseDir);
  const base = snapshot(model), before = logits(model);
  const lora = models.applyLora(model, { r: 4, loraAlpha: 8, targetModules: TARGETS, generator: new Generator(1) });
  assert.equal(lora.loraLayers().length, 2 * 7);
  assert.equal(lora.peftConfig.default!.taskType, 'CAUSAL_LM');
  // k_proj and v_proj are num_key_value_heads · head_dim = 16 wide: lora_B is [16, r].
  const kProj = model.model.layers.at(0).self_attn.k_proj as unknown as nn.LoraLinear;
  assert.ok(kProj instanceof nn.LoraLinear);
  assert.deepEqual(kProj.stateDict()['lora_B.default.weight']!.shape, [16, 4]);
  assert.deepEqual(logits(model), before, 'B = 0 at init: the base model\'s outputs');

  const losses = trainLora(lora, 12);
  assert.ok(losses.at(-1)! < 0.7 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
  const adapted = logits(model);
  assert.ok(maxDiff(adapted, before) > 1e-2, 'outputs changed');
  assertUnchanged(base);

  const scale = Math.max(...adapted.map(Math.abs));
  const unmergedTokens = await model.generate([[1, 2, 3]], { maxNewTokens: 6, doSample: false, eosTokenId: null });
  lora.merge();
  assert.ok(maxDiff(logits(model), adapted) <= 1e-5 * scale, 'merged');
  assert.deepEqual(await model.generate([[1, 2, 3]], { maxNewTokens: 6, doSample: false, eosTokenId: null }), unmergedTokens, 'KV-cache decoding agrees');
  lora.unmerge();
  assert.ok(maxDiff(logits(model), adapted) <= 1e-5 * scale, 'unmerged (W + BA − BA: equal up to rounding, as PEFT)');

  await models.saveAdapter(dir, lora);
  const saved = await io.loadSafetensors(path.join(dir, 'adapter_model.safetensors'));
  assert.deepEqual(saved['base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight']!.shape, [16, 4], 'PEFT key names');
  assert.equal(Object.keys(saved).length, 2 * 7 * 2);
  const fresh = await models.fromPretrained(baseDir, quiet) as models.LlamaForCausalLM;
  const loaded = await models.loadAdapter(fresh, dir);
  assert.deepEqual(logits(fresh), adapted, 'the reloaded adapter gives identical outputs');
  assert.equal(loaded.getNbTrainableParameters().trainable, 0);

  const merged = lora.mergeAndUnload();
  assert.ok(merged.model.layers.at(1).mlp.down_proj instanceof nn.Linear && !(merged.model.layers.at(1).mlp.down_proj instanceof nn.LoraLinear));
  assert.ok(maxDiff(logits(merged), adapted) <= 1e-5 * scale);
});

/** The prefix weights [P, L·2·KV·D] that hold these per-layer keys and values [1, KV, P, D] (PEFT's get_prompt layout). */
function prefixFromCache(kv: { key: Tensor; value: Tensor }[], P: number, width: number): Float32Array {
  const out = new Float32Array(P * kv.length * 2 * width);
  kv.forEach(({ key, value }, l) => {
    for (const [j, t] of [[0, key], [1, value]] as const) {
      const [, H, , D] = t.shape as [number, number, number, number];
      const v = t.contiguous().dataSync();
      for (let p = 0; p < P; p++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) {
        out[p * kv.length * 2 * width + (2 * l + j) * width + h * D + d] = v[(h * P + p) * D + d]!;
      }
    }
  });
  return out;
}

test('prefix tuning under GQA: num_key_value_heads wide; a prefix holding a real KV cache reproduces the model on those tokens', () => {
  const model = llama(2);
  const pf = models.applyPrefixTuning(model, { numVirtualTokens: 3, generator: new Generator(2) });
  assert.equal(pf.peftConfig.tokenDim, 16, 'token_dim = head_dim · num_key_value_heads, as PEFT');
  assert.equal(pf.peftConfig.numAttentionHeads, 2);
  assert.deepEqual(pf.encoder.embedding.weight.shape, [3, 2 * 2 * 16]);
  const kv = pf.getPrompt(4) as { key: Tensor; value: Tensor }[];
  assert.deepEqual(kv[0]!.key.shape, [4, 2, 3, 8]);

  // The keys and values the model computes for 3 real tokens, put in as the prefix: the prefixed
  // model's logits for x are the model's for [tokens; x] at x's positions (positions start at P).
  const tokens = [9, 14, 6], x = [[2, 7, 9, 4]];
  const cache = noGrad(() => model.forward({ inputIds: [tokens], useCache: true }).presentKeyValues!);
  noGrad(() => pf.encoder.embedding.weight.copy_(tensor(prefixFromCache(cache, 3, 16), { shape: [3, 64] })));
  const full = logits(model, [[...tokens, ...x[0]!]]).slice(3 * 40);
  const prefixed = logits(pf, x);
  assert.ok(maxDiff(prefixed, full) <= 1e-4 * Math.max(...full.map(Math.abs)), `max diff ${maxDiff(prefixed, full)}`);
});

test('prefix tuning training (Llama, GQA): outputs change, the base stays bit-identical; the saved adapter reloads with PEFT\'s GQA fields', async () => {
  const baseDir = tmp('pbase'), dir = tmp('prefix');
  const model = llama(3);
  await model.savePretrained(baseDir);
  const base = snapshot(model), before = logits(model);
  const pf = models.applyPrefixTuning(model, { numVirtualTokens: 4, generator: new Generator(3) });
  const start = logits(pf);
  const losses = train(pf, { inputIds: ids, labels: ids }, 12, 5e-2);
  assert.ok(losses.at(-1)! < 0.8 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
  const adapted = logits(pf);
  assert.ok(maxDiff(adapted, start) > 1e-2, 'outputs changed');
  assertUnchanged(base);
  assert.deepEqual(pf.disableAdapters(() => logits(pf)), before, 'without the prefix: the base model');

  await models.saveAdapter(dir, pf);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([cfg.peft_type, cfg.token_dim, cfg.num_attention_heads, cfg.num_layers, cfg.encoder_hidden_size], ['PREFIX_TUNING', 16, 2, 2, 16]);
  const loaded = await models.loadPromptAdapter(await models.fromPretrained(baseDir, quiet), dir);
  assert.deepEqual(logits(loaded), adapted);

  // Through the MLP (prefix_projection): the saved prefix is its output, and runs the same.
  const mlp = models.applyPrefixTuning(llama(3), { numVirtualTokens: 2, prefixProjection: true, encoderHiddenSize: 12, generator: new Generator(4) });
  train(mlp, { inputIds: ids, labels: ids }, 3, 5e-2);
  const mlpDir = tmp('prefix-mlp');
  await models.saveAdapter(mlpDir, mlp);
  assert.deepEqual(logits(await models.loadPromptAdapter(await models.fromPretrained(baseDir, quiet), mlpDir)), logits(mlp));
});

test('soft prompts (Llama, tied embeddings): text init reproduces the model on the text; training changes outputs; base bit-identical; reloads', async () => {
  const baseDir = tmp('sbase'), dir = tmp('soft');
  const model = llama(4, { tie_word_embeddings: true });
  await model.savePretrained(baseDir);
  const base = snapshot(model);
  // TEXT init: the prompt is the embeddings of the text's tokens, so the prompted model sees [text; x].
  const text = [21, 5, 17];
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 3, init: { text: 'x', tokenizer: { encode: () => ({ ids: text }) } } });
  const x = [[2, 7, 9, 4]];
  const full = logits(model, [[...text, ...x[0]!]]);
  assert.ok(maxDiff(logits(pt, x), full) <= 1e-5 * Math.max(...full.map(Math.abs)), 'LM logits over P + T positions');

  const start = logits(pt);
  const losses = train(pt, { inputIds: ids, labels: ids }, 12, 5e-2);
  assert.ok(losses.at(-1)! < 0.9 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
  const adapted = logits(pt);
  assert.ok(maxDiff(adapted, start) > 1e-2, 'outputs changed');
  assertUnchanged(base);
  assert.equal(pt.getNbTrainableParameters().trainable, 3 * 32);

  await models.saveAdapter(dir, pt);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([cfg.peft_type, cfg.token_dim, cfg.num_attention_heads], ['PROMPT_TUNING', 32, 4], 'prompts are hidden_size wide (GQA changes only prefixes)');
  const loaded = await models.loadPeftAdapter(await models.fromPretrained(baseDir, quiet), dir);
  assert.ok(loaded instanceof models.PromptLearningModel);
  assert.deepEqual(logits(loaded), adapted);
});

test('a prefix adapter saved for another key/value width is refused with a one-line error', async () => {
  const dir = tmp('wrong');
  await models.saveAdapter(dir, models.applyPrefixTuning(llama(5), { numVirtualTokens: 2 }));
  // Same model but 4 key/value heads (no GQA): the prefix would be 32 wide.
  await assert.rejects(models.loadPromptAdapter(llama(5, { num_key_value_heads: 4 }), dir),
    /adapter_config\.json: token_dim is 16, the model \(LlamaForCausalLM\) has 32$/);
});

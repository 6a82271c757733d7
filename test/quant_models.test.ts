// Quantized models end to end: the HF GPT-2 fixture and a small Llama quantized in place (int8,
// 4-bit) against their float32 logits, the tied GPT-2 head quantized while the embedding lookup
// keeps its float table, save → load bit-identical, and one-line errors for what cannot be
// quantized or loaded.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, noGrad, type Tensor } from '../src/index.js';
import { fromPretrained, quantizeModel, GPT2LMHeadModel, LlamaForCausalLM, type PreTrainedModel } from '../src/models/index.js';
import { QuantizedLinear } from '../src/nn/quantized.js';
import { readSafetensorsHeader } from '../src/io/safetensors.js';

const GPT2 = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');
const expected = JSON.parse(readFileSync(join(GPT2, 'expected.json'), 'utf8')) as { logits_ids: number[]; greedy_prompt: number[] };

/** Largest |a - b| over max |b|, and the relative RMS error. */
function logitError(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; rms: number } {
  let maxd = 0, maxb = 0, se = 0, sb = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    maxd = Math.max(maxd, Math.abs(d)); maxb = Math.max(maxb, Math.abs(b[i]!)); se += d * d; sb += b[i]! ** 2;
  }
  return { max: maxd / maxb, rms: Math.sqrt(se / sb) };
}

const logits = (m: PreTrainedModel, ids: number[]) => noGrad(() => (m.forward({ inputIds: [ids] }).logits as Tensor).dataSync() as Float32Array);

// Measured on this fixture (random weights, logits within ±1): int8 1.1% relative RMS, 4-bit 14%.
const TOLERANCE = { 8: { max: 0.02, rms: 0.02 }, 4: { max: 0.25, rms: 0.2 } } as const;

for (const bits of [8, 4] as const) {
  test(`HF GPT-2 fixture quantized to ${bits} bits: logits close to the float32 reference, every projection and the tied head quantized`, async () => {
    const ref = (await io.loadSafetensors(join(GPT2, 'expected_logits.safetensors'))).logits!.dataSync() as Float32Array;
    const model = await fromPretrained(GPT2) as GPT2LMHeadModel;
    const wte = model.transformer.wte.weight, table = wte.dataSync().slice();
    const report = quantizeModel(model, { bits });
    assert.deepEqual(report.modules, [0, 1].flatMap((i) => ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((m) => `transformer.h.${i}.${m}`)).concat('lm_head'));
    assert.ok(model.lm_head instanceof QuantizedLinear && model.transformer.h.at(0)!.attn.c_attn instanceof QuantizedLinear);
    // The embedding lookup keeps its float table (the head was quantized from it, not in its place).
    assert.equal(model.transformer.wte.weight, wte);
    assert.deepEqual(wte.dataSync(), table);
    assert.equal(report.quantizedBytes < report.floatBytes / (bits === 8 ? 3.5 : 5), true, `${report.quantizedBytes} of ${report.floatBytes} bytes`);
    const err = logitError(logits(model, expected.logits_ids), ref);
    assert.ok(err.max <= TOLERANCE[bits].max && err.rms <= TOLERANCE[bits].rms, `${bits}-bit logits: max error ${err.max.toFixed(4)}, relative RMS ${err.rms.toFixed(4)} of the float32 logits`);
    const out = (await model.generate([expected.greedy_prompt], { maxNewTokens: 12 }))[0]!;
    assert.equal(out.length, expected.greedy_prompt.length + 12);
    assert.deepEqual(out.slice(0, expected.greedy_prompt.length), expected.greedy_prompt);
    assert.ok(out.every((id) => Number.isInteger(id) && id >= 0 && id < 1000));
    model.dispose();
  });
}

test('a small Llama quantized (int8, 4-bit): logits close to float32, lm_head and every projection quantized', () => {
  const config = { vocab_size: 96, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    max_position_embeddings: 64, tie_word_embeddings: false };
  const ids = Array.from({ length: 20 }, (_, i) => (i * 37) % 96);
  for (const bits of [8, 4] as const) {
    const model = new LlamaForCausalLM(config).eval();
    const ref = logits(model, ids);
    const report = quantizeModel(model, { bits });
    assert.equal(report.modules.length, 2 * 7 + 1);
    assert.ok(report.modules.includes('model.layers.1.mlp.down_proj') && report.modules.includes('lm_head'));
    const err = logitError(logits(model, ids), ref);
    assert.ok(err.max <= TOLERANCE[bits].max && err.rms <= TOLERANCE[bits].rms, `Llama ${bits}-bit: max ${err.max.toFixed(4)}, RMS ${err.rms.toFixed(4)}`);
    model.dispose();
  }
});

test('4-bit leaves layers whose in_features is not a multiple of 32 in float32, names them, and still loads back', async () => {
  // n_embd 48: every layer reading the 48-wide stream stays float32; the MLP's c_proj (in 192) is quantized.
  const model = new GPT2LMHeadModel({ vocab_size: 64, n_positions: 32, n_embd: 48, n_layer: 1, n_head: 4 }).eval();
  const ids = [1, 5, 9, 13, 2];
  const ref = logits(model, ids);
  const report = quantizeModel(model, { bits: 4 });
  assert.deepEqual(report.modules, ['transformer.h.0.mlp.c_proj']);
  assert.deepEqual(report.skipped, ['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_fc', 'lm_head']);
  const err = logitError(logits(model, ids), ref);
  assert.ok(err.rms <= TOLERANCE[4].rms, `RMS ${err.rms}`);
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-quant-'));
  try {
    await model.savePretrained(tmp);
    const again = await fromPretrained(tmp, { strict: true }) as GPT2LMHeadModel;
    assert.ok(again.transformer.h.at(0)!.mlp.c_proj instanceof QuantizedLinear);
    assert.ok(!(again.lm_head instanceof QuantizedLinear));
    assert.deepEqual(logits(again, ids), logits(model, ids));
    again.dispose();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    model.dispose();
  }
});

test('savePretrained → fromPretrained: a quantized model comes back bit for bit (weights, scales, logits)', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-quant-'));
  try {
    for (const bits of [8, 4] as const) {
      const model = await fromPretrained(GPT2);
      quantizeModel(model, { bits });
      const dir = join(tmp, `q${bits}`);
      await model.savePretrained(dir);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
      assert.deepEqual({ ...config.quantization_config, modules: undefined }, { quant_method: 'tlm', format: `tlm-rtn-int${bits}`, bits, group_size: bits === 8 ? -1 : 32, modules: undefined });
      const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
      const entry = (name: string) => header.entries.find((e) => e.name === name)!;
      // c_attn: Conv1D [64, 192] stored as W [192, 64]: int8 → 16 words a row, 4-bit → 8; scales per row / per 32 inputs.
      assert.deepEqual([entry('transformer.h.0.attn.c_attn.qweight').dtype, entry('transformer.h.0.attn.c_attn.qweight').shape], ['I32', [192, bits === 8 ? 16 : 8]]);
      assert.deepEqual(entry('transformer.h.0.attn.c_attn.scales').shape, bits === 8 ? [192] : [192, 2]);
      assert.deepEqual(entry('lm_head.qweight').shape, [1000, bits === 8 ? 16 : 8]);
      assert.equal(entry('transformer.wte.weight').dtype, 'F32');
      const again = await fromPretrained(dir, { strict: true });
      const a = model.stateDict(), b = again.stateDict();
      assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
      for (const k of Object.keys(a)) assert.deepEqual(b[k]!.dataSync(), a[k]!.dataSync(), k);
      assert.deepEqual(logits(again, expected.logits_ids), logits(model, expected.logits_ids));
      model.dispose(); again.dispose();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('what cannot be quantized or loaded gets a one-line error', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-quant-'));
  try {
    const model = await fromPretrained(GPT2);
    assert.throws(() => quantizeModel(model, { bits: 3 as 8 }), /bits must be 8 or 4, got 3/);
    quantizeModel(model, { bits: 8 });
    assert.throws(() => quantizeModel(model, { bits: 4 }), /already quantized \(tlm-rtn-int8\)/);
    await model.savePretrained(tmp);
    const bert = await fromPretrained(join(process.cwd(), 'test', 'fixtures', 'hf', 'bert-tiny'));
    assert.throws(() => quantizeModel(bert, { bits: 8 }), /BertForMaskedLM cannot be quantized \(supported: GPT2LMHeadModel/);
    const config = JSON.parse(readFileSync(join(tmp, 'config.json'), 'utf8')) as { quantization_config: Record<string, unknown> };
    const broken = (patch: Record<string, unknown>) => writeFileSync(join(tmp, 'config.json'), JSON.stringify({ ...config, quantization_config: { ...config.quantization_config, ...patch } }));
    broken({ bits: 3 });
    await assert.rejects(fromPretrained(tmp), /quantization_config\.bits must be 8 or 4, got 3/);
    broken({ quant_method: 'gptq' });
    await assert.rejects(fromPretrained(tmp), /quantization_config\.quant_method "gptq" is not supported/);
    broken({ modules: ['transformer.h.9.attn.c_attn'] });
    await assert.rejects(fromPretrained(tmp), /names 'transformer\.h\.9\.attn\.c_attn', which GPT2LMHeadModel does not have/);
    broken({ modules: ['transformer.ln_f'] });
    await assert.rejects(fromPretrained(tmp), /'transformer\.ln_f', a LayerNorm, not a Linear or Conv1D layer/);
    model.dispose(); bert.dispose();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

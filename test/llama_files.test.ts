// The Llama family on disk: savePretrained writes HF's key names and config.json, read back to the
// same logits; sharded checkpoints (model.safetensors.index.json) and their errors; F16/BF16 weights
// (hand-made bytes) converted to float32; generation_config.json; config errors.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, models, noGrad, type Tensor } from '../src/index.js';

const DIR = path.join(process.cwd(), 'test', 'fixtures', 'llama');
const quiet = { warn: (m: string) => { throw new Error(`unexpected warning: ${m}`); } };
const IDS = [[5, 9, 13, 2, 40, 33], [1, 7, 7, 60, 3, 21]];

const tmpDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `tlm-llama-${name}-`));
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const logitsOf = (m: models.PreTrainedModel) => Array.from(noGrad(() => m.forward({ inputIds: IDS })).logits!.dataSync());

function safetensorsHeader(file: string): Record<string, { dtype: string; shape: number[] }> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  delete h.__metadata__;
  return h;
}

/** A safetensors file by hand: each tensor's raw bytes in the given dtype. */
function writeRaw(file: string, tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, ...Object.values(tensors).map((t) => Buffer.from(t.bytes))]));
}

/** float32 → bfloat16 bits, rounding to nearest even (as torch's .to(torch.bfloat16)). */
function toBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Uint16Array.from(bits, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
}

/** float32 → IEEE half bits (normal range only; the fixture's weights are in it), round to nearest even. */
function toF16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Uint16Array.from(bits, (b) => {
    const sign = (b >>> 16) & 0x8000, exp = ((b >>> 23) & 0xff) - 127 + 15, man = b & 0x7fffff;
    if (exp <= 0) return sign; // tiny: flush to zero (none here beyond |x| < 6e-5)
    const half = (exp << 10) | (man >>> 13), rest = man & 0x1fff;
    return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
  });
}

test('savePretrained: HF key names, config.json with architectures and model_type, and the same logits back', async () => {
  for (const [name, arch] of [['llama', 'LlamaForCausalLM'], ['qwen2', 'Qwen2ForCausalLM'], ['mistral', 'MistralForCausalLM']] as const) {
    const model = await models.fromPretrained(path.join(DIR, name), { strict: true, ...quiet });
    const out = tmpDir(name);
    await model.savePretrained(out);
    const keys = Object.keys(safetensorsHeader(path.join(out, 'model.safetensors'))).sort();
    assert.deepEqual(keys, Object.keys(safetensorsHeader(path.join(DIR, name, 'model.safetensors'))).sort(), `${name}: the keys HF wrote`);
    assert.ok(keys.includes('model.layers.1.self_attn.o_proj.weight') && keys.includes('model.layers.0.mlp.gate_proj.weight'));
    assert.equal(keys.includes('lm_head.weight'), name !== 'qwen2', 'a tied head is saved once, as embed_tokens');
    const cfg = readJson(path.join(out, 'config.json')), src = readJson(path.join(DIR, name, 'config.json'));
    assert.deepEqual(cfg.architectures, [arch]);
    assert.equal(cfg.model_type, name);
    for (const k of ['num_key_value_heads', 'head_dim', 'rope_theta', 'rope_scaling', 'tie_word_embeddings', 'rms_norm_eps', 'sliding_window', 'vocab_size']) {
      if (k in src) assert.deepEqual(cfg[k], src[k], `${name} config.json ${k}`);
    }
    assert.equal(fs.existsSync(path.join(out, 'generation_config.json')), name === 'llama', 'generation_config.json travels with the model');
    const back = await models.fromPretrained(out, { strict: true, ...quiet });
    assert.deepEqual(logitsOf(back), logitsOf(model), `${name}: identical logits after the round trip`);
    fs.rmSync(out, { recursive: true });
  }
});

test('a fresh LlamaForCausalLM: HF init, tied or not, and a config read back by fromPretrained', async () => {
  const cfg = { vocab_size: 64, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };
  const m = new models.LlamaForCausalLM({ ...cfg, tie_word_embeddings: true });
  assert.equal(m.lm_head.weight, m.model.embed_tokens.weight);
  const q = m.model.layers.at(0)!.self_attn.q_proj.weight.dataSync() as Float32Array;
  const std = Math.sqrt(q.reduce((a, v) => a + v * v, 0) / q.length);
  assert.ok(std > 0.015 && std < 0.025, `N(0, 0.02) init, got std ${std}`);
  assert.deepEqual(Array.from(m.model.norm.weight.dataSync()), new Array(16).fill(1));
  assert.deepEqual(m.model.layers.at(0)!.self_attn.k_proj.weight.shape, [8, 16], 'GQA: 2 KV heads of 4 dims');
  const out = tmpDir('fresh');
  await m.savePretrained(out);
  const saved = readJson(path.join(out, 'config.json'));
  assert.equal(saved.head_dim, 4);
  assert.equal(saved.rope_scaling, null);
  const back = await models.fromPretrained(out, { strict: true, ...quiet });
  assert.deepEqual(logitsOf(back), logitsOf(m));
  fs.rmSync(out, { recursive: true });
});

/** The llama fixture split over n shards with an index, as HF's save_pretrained(max_shard_size=…). */
async function shard(n: number): Promise<{ dir: string; map: Record<string, string> }> {
  const dir = tmpDir('shards');
  fs.copyFileSync(path.join(DIR, 'llama', 'config.json'), path.join(dir, 'config.json'));
  const weights = await io.loadSafetensors(path.join(DIR, 'llama', 'model.safetensors'));
  const names = Object.keys(weights).sort();
  const map: Record<string, string> = {};
  for (let s = 0; s < n; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const part: Record<string, Tensor> = {};
    names.filter((_, i) => i % n === s).forEach((k) => { part[k] = weights[k]!; map[k] = file; });
    await io.saveSafetensors(path.join(dir, file), part);
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: map }));
  for (const t of Object.values(weights)) t.dispose();
  return { dir, map };
}

test('sharded checkpoints: model.safetensors.index.json → every shard, the same logits as one file', async () => {
  const whole = await models.fromPretrained(path.join(DIR, 'llama'), { strict: true, ...quiet });
  const { dir } = await shard(3);
  const sharded = await models.fromPretrained(dir, { strict: true, ...quiet });
  assert.deepEqual(logitsOf(sharded), logitsOf(whole));
  const all = await models.readWeights(dir);
  assert.equal(Object.keys(all).length, Object.keys(whole.stateDict()).length);
  for (const t of Object.values(all)) t.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('sharded checkpoints: a missing shard, an index naming a tensor its shard lacks, a bad index, an unconvertible dtype', async () => {
  const { dir, map } = await shard(2);
  const index = path.join(dir, 'model.safetensors.index.json');
  const shard2 = path.join(dir, 'model-00002-of-00002.safetensors');
  const one = async (re: RegExp) => {
    const err = await models.fromPretrained(dir, quiet).then(() => null, (e: Error) => e);
    assert.ok(err, `expected an error matching ${re}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
  };
  fs.renameSync(shard2, shard2 + '.bak');
  await one(/shard .*model-00002-of-00002\.safetensors not found \(model\.safetensors\.index\.json maps \d+ tensor\(s\) to it/);
  fs.renameSync(shard2 + '.bak', shard2);
  fs.writeFileSync(index, JSON.stringify({ weight_map: { ...map, 'model.layers.9.mlp.up_proj.weight': 'model-00001-of-00002.safetensors' } }));
  await one(/maps 'model\.layers\.9\.mlp\.up_proj\.weight' to .*model-00001-of-00002\.safetensors, which does not hold it/);
  fs.writeFileSync(index, JSON.stringify({ weight_map: { ...map, 'model.norm.weight': '../elsewhere.safetensors' } }));
  await one(/weight_map\['model\.norm\.weight'\] must name a file in/);
  fs.writeFileSync(index, JSON.stringify({ metadata: {} }));
  await one(/has no weight_map object/);
  fs.writeFileSync(index, '{ not json');
  await one(/model\.safetensors\.index\.json is not valid JSON/);
  // A dtype tlm has no conversion for (complex numbers) is refused by name.
  fs.writeFileSync(index, JSON.stringify({ weight_map: { ...map, 'model.norm.weight': 'odd.safetensors' } }));
  writeRaw(path.join(dir, 'odd.safetensors'), { 'model.norm.weight': { dtype: 'C64', shape: [32], bytes: new Uint8Array(256) } });
  await one(/odd\.safetensors: tensor 'model\.norm\.weight': unknown dtype "C64"/);
  fs.rmSync(dir, { recursive: true });
  const empty = tmpDir('noweights');
  fs.copyFileSync(path.join(DIR, 'llama', 'config.json'), path.join(empty, 'config.json'));
  await assert.rejects(models.fromPretrained(empty), /model\.safetensors not found \(nor a sharded model\.safetensors\.index\.json\)/);
  fs.rmSync(empty, { recursive: true });
});

test('F16 and BF16 checkpoints load as float32: every weight is the half value, exactly', async () => {
  const weights = await io.loadSafetensors(path.join(DIR, 'mistral', 'model.safetensors'));
  for (const [dtype, convert] of [['BF16', toBf16], ['F16', toF16]] as const) {
    const dir = tmpDir(dtype);
    fs.copyFileSync(path.join(DIR, 'mistral', 'config.json'), path.join(dir, 'config.json'));
    const raw: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = {};
    const halves: Record<string, Uint16Array> = {};
    for (const [k, t] of Object.entries(weights)) {
      halves[k] = convert(Float32Array.from(t.dataSync() as Float32Array));
      raw[k] = { dtype, shape: [...t.shape], bytes: new Uint8Array(halves[k].buffer) };
    }
    writeRaw(path.join(dir, 'model.safetensors'), raw);
    const model = await models.fromPretrained(dir, { strict: true, ...quiet });
    const sd = model.stateDict();
    for (const [k, h] of Object.entries(halves)) {
      // The expected float32 of each half: bf16 is a float32's top 16 bits; f16 decoded by its definition.
      const want = dtype === 'BF16' ? new Float32Array(new Uint32Array(Array.from(h, (b) => b << 16)).buffer)
        : Float32Array.from(h, (b) => ((b & 0x8000) ? -1 : 1) * (((b >> 10) & 0x1f) === 0 ? (b & 0x3ff) * 2 ** -24 : (1 + (b & 0x3ff) / 1024) * 2 ** (((b >> 10) & 0x1f) - 15)));
      assert.deepEqual(sd[k]!.dataSync(), want, `${dtype} ${k}`);
    }
    // Half precision moves the logits a little, not a lot.
    const ref = await models.fromPretrained(path.join(DIR, 'mistral'), quiet);
    const a = logitsOf(model), b = logitsOf(ref);
    const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    assert.ok(worst > 0 && worst < 0.1, `${dtype}: logits within 0.1 of float32's, got ${worst}`);
    fs.rmSync(dir, { recursive: true });
  }
  for (const t of Object.values(weights)) t.dispose();
});

test('generation_config.json: eos_token_id int or list; a bad one is named; savePretrained writes it back', async () => {
  const dir = tmpDir('gencfg');
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(DIR, 'qwen2', f), path.join(dir, f));
  const gen = path.join(dir, 'generation_config.json');
  assert.equal((await models.fromPretrained(dir, quiet)).generationConfig, undefined);
  fs.writeFileSync(gen, JSON.stringify({ eos_token_id: 7, do_sample: false, top_k: 5 }));
  const m = await models.fromPretrained(dir, quiet);
  assert.deepEqual(m.generationConfig, { eos_token_id: 7, do_sample: false, top_k: 5 });
  const out = tmpDir('gencfg-out');
  await m.savePretrained(out);
  assert.deepEqual(readJson(path.join(out, 'generation_config.json')), { do_sample: false, eos_token_id: 7, top_k: 5 });
  for (const [bad, re] of [
    [{ eos_token_id: 'end' }, /generation_config\.json: eos_token_id must be a token id or a non-empty list of them, got "end"/],
    [{ eos_token_id: [2, -1] }, /eos_token_id must be a token id or a non-empty list of them, got \[2,-1\]/],
    [{ pad_token_id: 1.5 }, /pad_token_id must be a token id \(an integer ≥ 0\), got 1\.5/],
    [[1, 2], /generation_config\.json must hold a JSON object/],
  ] as const) {
    fs.writeFileSync(gen, JSON.stringify(bad));
    await assert.rejects(models.fromPretrained(dir, quiet), re);
  }
  for (const d of [dir, out]) fs.rmSync(d, { recursive: true });
});

test('config errors name the field: unknown model_type, rope_scaling type, GQA heads, head_dim', async () => {
  const dir = tmpDir('badcfg');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'gemma7' }));
  await assert.rejects(models.fromPretrained(dir), (e: Error) => /model_type 'gemma7' is not supported; supported: .*LlamaForCausalLM/.test(e.message) && !e.message.includes('\n'));
  fs.rmSync(dir, { recursive: true });
  const base = { vocab_size: 10, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2 };
  assert.throws(() => new models.LlamaForCausalLM({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }), /llama config: rope_scaling type 'yarn' is not supported \(supported: default, linear, llama3\)/);
  assert.throws(() => new models.LlamaForCausalLM({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }), /rope_scaling \(llama3\): original_max_position_embeddings must be a positive number, got undefined/);
  assert.throws(() => new models.MistralForCausalLM({ ...base, num_key_value_heads: 3 }), /mistral config: num_key_value_heads 3 must divide num_attention_heads 2/);
  assert.throws(() => new models.Qwen2ForCausalLM({ ...base, num_key_value_heads: 2, head_dim: 3 }), /qwen2 config: head_dim must be a positive even integer/);
  // Qwen2's windows: only with use_sliding_window, and only from layer max_window_layers on (HF's layer_types).
  const qwen = new models.Qwen2ForCausalLM({ ...base, num_hidden_layers: 3, num_key_value_heads: 2, use_sliding_window: true, sliding_window: 5, max_window_layers: 1 });
  assert.deepEqual([...qwen.model.layers].map((l) => l.self_attn.slidingWindow), [null, 5, 5]);
  const plain = new models.Qwen2ForCausalLM({ ...base, num_hidden_layers: 3, num_key_value_heads: 2, sliding_window: 5, max_window_layers: 1 });
  assert.deepEqual([...plain.model.layers].map((l) => l.self_attn.slidingWindow), [null, null, null]);
  // transformers 5 writes rope_parameters in place of rope_theta + rope_scaling.
  const v5 = new models.LlamaForCausalLM({ ...base, rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 500 } });
  assert.equal(v5.config.rope_theta, 500);
  assert.deepEqual(v5.config.rope_scaling, { rope_type: 'linear', factor: 2 });
  assert.deepEqual(Array.from(v5.model.rotary_emb.invFreq), [1 / 2, Math.pow(500, -0.5) / 2]);
});

// MarianMTModel's HF interop (issue #11): config.json fields against a published OPUS-MT config
// (test/fixtures/marian/opus-mt-en-de/config.json: the fields and values of Helsinki-NLP/opus-mt-en-de's
// config.json as transformers 4.9 serialised it, taken from a public dump of that config; the fields
// added by later versions, decoder_vocab_size and share_encoder_decoder_embeddings, are absent as in
// the files of that time and take HF's defaults), state-dict key names against HF's
// MarianMTModel module tree, what savePretrained writes, save → load with identical logits, the
// encode/decode KV cache against teacher forcing, and errors for configs and inputs it cannot take.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, manualSeed, models, noGrad, tidy } from '../src/index.js';

const PUBLISHED = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'test', 'fixtures', 'marian', 'opus-mt-en-de', 'config.json'), 'utf8')) as Record<string, unknown>;
/** The published config with the sizes shrunk (vocabulary, positions and special ids kept). */
const SMALL = { ...PUBLISHED, d_model: 16, encoder_ffn_dim: 32, decoder_ffn_dim: 32, encoder_layers: 2, decoder_layers: 2, num_hidden_layers: 2 };

/** HF's MarianMTModel state-dict names, written from modeling_marian.py's module tree. */
function hfKeys(encLayers: number, decLayers: number, shared: boolean): string[] {
  const attn = (p: string) => ['k_proj', 'v_proj', 'q_proj', 'out_proj'].flatMap((n) => [`${p}.${n}.weight`, `${p}.${n}.bias`]);
  const norm = (p: string) => [`${p}.weight`, `${p}.bias`];
  const ffn = (p: string) => [`${p}.fc1.weight`, `${p}.fc1.bias`, `${p}.fc2.weight`, `${p}.fc2.bias`, ...norm(`${p}.final_layer_norm`)];
  const keys = ['final_logits_bias', 'lm_head.weight', ...(shared ? ['model.shared.weight'] : [])];
  for (const side of ['encoder', 'decoder']) keys.push(`model.${side}.embed_tokens.weight`, `model.${side}.embed_positions.weight`);
  for (let i = 0; i < encLayers; i++) {
    const p = `model.encoder.layers.${i}`;
    keys.push(...attn(`${p}.self_attn`), ...norm(`${p}.self_attn_layer_norm`), ...ffn(p));
  }
  for (let i = 0; i < decLayers; i++) {
    const p = `model.decoder.layers.${i}`;
    keys.push(...attn(`${p}.self_attn`), ...norm(`${p}.self_attn_layer_norm`), ...attn(`${p}.encoder_attn`), ...norm(`${p}.encoder_attn_layer_norm`), ...ffn(p));
  }
  return keys.sort();
}

test('Marian config: the published OPUS-MT config.json reads with HF\'s meanings; unknown fields are kept', () => {
  const c = models.marianConfig(PUBLISHED);
  assert.equal(c.model_type, 'marian');
  assert.equal(c.vocab_size, 58101);
  assert.equal(c.decoder_vocab_size, 58101, 'decoder_vocab_size defaults to vocab_size (HF)');
  assert.equal(c.d_model, 512);
  assert.equal(c.encoder_layers, 6);
  assert.equal(c.decoder_layers, 6);
  assert.equal(c.encoder_attention_heads, 8);
  assert.equal(c.decoder_ffn_dim, 2048);
  assert.equal(c.activation_function, 'swish');
  assert.equal(c.scale_embedding, true);
  assert.equal(c.pad_token_id, 58100);
  assert.equal(c.decoder_start_token_id, 58100, 'Marian starts decoding from the pad token');
  assert.equal(c.eos_token_id, 0);
  assert.equal(c.max_position_embeddings, 512);
  assert.equal(c.share_encoder_decoder_embeddings, true, 'absent in pre-4.19 configs: shared (HF default)');
  assert.equal(c.tie_word_embeddings, true);
  assert.deepEqual(c.bad_words_ids, [[58100]]);
  assert.equal(c.num_beams, 4);
  // HF's own defaults for a bare MarianConfig().
  const d = models.marianConfig({});
  assert.equal(d.activation_function, 'gelu');
  assert.equal(d.d_model, 1024);
  assert.equal(d.scale_embedding, false);
  assert.equal(d.forced_eos_token_id, 0);
});

test('Marian config: clear errors for what Marian is not', () => {
  const base = { vocab_size: 20, pad_token_id: 19, decoder_start_token_id: 19, d_model: 16, encoder_attention_heads: 4, decoder_attention_heads: 4 };
  assert.throws(() => models.marianConfig({ ...base, normalize_before: true as never }), /normalize_before must be false/);
  assert.throws(() => models.marianConfig({ ...base, static_position_embeddings: false as never }), /static_position_embeddings must be true/);
  assert.throws(() => models.marianConfig({ ...base, pad_token_id: 20 }), /pad_token_id must be a token id in 0\.\.19/);
  assert.throws(() => models.marianConfig({ ...base, decoder_vocab_size: 30 }), /share_encoder_decoder_embeddings needs decoder_vocab_size = vocab_size/);
  assert.throws(() => models.marianConfig({ ...base, activation_function: 'swishy' }), /unknown activation 'swishy'/);
  assert.throws(() => models.marianConfig({ ...base, decoder_attention_heads: 5 }), /d_model 16 must be divisible by decoder_attention_heads 5/);
  assert.throws(() => models.marianConfig({ ...base, model_type: 'bart' as never }), /model_type must be 'marian'/);
  assert.throws(() => models.marianConfig({ ...base, dropout: 1 }), /dropout must be in \[0, 1\)/);
});

test('Marian key names: HF\'s MarianMTModel state dict; savePretrained writes HF\'s layout and config.json fields', async () => {
  manualSeed(0);
  const model = new models.MarianMTModel(SMALL);
  assert.deepEqual(Object.keys(model.stateDict()).sort(), hfKeys(2, 2, true));
  const sd = model.stateDict();
  // Tied as in HF: one table for encoder, decoder and lm_head.
  assert.equal(sd['model.encoder.embed_tokens.weight'], sd['model.shared.weight']);
  assert.equal(sd['model.decoder.embed_tokens.weight'], sd['model.shared.weight']);
  assert.equal(sd['lm_head.weight'], sd['model.shared.weight']);
  assert.deepEqual(sd['model.shared.weight']!.shape, [58101, 16]);
  assert.deepEqual(sd['model.encoder.embed_positions.weight']!.shape, [512, 16]);
  assert.deepEqual(sd['final_logits_bias']!.shape, [1, 58101]);
  // The pad row starts at zero (HF's init), positions are the sinusoids, the bias is zero.
  assert.ok((sd['model.shared.weight']!.select(0, 58100).abs().max().item()) === 0);
  assert.deepEqual(Array.from(sd['model.decoder.embed_positions.weight']!.dataSync()), Array.from(models.marianSinusoids(512, 16)));
  assert.equal(sd['final_logits_bias']!.abs().max().item(), 0);
  assert.equal(model.numParameters(), model.parameters().reduce((n, p) => n + p.numel, 0));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlm-marian-'));
  try {
    await model.savePretrained(dir);
    const saved = Object.keys(await io.loadSafetensors(path.join(dir, 'model.safetensors'))).sort();
    // HF writes tied parameters once, under model.shared.
    assert.deepEqual(saved, hfKeys(2, 2, true).filter((k) => !['lm_head.weight', 'model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight'].includes(k)));
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(SMALL)) assert.deepEqual(cfg[k], v, `config.json field ${k}`);
    for (const k of ['decoder_vocab_size', 'share_encoder_decoder_embeddings', 'tie_word_embeddings', 'init_std', 'is_encoder_decoder']) assert.ok(k in cfg, `config.json has ${k}`);
    assert.deepEqual(cfg.architectures, ['MarianMTModel']);
    assert.deepEqual(Object.keys(cfg), Object.keys(cfg).sort(), 'keys sorted, as HF writes them');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Marian with separate embeddings: no model.shared; an untied lm_head is saved', () => {
  const model = new models.MarianMTModel({ ...SMALL, vocab_size: 40, pad_token_id: 39, decoder_start_token_id: 39, share_encoder_decoder_embeddings: false, tie_word_embeddings: false });
  assert.deepEqual(Object.keys(model.stateDict()).sort(), hfKeys(2, 2, false));
  const sd = model.stateDict();
  assert.notEqual(sd['model.encoder.embed_tokens.weight'], sd['model.decoder.embed_tokens.weight']);
  assert.notEqual(sd['lm_head.weight'], sd['model.decoder.embed_tokens.weight']);
  assert.ok('lm_head.weight' in model.pretrainedStateDict());
  const tiedHead = new models.MarianMTModel({ ...SMALL, vocab_size: 40, pad_token_id: 39, decoder_start_token_id: 39, share_encoder_decoder_embeddings: false });
  const td = tiedHead.stateDict();
  assert.equal(td['lm_head.weight'], td['model.decoder.embed_tokens.weight']);
  assert.ok(!('lm_head.weight' in tiedHead.pretrainedStateDict()));
});

const TINY = { vocab_size: 30, d_model: 16, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 4, decoder_attention_heads: 4,
  encoder_ffn_dim: 32, decoder_ffn_dim: 32, max_position_embeddings: 40, pad_token_id: 29, decoder_start_token_id: 29, eos_token_id: 0,
  activation_function: 'swish', scale_embedding: true, init_std: 0.3, dropout: 0 };

test('Marian save → load (models.fromPretrained, fromPretrainedForTask): identical logits', async () => {
  manualSeed(3);
  const model = new models.MarianMTModel(TINY).eval();
  noGrad(() => model.finalLogitsBias.copy_(models.asIds([[...Array(30).keys()]]).float().mul(0.01)));
  const inputs = { inputIds: [[5, 9, 11, 3, 0], [8, 4, 0, 29, 29]], attentionMask: [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], decoderInputIds: [[29, 7, 2], [29, 5, 5]] };
  const before = noGrad(() => model.forward(inputs).logits.dataSync().slice());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlm-marian-'));
  try {
    await model.savePretrained(dir);
    const loaded = await models.fromPretrained(dir, { strict: true });
    assert.ok(loaded instanceof models.MarianMTModel);
    assert.deepEqual(Array.from(noGrad(() => (loaded as models.MarianMTModel).forward(inputs).logits.dataSync())), Array.from(before));
    const viaTask = await models.fromPretrainedForTask(dir, 'seq2seq-lm', { strict: true });
    assert.ok(viaTask instanceof models.MarianMTModel);
    assert.deepEqual(Array.from(noGrad(() => (viaTask as models.MarianMTModel).forward(inputs).logits.dataSync())), Array.from(before));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Marian decode with the KV cache (self + cross) gives the teacher-forced logits, step by step', () => {
  manualSeed(4);
  const model = new models.MarianMTModel(TINY).eval();
  const src = [[5, 9, 11, 3, 7, 0], [8, 4, 0, 29, 29, 29]], mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];
  const dec = [[29, 7, 2, 13, 1], [29, 5, 5, 20, 6]];
  noGrad(() => tidy(() => {
    const memory = model.encode({ inputIds: src, attentionMask: mask });
    const full = model.decode({ decoderInputIds: dec, encoderHiddenStates: memory, attentionMask: mask }).logits;
    let cache: models.MarianLayerCache[] | null = null;
    for (let t = 0; t < dec[0]!.length; t++) {
      const step = model.decode({ decoderInputIds: dec.map((r) => [r[t]!]), encoderHiddenStates: memory, attentionMask: mask, pastKeyValues: cache, useCache: true });
      cache = step.presentKeyValues!;
      assert.equal(cache[0]!.self!.key.shape[2], t + 1);
      const want = full.narrow(1, t, 1).dataSync(), got = step.logits.dataSync();
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `step ${t} [${i}]: ${got[i]} vs ${want[i]}`);
    }
    // Padding in the source must not matter: the second row alone gives the same logits.
    const alone = model.forward({ inputIds: [[8, 4, 0]], decoderInputIds: [dec[1]!] }).logits.dataSync();
    const batched = full.select(0, 1).dataSync();
    for (let i = 0; i < alone.length; i++) assert.ok(Math.abs(alone[i]! - batched[i]!) < 1e-4, `padding changed logit ${i}`);
  }));
});

test('Marian grouped decode: k rows per source over one memory row equal the same rows over a copied memory', () => {
  manualSeed(6);
  const model = new models.MarianMTModel(TINY).eval();
  const src = [[5, 9, 11, 3, 7, 0], [8, 4, 0, 29, 29, 29]], mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];
  const dec = [[29, 7, 2], [29, 5, 1], [29, 5, 5], [29, 20, 6]]; // rows 0-1 read source 0, rows 2-3 source 1
  noGrad(() => tidy(() => {
    const memory = model.encode({ inputIds: src, attentionMask: mask });
    const rows = models.asIds([0, 0, 1, 1]).reshape(4);
    const copied = { encoderHiddenStates: memory.indexSelect(0, rows), attentionMask: models.asIds(mask).indexSelect(0, rows) };
    const want = model.decode({ decoderInputIds: dec, ...copied }).logits.dataSync();
    const got = model.decode({ decoderInputIds: dec, encoderHiddenStates: memory, attentionMask: mask }).logits.dataSync();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `[${i}]: ${got[i]} vs ${want[i]}`);
    // Step by step with the cache: the cross-attention keys/values stay one row per source.
    let cache: models.MarianLayerCache[] | null = null;
    for (let t = 0; t < 3; t++) {
      const step = model.decode({ decoderInputIds: dec.map((r) => [r[t]!]), encoderHiddenStates: memory, attentionMask: mask, pastKeyValues: cache, useCache: true });
      cache = step.presentKeyValues!;
      assert.equal(cache[1]!.cross!.key.shape[0], 2);
      assert.equal(cache[1]!.self!.key.shape[0], 4);
      const l = step.logits.dataSync(), V = 30;
      for (let r = 0; r < 4; r++) for (let v = 0; v < V; v++) {
        assert.ok(Math.abs(l[r * V + v]! - want[(r * 3 + t) * V + v]!) < 1e-4, `step ${t} row ${r} token ${v}`);
      }
    }
  }));
});

test('Marian errors: positions past max_position_embeddings, decoder rows that do not divide among sources', () => {
  const model = new models.MarianMTModel(TINY).eval();
  assert.throws(() => model.encode({ inputIds: [Array(41).fill(3)] }), /position 40 is beyond max_position_embeddings 40/);
  const memory = noGrad(() => model.encode({ inputIds: [[1, 2], [3, 4]] }));
  assert.throws(() => model.decode({ decoderInputIds: [[29], [29], [29]], encoderHiddenStates: memory }), /3 decoder rows for 2 sources/);
  assert.throws(() => model.forward({ inputIds: [[1, 2]] }), /pass decoderInputIds or labels/);
});

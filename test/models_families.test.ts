// The three model families built from configs: every position type, pre/post norm, activations;
// gradients reach every parameter; the KV cache equals recomputation; save → load is exact.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed, nn, noGrad, tidy, type Tensor } from '../src/index.js';
import * as models from '../src/models/index.js';
import { liveTensors } from './helpers/live.js';

const POSITIONS = ['learned', 'sinusoidal', 'sinusoidal_concat', 'relative', 'rope', 'alibi', 'none'];

function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tlm-${name}-`));
}

function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.dataSync(), y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

function checkAllGrads(model: models.PreTrainedModel, what: string): void {
  for (const [name, p] of model.namedParameters()) {
    assert.ok(p.grad, `${what}: ${name} got no gradient`);
    assert.ok(Array.from(p.grad.dataSync()).every(Number.isFinite), `${what}: ${name} gradient is not finite`);
  }
}

/** Freshly built: every value finite and every matrix initialised (not left at zero). */
function checkInit(model: models.PreTrainedModel, what: string): void {
  for (const [name, p] of model.namedParameters()) {
    const v = Array.from(p.dataSync());
    assert.ok(v.every(Number.isFinite), `${what}: ${name} has non-finite values after init`);
    if (p.ndim >= 2) assert.ok(v.some((x) => x !== 0), `${what}: ${name} was left at zero`);
  }
}

async function roundTrip(model: models.PreTrainedModel, inputs: models.ModelInputs, what: string): Promise<void> {
  const dir = tmpDir('rt');
  await model.savePretrained(dir);
  const again = await models.fromPretrained(dir, { strict: true });
  assert.equal(again.constructor, model.constructor);
  model.eval();
  const a = noGrad(() => model.forward(inputs).logits!.dataSync());
  const b = noGrad(() => again.forward(inputs).logits!.dataSync());
  assert.deepEqual(Array.from(b), Array.from(a), `${what}: logits after savePretrained → fromPretrained`);
  fs.rmSync(dir, { recursive: true });
}

test('GPT-2 small has exactly 124,439,808 parameters', () => {
  const model = new models.GPT2LMHeadModel({}, { skipInit: true });
  assert.equal(model.numParameters(), 124_439_808);
  assert.equal(model.config.n_embd, 768);
  model.dispose();
});

test('GPT-2 family: every position type, pre/post norm, relu/gelu — loss, gradients, KV cache, save/load', async () => {
  const ids = [[3, 14, 15, 9, 26, 5, 35, 8, 9, 7], [2, 7, 18, 28, 18, 28, 4, 5, 9, 0]];
  const variants: Record<string, unknown>[] = [
    ...POSITIONS.map((p) => ({ position_embedding_type: p })),
    { position_embedding_type: 'learned', norm_first: false, activation_function: 'relu' },
    { position_embedding_type: 'rope', norm_first: false, activation_function: 'gelu' },
  ];
  for (const v of variants) {
    const what = JSON.stringify(v);
    manualSeed(3);
    const model = new models.GPT2LMHeadModel({ vocab_size: 40, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2,
      resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, ...v });
    checkInit(model, what);
    const out = model.forward({ inputIds: ids, labels: ids, outputHiddenStates: true });
    assert.deepEqual(out.logits.shape, [2, 10, 40], what);
    assert.equal(out.hiddenStates!.length, 3, what);
    const loss = out.loss!.item();
    assert.ok(Math.abs(loss - Math.log(40)) < 0.5, `${what}: initial loss ${loss} near ln(40)`);
    out.loss!.backward();
    checkAllGrads(model, what);
    model.zeroGrad();
    // Cached decoding (prefix, then one token at a time) equals the full pass.
    noGrad(() => {
      const full = model.forward({ inputIds: ids }).logits;
      let r = model.forward({ inputIds: ids.map((s) => s.slice(0, 6)), useCache: true });
      const parts = [r.logits];
      for (let t = 6; t < 10; t++) {
        r = model.forward({ inputIds: ids.map((s) => [s[t]!]), pastKeyValues: r.presentKeyValues, useCache: true });
        parts.push(r.logits);
      }
      for (let t = 6; t < 10; t++) assert.ok(maxDiff(parts[t - 5]!, full.narrow(1, t, 1).contiguous()) < 1e-5, `${what}: cached step ${t}`);
    });
    if (v.position_embedding_type === 'sinusoidal_concat') assert.notEqual(model.lm_head.weight, model.transformer.wte.weight);
    else assert.equal(model.lm_head.weight, model.transformer.wte.weight);
    await roundTrip(model, { inputIds: ids }, what);
  }
});

test('GPT-2: a tiny model learns a repeated sequence (loss falls with plain SGD)', () => {
  manualSeed(4);
  const model = new models.GPT2LMHeadModel({ vocab_size: 12, n_positions: 16, n_embd: 32, n_layer: 2, n_head: 4, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
  const seq = [[1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]];
  const losses: number[] = [];
  let live = 0;
  for (let step = 0; step < 60; step++) {
    if (step === 1) live = liveTensors();
    losses.push(tidy(() => {
      const { loss } = model.forward({ inputIds: seq, labels: seq });
      loss!.backward();
      noGrad(() => { for (const p of model.parameters()) { p.copy_(p.sub(p.grad!.mul(0.5))); p.zeroGrad(); } });
      return loss!.item();
    }));
  }
  assert.ok(losses[59]! < 0.3 * losses[0]!, `loss ${losses[0]} → ${losses[59]}`);
  assert.equal(liveTensors(), live, 'a training step leaves no tensor behind');
});

test('BERT family: position types, pre/post norm; MLM, classification and QA heads; save/load', async () => {
  const ids = [[2, 11, 12, 13, 3, 14, 15, 3, 0, 0], [2, 16, 17, 3, 18, 19, 20, 21, 22, 3]];
  const mask = ids.map((s) => s.map((t) => (t === 0 ? 0 : 1)));
  const types = ids.map((s) => s.map((_, i) => (i >= 5 ? 1 : 0)));
  const base = { vocab_size: 30, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
    max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
  const variants = [
    ...POSITIONS.map((p) => ({ position_embedding_type: p === 'learned' ? 'absolute' : p })),
    { norm_first: true, hidden_act: 'relu' },
  ];
  for (const v of variants) {
    const what = JSON.stringify(v);
    manualSeed(5);
    const mlm = new models.BertForMaskedLM({ ...base, ...v });
    checkInit(mlm, what);
    const labels = ids.map((s) => s.map((t, i) => (i % 3 === 1 ? t : -100)));
    const out = mlm.forward({ inputIds: ids, attentionMask: mask, tokenTypeIds: types, labels });
    assert.deepEqual(out.logits.shape, [2, 10, 30], what);
    out.loss!.backward();
    checkAllGrads(mlm, what);
    // Padding: the real tokens' outputs do not depend on what sits in padded slots.
    noGrad(() => {
      mlm.eval();
      const other = ids.map((s) => s.map((t) => (t === 0 ? 7 : t)));
      const a = mlm.forward({ inputIds: ids, attentionMask: mask, tokenTypeIds: types }).logits.select(0, 0).narrow(0, 0, 8).contiguous();
      const b = mlm.forward({ inputIds: other, attentionMask: mask, tokenTypeIds: types }).logits.select(0, 0).narrow(0, 0, 8).contiguous();
      assert.ok(maxDiff(a, b) < 1e-5, `${what}: padded slots leak`);
    });
    await roundTrip(mlm, { inputIds: ids, attentionMask: mask, tokenTypeIds: types }, what);
  }
  const cls = new models.BertForSequenceClassification({ ...base, num_labels: 3 });
  const c = cls.forward({ inputIds: ids, attentionMask: mask, labels: [0, 2] });
  assert.deepEqual(c.logits.shape, [2, 3]);
  c.loss!.backward();
  checkAllGrads(cls, 'classification');
  await roundTrip(cls, { inputIds: ids, attentionMask: mask }, 'classification');
  const reg = new models.BertForSequenceClassification({ ...base, num_labels: 1 });
  assert.ok(Number.isFinite(reg.forward({ inputIds: ids, labels: reg.forward({ inputIds: ids }).logits.detach().add(1) }).loss!.item()));
  const qa = new models.BertForQuestionAnswering(base);
  const q = qa.forward({ inputIds: ids, attentionMask: mask, startPositions: [1, 4], endPositions: [3, 99] });
  assert.deepEqual(q.startLogits.shape, [2, 10]);
  q.loss!.backward();
  checkAllGrads(qa, 'qa');
});

test('seq2seq Transformer: tied output projection, shared vocabulary, positions, cached decoding, save/load', async () => {
  const src = [[5, 6, 7, 8, 2, 0], [9, 10, 11, 12, 13, 2]];
  const srcMask = src.map((s) => s.map((t) => (t === 0 ? 0 : 1)));
  const labels = [[14, 15, 16, 2, -100], [17, 18, 19, 20, 2]];
  const base = { src_vocab_size: 24, tgt_vocab_size: 26, d_model: 16, nhead: 2, num_encoder_layers: 2, num_decoder_layers: 2,
    dim_feedforward: 32, dropout: 0, max_position_embeddings: 32 };
  const variants: Record<string, unknown>[] = [
    {}, { share_embeddings: true, src_vocab_size: 26 }, { norm_first: true, activation: 'gelu' },
    ...POSITIONS.filter((p) => p !== 'sinusoidal').map((p) => ({ position_embedding_type: p })),
  ];
  for (const v of variants) {
    const what = JSON.stringify(v);
    manualSeed(6);
    const model = new models.Seq2SeqTransformer({ ...base, ...v });
    checkInit(model, what);
    const out = model.forward({ inputIds: src, attentionMask: srcMask, labels });
    assert.deepEqual(out.logits.shape, [2, 5, 26], what);
    out.loss!.backward();
    checkAllGrads(model, what);
    if (v.position_embedding_type !== 'sinusoidal_concat') assert.equal(model.lm_head.weight, model.tgt_embed.weight, `${what}: tied`);
    if ('share_embeddings' in v) assert.equal(model.tgt_embed.weight, model.src_embed.weight);
    model.eval();
    noGrad(() => {
      const dec = model.shiftRight(model.forward({ inputIds: src, labels }).logits.argmax(-1));
      const full = model.forward({ inputIds: src, attentionMask: srcMask, decoderInputIds: dec }).logits;
      const memory = model.encode({ inputIds: src, attentionMask: srcMask });
      let cache: nn.DecoderLayerCache[] | null = null;
      for (let t = 0; t < 5; t++) {
        const r = model.decode({ decoderInputIds: dec.narrow(1, t, 1), encoderHiddenStates: memory, attentionMask: srcMask, pastKeyValues: cache, useCache: true });
        cache = r.presentKeyValues!;
        assert.ok(maxDiff(r.logits, full.narrow(1, t, 1).contiguous()) < 1e-5, `${what}: cached step ${t}`);
      }
    });
    await roundTrip(model, { inputIds: src, attentionMask: srcMask, labels }, what);
  }
  // share_embeddings saves one table.
  const shared = new models.Seq2SeqTransformer({ ...base, src_vocab_size: 26, share_embeddings: true });
  assert.deepEqual(Object.keys(shared.pretrainedStateDict()).filter((k) => k.includes('embed') || k.includes('lm_head')), ['src_embed.weight']);
  assert.throws(() => new models.Seq2SeqTransformer({ ...base, share_embeddings: true }), /share_embeddings needs equal vocabularies/);
});

test('configs: clear errors for bad values', () => {
  assert.throws(() => new models.GPT2LMHeadModel({ n_embd: 10, n_head: 3 }), /n_embd 10 must be divisible by n_head 3/);
  assert.throws(() => new models.GPT2LMHeadModel({ position_embedding_type: 'spiral' as 'none', n_layer: 1 }), /unknown position_embedding_type 'spiral'/);
  assert.throws(() => new models.BertModel({ position_embedding_type: 'relative_key' }), /not supported; tlm offers 'relative'/);
  const small = new models.GPT2LMHeadModel({ vocab_size: 10, n_positions: 4, n_embd: 8, n_layer: 1, n_head: 2 });
  assert.throws(() => small.forward({ inputIds: [[1, 2, 3, 4, 5]] }), /5 positions exceed n_positions 4/);
  assert.throws(() => small.forward({ inputIds: [[1, 2], [3]] }), /rows have different lengths/);
});

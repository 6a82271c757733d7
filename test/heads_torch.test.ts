// Task heads against PyTorch (issue #10): BERT sequence classification (cross-entropy and one-output
// regression), BERT QA spans, BERT masked LM, GPT-2 sequence classification, GPT-2 causal LM. The
// encoders are the tiny HF checkpoints in test/fixtures/hf; head weights, inputs and the reference
// logits, loss and gradients come from scripts/gen_head_fixtures.py (float64 torch, HF's math).
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { io, models, type Tensor } from '../src/index.js';
import { ErrorLog } from './nn_util.js';

const ROOT = process.cwd();
const DIR = path.join(ROOT, 'test', 'fixtures', 'heads');

interface HeadCase {
  name: string;
  family: 'bert' | 'gpt2';
  architecture: string;
  /** config.json overrides (num_labels, pad_token_id). */
  config: Record<string, unknown>;
  inputs: Record<string, unknown>;
  /** Head parameter → key of its initial value in heads.safetensors. */
  init: Record<string, string>;
  loss: number;
  /** Output name → shape (LM heads: the logits at logitsAt only). */
  outputs: Record<string, number[]>;
  logitsAt?: [number, number][];
  grads: string[];
  /** Embedding tables: the stored rows; tied ones (reached by an LM head) also store G @ r for every row. */
  sparse: Record<string, { rows: number[]; tied: boolean }>;
  /** Parameters whose gradient is zero in exact arithmetic (QA's bias: it shifts every position's logit alike). */
  zeroGrads: string[];
  /** Also check the model that models.fromPretrained loads (eval mode), not only the built one. */
  fromPretrained: boolean;
}

const fixture = JSON.parse(fs.readFileSync(path.join(DIR, 'heads.json'), 'utf8')) as { torch: string; hf: Record<string, string>; cases: HeadCase[] };
const store = await io.loadSafetensors(path.join(DIR, 'heads.safetensors'));
const expected = (key: string): Float32Array => {
  const t = store[key];
  assert.ok(t, `heads.safetensors lacks ${key}`);
  return t.dataSync() as Float32Array;
};

const log = new ErrorLog();
after(() => log.report('head fixture'));

type Model = models.PreTrainedModel & { forward(inputs: Record<string, unknown>): models.ModelOutput };
const quiet = { warn: () => {} };

/** The case's class, built from the checkpoint's config with its overrides and no dropout, loaded strictly, in train mode. */
async function buildModel(c: HeadCase): Promise<Model> {
  const dir = path.join(ROOT, fixture.hf[c.family]!);
  const config = { ...JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), ...c.config,
    hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0 };
  const Cls = models.ARCHITECTURES[c.architecture];
  assert.ok(Cls, `no architecture ${c.architecture}`);
  const model = new Cls(config as never, { skipInit: true }) as Model;
  const weights = await io.loadSafetensors(path.join(dir, 'model.safetensors'));
  // The checkpoint is a masked LM: a classifier or QA model takes only its encoder.
  const base = c.family === 'bert' && c.architecture !== 'BertForMaskedLM'
    ? Object.fromEntries(Object.entries(weights).filter(([k]) => k.startsWith('bert.'))) : weights;
  const heads = Object.fromEntries(Object.entries(c.init).map(([k, key]) => [k, store[key]!]));
  model.loadPretrainedStateDict({ ...base, ...heads }, { strict: true });
  model.train();
  return model;
}

/** The model the public loader gives for the checkpoint directory (eval mode, config dropout). */
async function loadedModel(c: HeadCase): Promise<Model> {
  const model = await models.fromPretrained(path.join(ROOT, fixture.hf[c.family]!), quiet) as Model;
  assert.equal(model.architecture, c.architecture);
  assert.equal(model.training, false);
  return model;
}

/** The [n, V] rows of logits [B, T, V] at (b, t) positions. */
function rowsAt(logits: Tensor, at: [number, number][]): Float32Array {
  const [, T, V] = logits.shape as [number, number, number];
  const all = logits.dataSync() as Float32Array;
  const out = new Float32Array(at.length * V);
  at.forEach(([b, t], i) => out.set(all.subarray((b * T + t) * V, (b * T + t + 1) * V), i * V));
  return out;
}

function checkCase(c: HeadCase, model: Model, tag: string): void {
  const what = `${c.name} (${tag})`;
  const out = model.forward(c.inputs);
  for (const [name, shape] of Object.entries(c.outputs)) {
    const t = (out as Record<string, unknown>)[name] as Tensor | undefined;
    assert.ok(t, `${what}: no ${name} output`);
    const got = c.logitsAt ? rowsAt(t, c.logitsAt) : t.dataSync();
    if (!c.logitsAt) assert.deepEqual(t.shape, shape, `${what}: ${name} shape`);
    log.check(c.name, `${what} ${name}`, got, expected(`${c.name}/out/${name}`));
  }
  assert.ok(out.loss, `${what}: no loss`);
  assert.deepEqual(out.loss.shape, [], `${what}: loss is a scalar`);
  log.check(c.name, `${what} loss`, [out.loss.item()], [c.loss]);
  out.loss.backward();

  const params = model.stateDict();
  const gradOf = (key: string): Float32Array => {
    const p = params[key];
    assert.ok(p, `${what}: the model has no ${key}`);
    assert.ok(p.grad, `${what}: ${key} got no gradient`);
    return p.grad.dataSync() as Float32Array;
  };
  for (const key of c.grads) log.check(c.name, `${what} grad ${key}`, gradOf(key), expected(`${c.name}/grad/${key}`));
  // Only float32 rounding is left there (torch's own float32 run gives ~1e-8): no relative error to judge.
  for (const key of c.zeroGrads) for (const v of gradOf(key)) assert.ok(Math.abs(v) < 1e-6, `${what}: ${key} gradient ${v} should be 0`);
  for (const [key, { rows, tied }] of Object.entries(c.sparse)) {
    const g = gradOf(key);
    const dim = params[key]!.shape[1]!, n = params[key]!.shape[0]!;
    const picked = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => picked.set(g.subarray(r * dim, (r + 1) * dim), i * dim));
    log.check(c.name, `${what} grad ${key} rows`, picked, expected(`${c.name}/rows/${key}`));
    if (tied) {
      // Every row (the head's decoder reaches them all), projected on the fixture's random vector.
      const r = expected(`projection/${c.family}`);
      const proj = new Float64Array(n);
      for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < dim; j++) s += g[i * dim + j]! * r[j]!; proj[i] = s; }
      log.check(c.name, `${what} grad ${key} · r`, proj, expected(`${c.name}/proj/${key}`));
    } else {
      // Rows no token of the batch uses get no gradient at all (and neither does BERT's [PAD] row).
      const stored = new Set(rows);
      for (let i = 0; i < n; i++) {
        if (stored.has(i)) continue;
        for (let j = 0; j < dim; j++) assert.equal(g[i * dim + j], 0, `${what}: ${key} row ${i} should have no gradient`);
      }
    }
  }
}

for (const c of fixture.cases) {
  test(`${c.architecture} ${c.name}: logits, loss and gradients match torch`, async () => {
    checkCase(c, await buildModel(c), 'train mode, dropout 0');
    if (c.fromPretrained) checkCase(c, await loadedModel(c), 'models.fromPretrained, eval mode');
  });
}

test('head fixtures: every head is covered and padding rows get no gradient', () => {
  const names = new Set(fixture.cases.map((c) => c.architecture));
  for (const a of ['BertForSequenceClassification', 'BertForQuestionAnswering', 'BertForMaskedLM', 'GPT2ForSequenceClassification', 'GPT2LMHeadModel']) {
    assert.ok(names.has(a), `no fixture case for ${a}`);
  }
  // BERT's [PAD] (id 0, padding_idx) is a stored row whose torch gradient is zero, so the check above is not vacuous.
  const cls = fixture.cases.find((c) => c.name === 'bert_seqcls')!;
  const rows = cls.sparse['bert.embeddings.word_embeddings.weight']!.rows;
  const pad = expected('bert_seqcls/rows/bert.embeddings.word_embeddings.weight').subarray(rows.indexOf(0) * 64, rows.indexOf(0) * 64 + 64);
  assert.ok(pad.every((v) => v === 0));
});

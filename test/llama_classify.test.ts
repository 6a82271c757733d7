// Llama, Qwen2 and Mistral as sequence classifiers (HF's LlamaForSequenceClassification layout:
// model.* + score.weight): fine-tuned from the tiny Llama fixture in full, with LoRA, a prefix or a
// soft prompt; the saved model reloads with identical logits and its labels; a padded batch gives
// each row the logits it has alone; the score reads the body's hidden state at the last real token.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models, noGrad, tokenizers } from '../src/index.js';
import { trainWordPiece } from '../src/tokenizers/presets.js';
import { finetune, type FinetuneOptions } from '../src/pipelines/finetune.js';
import { classifyTexts, loadTaskModel } from '../src/pipelines/apply.js';
import { loadSafetensors } from '../src/io/index.js';
import { toySentimentTsv } from './helpers/toy_sentiment.js';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'llama');
const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const quiet = { warn: () => {} };

const toy = { good: ['good', 'great', 'fine'], bad: ['bad', 'poor', 'dull'], fill: ['the', 'film', 'was', 'it', 'a'], minFill: 1, fillRange: 4 };
const rows = (n: number, seed: number) => toySentimentTsv(n, seed, toy);

/** A temp copy of the Llama fixture with a WordPiece tokenizer small enough for its 64 embeddings, and the toy data. */
async function setup(): Promise<{ dir: string; llama: string; train: string; dev: string; done(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-llama-clf-'));
  const llama = join(dir, 'llama');
  mkdirSync(llama);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtures, 'llama', f), join(llama, f));
  const train = join(dir, 'train.tsv'), dev = join(dir, 'dev.tsv');
  writeFileSync(train, rows(48, 1));
  writeFileSync(dev, rows(16, 2));
  const tok = trainWordPiece([...toy.good, ...toy.bad, ...toy.fill].map((w) => `${w} ${w}`), { vocabSize: 60 });
  assert.ok(tok.vocabSize <= 64, `tokenizer of ${tok.vocabSize} tokens`);
  await tok.save(join(llama, 'tokenizer.json'));
  return { dir, llama, train, dev, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const options = (s: Awaited<ReturnType<typeof setup>>, over: Partial<FinetuneOptions>): FinetuneOptions => ({
  task: 'classify', model: s.llama, train: s.train, eval: s.dev, columns: { textColumn: 'sentence', labelColumn: 'label' }, maxLength: 16,
  method: 'full', batchSize: 8, out: join(s.dir, 'out'), quiet: true, log: () => {},
  args: { lr: 5e-3, minLr: 0, warmupIters: 0, schedule: 'linear', weightDecay: 0, beta1: 0.9, beta2: 0.999, gradClip: 1, gradAccum: 1,
    logInterval: 5, seed: 3, maxIters: 12, evalInterval: 6, metricForBest: 'eval_loss' },
  ...over,
});

const PROBE = ['the film was good', 'it was dull', 'a great film the film'];
async function probs(dir: string, adapter?: string): Promise<number[][]> {
  const p = await loadTaskModel(dir, 'sequence-classification', adapter ? { adapter } : {});
  return (await classifyTexts(p, PROBE)).results.map((r) => r.probs);
}

test('tlm finetune --method full: the Llama fixture becomes an HF-layout LlamaForSequenceClassification that reloads with identical logits', { timeout: 120_000 }, async () => {
  const s = await setup();
  try {
    const out = join(s.dir, 'full');
    const res = await finetune(options(s, { out }));
    assert.equal(res.trainableParameters, res.totalParameters);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg.architectures, ['LlamaForSequenceClassification']);
    assert.equal(cfg.model_type, 'llama');
    assert.deepEqual(cfg.id2label, { 0: 'neg', 1: 'pos' });
    assert.deepEqual(cfg.label2id, { neg: 0, pos: 1 });
    const weights = await loadSafetensors(join(out, 'model.safetensors'));
    assert.deepEqual(weights['score.weight']!.shape, [2, 32]);
    assert.ok(!('score.bias' in weights) && !('lm_head.weight' in weights), Object.keys(weights).join(', '));
    assert.ok(Object.keys(weights).every((k) => k === 'score.weight' || k.startsWith('model.')), Object.keys(weights).join(', '));
    for (const t of Object.values(weights)) t.dispose();

    const a = await probs(out), b = await probs(out);
    assert.deepEqual(a, b, 'two loads: the same outputs to the last bit');
    const model = await models.fromPretrained(out, quiet);
    assert.ok(model instanceof models.LlamaForSequenceClassification);
    const tok = await tokenizers.Tokenizer.fromPretrained(out);
    const direct = noGrad(() => model.forward({ inputIds: [tok.encode(PROBE[0]!).ids] }).logits!.softmax(-1).dataSync());
    assert.deepEqual(Array.from(direct), a[0]);
    // Trained: the head moved from the fresh one (the base checkpoint gives a newly initialised score).
    const fresh = await models.fromPretrainedForTask(s.llama, 'sequence-classification', { configOverrides: models.labelMaps(['neg', 'pos']), ...quiet });
    const freshW = (fresh as unknown as models.LlamaForSequenceClassification).score.weight.dataSync(), tuned = (model as models.LlamaForSequenceClassification).score.weight.dataSync();
    assert.notDeepEqual(Array.from(freshW), Array.from(tuned));
  } finally {
    s.done();
  }
});

test('Llama classifier: LoRA, prefix and prompt tuning train an adapter that reloads onto the causal-LM base', { timeout: 120_000 }, async () => {
  const s = await setup();
  try {
    const base = readFileSync(join(s.llama, 'model.safetensors'));
    for (const method of ['lora', 'prefix', 'prompt'] as const) {
      const out = join(s.dir, method);
      const res = await finetune(options(s, { out, method, lora: { r: 4, alpha: 8, dropout: 0 }, prompt: { numVirtualTokens: 4 } }));
      assert.ok(res.trainableParameters < res.totalParameters / 2, `${method}: ${res.trainableParameters} of ${res.totalParameters} trainable`);
      const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as { peft_type: string; task_type: string; modules_to_save: string[] | null };
      assert.equal(cfg.peft_type, { lora: 'LORA', prefix: 'PREFIX_TUNING', prompt: 'PROMPT_TUNING' }[method]);
      assert.equal(cfg.task_type, 'SEQ_CLS');
      assert.ok(cfg.modules_to_save?.includes('score'), `${method}: the head trains beside the adapter`);
      const adapter = await loadSafetensors(join(out, 'adapter_model.safetensors'));
      const keys = Object.keys(adapter);
      for (const t of Object.values(adapter)) t.dispose();
      if (method === 'lora') assert.ok(keys.some((k) => /^base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight$/.test(k)), keys.join(', '));
      assert.ok(keys.some((k) => /score\.weight$/.test(k)), keys.join(', '));
      const a = await probs(s.llama, out), b = await probs(s.llama, out);
      assert.deepEqual(a, b, `${method}: the adapter reloads to the same outputs`);
      for (const p of a) assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-5);
    }
    assert.deepEqual(readFileSync(join(s.llama, 'model.safetensors')), base, 'the base stays as it was');
  } finally {
    s.done();
  }
});

test('tlm finetune --task classify --model <llama dir> --method lora from the CLI', { timeout: 120_000 }, async () => {
  const s = await setup();
  try {
    const out = join(s.dir, 'cli');
    const r = spawnSync(process.execPath, [bin, 'finetune', '--task', 'classify', '--model', s.llama, '--train', s.train, '--eval', s.dev,
      '--text-column', 'sentence', '--method', 'lora', '--max-iters', '4', '--batch-size', '8', '--max-length', '16', '--out', out, '--quiet'],
    { encoding: 'utf8', timeout: 100_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /model: LlamaForSequenceClassification/);
    assert.ok(existsSync(join(out, 'adapter_model.safetensors')));
  } finally {
    s.done();
  }
});

test('a padded batch gives each row the logits it has alone (by the attention mask, or by pad_token_id)', async () => {
  const rowsIds = [[1, 5, 9, 12, 7, 3], [1, 20, 4], [1, 33]];
  for (const pad of [null, 0]) {
    const m = await models.fromPretrainedForTask(join(fixtures, 'llama'), 'sequence-classification',
      { configOverrides: { ...models.labelMaps(['a', 'b', 'c']), pad_token_id: pad }, ...quiet });
    assert.ok(m instanceof models.LlamaForSequenceClassification);
    const alone = rowsIds.map((r) => Array.from(noGrad(() => m.forward({ inputIds: [r] }).logits.dataSync())));
    const T = 6;
    const ids = rowsIds.map((r) => [...r, ...Array(T - r.length).fill(0)]);
    const mask = rowsIds.map((r) => r.map(() => 1).concat(Array(T - r.length).fill(0)));
    const batch = noGrad(() => m.forward(pad === null ? { inputIds: ids, attentionMask: mask } : { inputIds: ids }).logits);
    assert.deepEqual(batch.shape, [3, 3]);
    const got = batch.dataSync();
    rowsIds.forEach((_, i) => alone[i]!.forEach((v, j) => assert.ok(Math.abs(got[i * 3 + j]! - v) < 1e-5, `pad ${pad}: row ${i} label ${j}: ${got[i * 3 + j]} vs ${v}`)));
    assert.notDeepEqual(alone[0], alone[1]);
    if (pad === null) assert.throws(() => m.forward({ inputIds: ids }), /LlamaForSequenceClassification: a batch of more than one row needs pad_token_id/);
    m.dispose();
  }
});

test('Qwen2 and Mistral classifiers: HF names, a causal-LM checkpoint loads with a fresh score, logits = score(last real hidden state)', async () => {
  for (const [family, arch] of [['qwen2', 'Qwen2ForSequenceClassification'], ['mistral', 'MistralForSequenceClassification']] as const) {
    const warnings: string[] = [];
    const clf = await models.fromPretrainedForTask(join(fixtures, family), 'sequence-classification', { warn: (w) => warnings.push(w) });
    assert.equal(clf.architecture, arch);
    assert.equal(clf.numLabels, 2);
    assert.deepEqual(warnings.filter((w) => /newly initialised/.test(w)).map((w) => w.split(': ').at(-1)), ['score.weight']);
    assert.ok(!warnings.some((w) => /not used/.test(w)), warnings.join('\n'));
    const lm = await models.fromPretrained(join(fixtures, family), quiet) as models.LlamaForCausalLM;
    const ids = [[1, 7, 3, 9, 2]];
    const h = noGrad(() => lm.model.forward({ inputIds: ids }).lastHiddenState);
    const last = h.narrow(1, 4, 1).reshape(1, -1);
    const want = noGrad(() => last.matmul((clf as unknown as models.LlamaForSequenceClassification).score.weight.transpose(0, 1))).dataSync();
    const got = noGrad(() => clf.forward({ inputIds: ids }).logits).dataSync();
    assert.deepEqual(Array.from(got).map((v) => v.toFixed(5)), Array.from(want).map((v) => v.toFixed(5)));
    const dir = mkdtempSync(join(tmpdir(), `tlm-${family}-clf-`));
    try {
      await clf.savePretrained(dir);
      const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { architectures: string[]; model_type: string };
      assert.deepEqual([cfg.architectures, cfg.model_type], [[arch], family]);
      const again = await models.fromPretrained(dir, { strict: true });
      assert.equal(again.architecture, arch);
      assert.deepEqual(Array.from(noGrad(() => again.forward({ inputIds: ids }).logits!).dataSync()), Array.from(got));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

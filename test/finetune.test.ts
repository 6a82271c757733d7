// Fine-tuning end to end (issue #10): from HF checkpoints (BERT and GPT-2 saved by HF Transformers)
// to HF layouts that reload with identical logits; LoRA leaves the base bit-identical; resume gives
// the same losses; live tensors stay flat; and every bad input is a one-line error.

import test from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from './helpers/assert.js';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, models, noGrad, tokenizers } from '../src/index.js';
import { finetune, type FinetuneOptions } from '../src/pipelines/finetune.js';
import { loadTaskModel, classifyTexts } from '../src/pipelines/apply.js';
import { encodeRows, SequenceClassificationTask } from '../src/tasks/classify_task.js';
import { Trainer, type TrainingArguments } from '../src/train/trainer.js';
import { loadSafetensors } from '../src/io/index.js';
import { liveTensors } from './helpers/live.js';
import { toySentimentTsv } from './helpers/toy_sentiment.js';

const fixtures = join(process.cwd(), 'test', 'fixtures');
const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const tlm = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

/** A sentiment toy set: good words → pos, bad words → neg, in templates with filler. */
const toy = { good: ['good', 'great', 'fine', 'lovely', 'wonderful'], bad: ['bad', 'awful', 'poor', 'dull', 'terrible'],
  fill: ['the', 'film', 'was', 'a', 'story', 'and', 'it', 'felt', 'very', 'quite'], minFill: 3, fillRange: 6 };
const toyRows = (n: number, seed: number) => toySentimentTsv(n, seed, toy);

/** A temp dir with the toy data and the HF BERT fixture (with a tokenizer that has its vocabulary). */
function setup(): { dir: string; train: string; evalFile: string; bert: string; gpt2: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-ft-'));
  const train = join(dir, 'train.tsv'), evalFile = join(dir, 'dev.tsv');
  writeFileSync(train, toyRows(256, 1));
  writeFileSync(evalFile, toyRows(64, 2));
  const bert = join(dir, 'bert-tiny');
  mkdirSync(bert);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtures, 'hf', 'bert-tiny', f), join(bert, f));
  // The HF fixture's own tokenizer.json lists only the special tokens (see test/fixtures/qa/README).
  copyFileSync(join(fixtures, 'qa', 'bert-tiny', 'tokenizer.json'), join(bert, 'tokenizer.json'));
  return { dir, train, evalFile, bert, gpt2: join(fixtures, 'hf', 'gpt2-tiny'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

const args = (over: Partial<TrainingArguments> = {}): FinetuneOptions['args'] => ({
  lr: 2e-3, minLr: 0, warmupIters: 0, schedule: 'linear', weightDecay: 0.01, beta1: 0.9, beta2: 0.999, gradClip: 1, gradAccum: 1,
  logInterval: 5, seed: 7, ...over,
});

const base = (s: ReturnType<typeof setup>, over: Partial<FinetuneOptions>): FinetuneOptions => ({
  task: 'classify', train: s.train, eval: s.evalFile, columns: { textColumn: 'sentence', labelColumn: 'label' }, maxLength: 32,
  method: 'full', batchSize: 16, epochs: 2, args: args(), out: join(s.dir, 'out'), quiet: true, log: () => {}, ...over,
});

async function logitsOf(dir: string, texts: string[]): Promise<number[][]> {
  const p = await loadTaskModel(dir, 'sequence-classification');
  return (await classifyTexts(p, texts)).results.map((r) => r.probs);
}

test('an HF BERT checkpoint fine-tunes to an HF-layout classifier that reloads with identical outputs', { timeout: 120_000 }, async () => {
  const s = setup();
  try {
    const out = join(s.dir, 'bert-clf');
    const res = await finetune(base(s, { model: s.bert, out, epochs: 4 }));
    assert.ok(res.bestMetric >= 0.9, `toy accuracy ${res.bestMetric}`);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { architectures: string[]; id2label: Record<string, string>; label2id: Record<string, number> };
    assert.deepEqual(cfg.architectures, ['BertForSequenceClassification']);
    assert.deepEqual(cfg.id2label, { 0: 'neg', 1: 'pos' });
    assert.deepEqual(cfg.label2id, { neg: 0, pos: 1 });
    // Reload twice: the same outputs to the last bit, and they classify the toy sentences.
    const texts = ['the film was great', 'it felt awful', 'a dull story'];
    const a = await logitsOf(out, texts), b = await logitsOf(out, texts);
    assert.deepEqual(a, b);
    const model = await models.fromPretrained(out) as models.BertForSequenceClassification;
    const tok = await tokenizers.Tokenizer.fromPretrained(out);
    const direct = noGrad(() => model.forward({ inputIds: [tok.encode('the film was great').ids] }).logits.softmax(-1).dataSync());
    // One sentence alone against the same one in a padded batch of three: other matmul shapes, so
    // float32 rounding may differ in the last bits (the reloads above agree exactly).
    assertClose(Array.from(direct), a[0]!, 1e-6, 'the model called directly vs the pipeline');
    assert.deepEqual(a.map((p) => (p[1]! > p[0]! ? 'pos' : 'neg')), ['pos', 'neg', 'neg']);
  } finally {
    s.done();
  }
});

test('an HF GPT-2 checkpoint fine-tunes to GPT2ForSequenceClassification (HF keys: score.weight) and reloads', { timeout: 120_000 }, async () => {
  const s = setup();
  try {
    const out = join(s.dir, 'gpt2-clf');
    // The GPT-2 fixture's byte-level BPE reads the toy words too.
    const res = await finetune(base(s, { model: s.gpt2, out, epochs: 3 }));
    assert.ok(res.bestMetric >= 0.8, `toy accuracy ${res.bestMetric}`);
    const weights = await loadSafetensors(join(out, 'model.safetensors'));
    assert.deepEqual(weights['score.weight']!.shape, [2, 64]);
    assert.ok(!('lm_head.weight' in weights));
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { architectures: string[]; pad_token_id: number };
    assert.deepEqual(cfg.architectures, ['GPT2ForSequenceClassification']);
    assert.equal(cfg.pad_token_id, 0, 'GPT-2 pads with EOS, as HF users do');
    const texts = ['the film was great and lovely', 'awful'];
    assert.deepEqual(await logitsOf(out, texts), await logitsOf(out, texts));
    for (const t of Object.values(weights)) t.dispose();
  } finally {
    s.done();
  }
});

test('LoRA fine-tuning: under 2% of parameters train, the base stays bit-identical, the adapter reloads', { timeout: 120_000 }, async () => {
  const s = setup();
  try {
    const full = join(s.dir, 'clf');
    await finetune(base(s, { model: s.bert, out: full, epochs: 1 }));
    const before = readFileSync(join(full, 'model.safetensors'));
    const probe = ['the film was great', 'it felt awful'];
    const baseOut = await logitsOf(full, probe);
    const out = join(s.dir, 'lora');
    // Best by eval loss, which falls step by step (accuracy can sit still), so the saved adapter is a trained one.
    const res = await finetune(base(s, { model: full, out, method: 'lora', lora: { r: 4, alpha: 8, dropout: 0 }, epochs: 8, args: args({ lr: 2e-2, metricForBest: 'eval_loss' }) }));
    assert.ok(res.bestMetric < 0.69, `LoRA eval loss ${res.bestMetric}`);
    assert.ok(res.trainableParameters / res.totalParameters < 0.02, `${res.trainableParameters} of ${res.totalParameters}`);
    assert.deepEqual(readFileSync(join(full, 'model.safetensors')), before);
    const adapter = await loadSafetensors(join(out, 'adapter_model.safetensors'));
    assert.ok(Object.keys(adapter).some((k) => /^base_model\.model\.bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight$/.test(k)), Object.keys(adapter).join(', '));
    for (const t of Object.values(adapter)) t.dispose();
    const p = await loadTaskModel(full, 'sequence-classification', { adapter: out });
    const r = await classifyTexts(p, probe);
    assert.equal(r.labels.join(','), 'neg,pos');
    assert.notDeepEqual(r.results.map((x) => x.probs), baseOut, 'the adapter changes the outputs');
    // The base loaded alone still gives the base's outputs: the adapter did not write into it.
    assert.deepEqual(await logitsOf(full, probe), baseOut);
  } finally {
    s.done();
  }
});

test('--pooling mean: an MLM base becomes a mean-pooling classifier, and its LoRA adapter reloads with that pooling', { timeout: 120_000 }, async () => {
  const s = setup();
  try {
    const out = join(s.dir, 'lora-mean');
    const logged: string[] = [];
    // The MLM checkpoint has no pooler: the adapter must carry the one it trained with, or a reload
    // (which initialises a new random pooler) would give other outputs. 'dense' would also adapt it.
    await finetune(base(s, { model: s.bert, out, method: 'lora', pooling: 'mean', lora: { r: 4, alpha: 8, dropout: 0, targets: ['query', 'dense'] },
      args: args({ maxIters: 4 }), log: (m) => logged.push(m) }));
    assert.ok(logged.some((m) => /bert\.pooler\.dense is not in the checkpoint .*trains it in full and saves it/.test(m)), logged.join('\n'));
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')).modules_to_save, ['classifier', 'bert.pooler.dense']);
    assert.equal(JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')).classifier_pooling, 'mean');
    const p = await loadTaskModel(s.bert, 'sequence-classification', { adapter: out });
    assert.equal((p.model.config as { classifier_pooling?: string }).classifier_pooling, 'mean');
    const texts = ['the film was great', 'it felt awful and dull'];
    const again = await loadTaskModel(s.bert, 'sequence-classification', { adapter: out });
    assert.deepEqual((await classifyTexts(again, texts)).results, (await classifyTexts(p, texts)).results, 'two loads of the adapter give the same outputs');
    // Prefix tuning carries it the same way.
    const prefix = join(s.dir, 'prefix-mean');
    await finetune(base(s, { model: s.bert, out: prefix, method: 'prefix', pooling: 'mean', prompt: { numVirtualTokens: 4 }, args: args({ maxIters: 2 }) }));
    assert.ok(JSON.parse(readFileSync(join(prefix, 'adapter_config.json'), 'utf8')).modules_to_save.includes('bert.pooler.dense'));
    const p1 = await loadTaskModel(s.bert, 'sequence-classification', { adapter: prefix });
    const p2 = await loadTaskModel(s.bert, 'sequence-classification', { adapter: prefix });
    assert.deepEqual((await classifyTexts(p1, texts)).results, (await classifyTexts(p2, texts)).results, 'two loads of the prefix give the same outputs');
    // Saving the pooler in full already (--modules-to-save pooler) covers it: no second copy.
    const out2 = join(s.dir, 'lora-pooler');
    await finetune(base(s, { model: s.bert, out: out2, method: 'lora', lora: { r: 4, alpha: 8, dropout: 0, modulesToSave: ['pooler'] }, args: args({ maxIters: 1 }) }));
    assert.deepEqual(JSON.parse(readFileSync(join(out2, 'adapter_config.json'), 'utf8')).modules_to_save, ['pooler', 'classifier']);
    // The library call does the same: applyLora on the loaded model carries what loading initialised.
    const clf = await models.fromPretrainedForTask(s.bert, 'sequence-classification', { warn: () => {} });
    assert.deepEqual(clf.newlyInitialised, ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
    const lib = models.applyLora(clf, { r: 2, loraAlpha: 4, targetModules: ['dense'] });
    assert.deepEqual(lib.peftConfig.default!.modulesToSave, ['classifier', 'bert.pooler.dense']);
    const full = join(s.dir, 'full-mean');
    await finetune(base(s, { model: s.bert, out: full, pooling: 'mean', args: args({ maxIters: 2 }) }));
    assert.equal(JSON.parse(readFileSync(join(full, 'config.json'), 'utf8')).classifier_pooling, 'mean');
    await assert.rejects(finetune(base(s, { model: s.gpt2, out: join(s.dir, 'g'), pooling: 'mean', args: args({ maxIters: 1 }) })), /--pooling applies to BERT classifiers, not gpt2/);
    await assert.rejects(finetune(base(s, { model: s.gpt2, out: join(s.dir, 'g'), pooler: 'none', args: args({ maxIters: 1 }) })), /--pooler applies to BERT classifiers, not gpt2/);
    // --pooler none: no pooler to carry; the adapter holds the classifier alone and reloads as trained.
    const bare = join(s.dir, 'lora-bare');
    await finetune(base(s, { model: s.bert, out: bare, method: 'lora', pooling: 'mean', pooler: 'none', lora: { r: 4, alpha: 8, dropout: 0, targets: ['query', 'dense'] }, args: args({ maxIters: 4 }) }));
    assert.deepEqual(JSON.parse(readFileSync(join(bare, 'adapter_config.json'), 'utf8')).modules_to_save, ['classifier']);
    assert.equal(JSON.parse(readFileSync(join(bare, 'labels.json'), 'utf8')).pooler_dense, false);
    const b1 = await loadTaskModel(s.bert, 'sequence-classification', { adapter: bare });
    assert.ok(!b1.model.namedParameters().some(([name]) => name.includes('pooler')), 'the reloaded classifier has no pooler');
    const b2 = await loadTaskModel(s.bert, 'sequence-classification', { adapter: bare });
    assert.deepEqual((await classifyTexts(b1, texts)).results, (await classifyTexts(b2, texts)).results, 'two loads of the pooler-less adapter give the same outputs');
    // The word embeddings adapted too, at their own rank and alpha (PEFT's rank_pattern / alpha_pattern).
    const emb = join(s.dir, 'lora-emb');
    await finetune(base(s, { model: s.bert, out: emb, method: 'lora', pooling: 'mean', pooler: 'none', args: args({ maxIters: 3 }),
      lora: { r: 4, alpha: 8, dropout: 0, targets: ['query', 'word_embeddings'], rankPattern: { word_embeddings: 1 }, alphaPattern: { word_embeddings: 0.5 } } }));
    const embCfg = JSON.parse(readFileSync(join(emb, 'adapter_config.json'), 'utf8'));
    assert.deepEqual([embCfg.rank_pattern, embCfg.alpha_pattern], [{ word_embeddings: 1 }, { word_embeddings: 0.5 }]);
    const embSaved = await loadSafetensors(join(emb, 'adapter_model.safetensors'));
    assert.equal(embSaved['base_model.model.bert.embeddings.word_embeddings.lora_embedding_A']!.shape[0], 1);
    const e1 = await loadTaskModel(s.bert, 'sequence-classification', { adapter: emb });
    const e2 = await loadTaskModel(s.bert, 'sequence-classification', { adapter: emb });
    assert.deepEqual((await classifyTexts(e1, texts)).results, (await classifyTexts(e2, texts)).results, 'the embedding adapter reloads');
  } finally {
    s.done();
  }
});

test('--average-last: the last N step checkpoints are averaged at the end and kept only if they beat the best', { timeout: 120_000 }, async () => {
  const s = setup();
  try {
    const out = join(s.dir, 'avg');
    const logs: string[] = [];
    const res = await finetune(base(s, { model: s.bert, out, epochs: undefined, averageLast: 3, args: args({ maxIters: 24, evalInterval: 4 }), log: (l) => logs.push(l) }));
    const line = logs.find((l) => l.startsWith('averaged the checkpoints of steps'));
    assert.ok(line, logs.join('\n'));
    const [, avg, best, kept] = /steps 16, 20, 24: accuracy (\S+) against the best's (\S+); keeping the (averaged|best)/.exec(line) ?? [];
    assert.ok(kept, line);
    assert.equal(kept, Number(avg) > Number(best) ? 'averaged' : 'best', 'kept only if better');
    assertClose([res.bestMetric], [Math.max(Number(avg), Number(best))], 1e-4, 'the result reports the kept model\'s metric');
    const saved = await loadSafetensors(join(out, 'model.safetensors'));
    const name = 'classifier.weight';
    if (kept === 'averaged') {
      const steps = await Promise.all([16, 20, 24].map((n) => loadSafetensors(join(out, 'checkpoints', `step-${String(n).padStart(7, '0')}`, 'model.safetensors'))));
      const mean = steps[0]![name]!.dataSync().map((_, i) => steps.reduce((acc, w) => acc + w[name]!.dataSync()[i]!, 0) / 3);
      assertClose(saved[name]!.dataSync(), mean, 1e-6, 'the saved model is the average');
    } else {
      const best = await loadSafetensors(join(out, 'checkpoints', 'best', 'model.safetensors'));
      assert.deepEqual(saved[name]!.dataSync(), best[name]!.dataSync(), 'the saved model is the best checkpoint');
    }
  } finally {
    s.done();
  }
});

test('classification training resumes to the same losses, and keeps live tensors flat over 100 steps', { timeout: 120_000 }, async () => {
  const s = setup();
  try {
    const tok = await tokenizers.Tokenizer.fromPretrained(s.bert);
    const rows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l, i) => {
      const [text, label] = l.split('\t');
      return { text: text!, label: label!, line: i + 2 };
    });
    const label2id = { neg: 0, pos: 1 };
    const enc = (f: string) => encodeRows(tok, rows(f), { maxLength: 32, label2id });
    const make = async () => {
      manualSeed(3); // the same fresh head for every run
      const m = await models.fromPretrainedForTask(s.bert, 'sequence-classification', { configOverrides: models.labelMaps(['neg', 'pos']), warn: () => {} });
      m.train();
      return { m, task: new SequenceClassificationTask(enc(s.train), enc(s.evalFile), { batchSize: 8, padId: 0 }) };
    };
    const cfg = (maxIters: number): TrainingArguments => ({ ...args({ schedule: 'constant' }), maxIters, lrDecayIters: maxIters, evalInterval: 10 });
    const a = await make();
    const full = await new Trainer(a.m, a.task, cfg(40), null).run({ quiet: true });
    const dir = join(s.dir, 'resume');
    const b = await make();
    await new Trainer(b.m, b.task, cfg(25), dir).run({ quiet: true });
    const c = await make();
    const resumed = new Trainer(c.m, c.task, cfg(40), dir);
    assert.ok(await resumed.resume());
    const rest = await resumed.run({ quiet: true });
    for (const { step, loss } of rest.losses) assert.equal(loss, full.losses[step]!.loss, `step ${step}`);
    // Live tensors: the count after 100 more steps equals the count after the first 10.
    const d = await make();
    const t = new Trainer(d.m, d.task, cfg(1000), null);
    for (let i = 0; i < 10; i++) await t.trainStep();
    const live = liveTensors();
    for (let i = 0; i < 100; i++) await t.trainStep();
    assert.equal(liveTensors(), live);
  } finally {
    s.done();
  }
});

test('fine-tuning input errors are one line that names the problem', { timeout: 120_000 }, async () => {
  const s = setup();
  try {
    const ft = (...a: string[]) => tlm(['finetune', '--task', 'classify', '--model', s.bert, '--train', s.train, '--eval', s.evalFile,
      '--text-column', 'sentence', '--max-iters', '1', '--out', join(s.dir, `o${Math.random()}`), '--quiet', ...a]);
    const one = (r: ReturnType<typeof tlm>, re: RegExp) => {
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n').filter((l) => !/^(model|data|tokenizer):|newly initialised|checkpoint keys not used/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, re);
    };
    one(ft('--text-column', 'review'), /train\.tsv: .*column 'review'.*sentence/);
    const unknown = join(s.dir, 'unknown.tsv');
    writeFileSync(unknown, 'sentence\tlabel\ngreat film\tpos\nodd one\tneutral\n');
    one(tlm(['finetune', '--task', 'classify', '--model', s.bert, '--train', s.train, '--eval', unknown, '--text-column', 'sentence',
      '--max-iters', '1', '--out', join(s.dir, 'u'), '--quiet']), /unknown\.tsv: line 3: unknown label 'neutral' \(the model's labels: neg, pos\)/);
    const empty = join(s.dir, 'empty.tsv');
    writeFileSync(empty, '');
    one(tlm(['finetune', '--task', 'classify', '--model', s.bert, '--train', empty, '--eval', s.evalFile, '--out', join(s.dir, 'e'), '--quiet']), /training file is empty: .*empty\.tsv/);
    // A classifier with a 2-label head cannot fine-tune on 3 labels.
    const clf = join(s.dir, 'clf');
    await finetune(base(s, { model: s.bert, out: clf, args: args({ maxIters: 1 }) }));
    const three = join(s.dir, 'three.tsv');
    writeFileSync(three, 'sentence\tlabel\na\tx\nb\ty\nc\tz\n');
    one(tlm(['finetune', '--task', 'classify', '--model', clf, '--train', three, '--eval', three, '--text-column', 'sentence', '--out', join(s.dir, 't'), '--quiet']),
      /has a head for 2 labels \(neg, pos\), but the training data has 3 \(x, y, z\)/);
    // The same labels in another order: the head's rows would be renamed, so it is refused.
    const swapped = join(s.dir, 'swapped');
    mkdirSync(swapped);
    for (const f of ['model.safetensors', 'tokenizer.json']) copyFileSync(join(clf, f), join(swapped, f));
    const cfg = JSON.parse(readFileSync(join(clf, 'config.json'), 'utf8'));
    writeFileSync(join(swapped, 'config.json'), JSON.stringify({ ...cfg, id2label: { 0: 'pos', 1: 'neg' }, label2id: { pos: 0, neg: 1 } }));
    one(tlm(['finetune', '--task', 'classify', '--model', swapped, '--train', s.train, '--eval', s.evalFile, '--text-column', 'sentence', '--out', join(s.dir, 'sw'), '--quiet']),
      /swapped has the training data's labels in another order \(pos, neg; the data's: neg, pos\)/);
    one(tlm(['finetune', '--task', 'classify', '--train', s.train, '--eval', s.evalFile, '--out', join(s.dir, 'n')]), /--model DIR or --from-scratch is required/);
    one(ft('--method', 'lora', '--lora-r', '0'), /--lora-r must be a positive integer, got 0/);
    one(tlm(['finetune', '--task', 'qa', '--model', s.bert, '--train', s.train, '--eval', s.evalFile, '--pooler', 'none', '--out', join(s.dir, 'p')]), /--pooler applies to --task classify/);
    one(ft('--pooler', 'max'), /--pooler/);
    one(ft('--cased'), /--cased shapes the vocabulary of a model trained --from-scratch/);
    one(ft('--partial-words'), /--partial-words applies to --task qa/);
    one(ft('--prompt-init', 'vocab'), /--prompt-init and --prompt-init-text apply to --method prompt or prefix/);
    one(ft('--method', 'prefix', '--prompt-init', 'text'), /--prompt-init text and --prompt-init-text go together/);
    one(ft('--method', 'prefix', '--prefix-projection', '--prompt-init', 'vocab'), /--prompt-init vocab sets the prefix itself; with --prefix-projection an MLP computes it/);
    one(ft('--method', 'lora', '--lora-rank-pattern', 'word_embeddings'), /--lora-rank-pattern takes NAME=NUMBER, got "word_embeddings"/);
    one(ft('--lora-alpha-pattern', 'query=2'), /the LoRA patterns apply to --method lora/);
    one(ft('--max-length', '200'), /--max-length 200 exceeds the model's 128 positions; use --max-length 128 or fewer/);
    one(ft('--method', 'prefix', '--num-virtual-tokens', '8', '--max-length', '128'), /--max-length 128 plus --num-virtual-tokens 8 exceeds the model's 128 positions; use --max-length 120 or fewer/);
    // QA: a question that leaves no room for the context in a window.
    const squad = join(s.dir, 'squad.json');
    const long = 'why '.repeat(40);
    writeFileSync(squad, JSON.stringify({ data: [{ title: 'T', paragraphs: [{ context: 'Paris is in France.', qas: [{ id: 'q1', question: long, answers: [{ text: 'France', answer_start: 12 }] }] }] }] }));
    one(tlm(['finetune', '--task', 'qa', '--model', s.bert, '--train', squad, '--eval', squad, '--max-length', '32', '--out', join(s.dir, 'q'), '--quiet']),
      /squad\.json: prepareQaFeatures: example "q1" .*no window holds any of the context/);
    one(tlm(['classify', '--model', s.bert, 'some text']), /tlm classify: .*bert-tiny is a BertForMaskedLM, which does not classify sequences; it can fill masks/);
  } finally {
    s.done();
  }
});

test('zero-shot cloze classification from the CLI: a masked LM, a template and a verbalizer', { timeout: 60_000 }, () => {
  const s = setup();
  try {
    const r = tlm(['classify', '--model', s.bert, '--cloze', '{text} it was [MASK] .', '--verbalizer', 'pos=good', '--verbalizer', 'neg=poor', '--json', 'the film']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { label: string; probs: number[] };
    assert.ok(['pos', 'neg'].includes(out.label));
    assert.equal(out.probs.length, 2);
    assert.ok(Math.abs(out.probs[0]! + out.probs[1]! - 1) < 1e-5);
    const ev = tlm(['eval', '--task', 'classify', '--model', s.bert, '--data', s.evalFile, '--text-column', 'sentence', '--cloze', '{text} it was [MASK] .',
      '--verbalizer', 'pos=good', '--verbalizer', 'neg=poor']);
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal((JSON.parse(ev.stdout) as { examples: number }).examples, 64);
    const bad = tlm(['classify', '--model', s.bert, '--cloze', '{text} it was good', '--verbalizer', 'pos=good', '--verbalizer', 'neg=poor', 'x']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /tlm classify: .*\[MASK\]/);
    const multi = tlm(['classify', '--model', s.bert, '--cloze', '{text} [MASK]', '--verbalizer', 'pos=good', '--verbalizer', 'neg=fine', 'x']);
    assert.match(multi.stderr, /verbalizer word 'fine' \(label 'neg'\) is 2 tokens/);
    const one = tlm(['classify', '--model', s.bert, '--cloze', '{text} [MASK]', '--verbalizer', 'pos=good', 'x']);
    assert.match(one.stderr, /at least two labels/);
  } finally {
    s.done();
  }
});

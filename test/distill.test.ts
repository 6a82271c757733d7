// Knowledge distillation for classifiers: the loss against closed forms (its gradient in the logits is
// T · (softmax(s / T) − teacher) / B), teachers' distributions softened and put in the student's label
// order, and a student that learns what its teacher says, not what the gold labels say.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, functional as F } from '../src/index.js';
import { finetune, type FinetuneOptions } from '../src/pipelines/finetune.js';
import { teacherDistributions } from '../src/pipelines/distill.js';
import { loadTaskModel, classifyTexts } from '../src/pipelines/apply.js';
import { distillationLoss } from '../src/tasks/classify_task.js';
import { readTable } from '../src/tasks/table.js';
import { assertClose } from './helpers/assert.js';
import { toySentimentTsv } from './helpers/toy_sentiment.js';

const fixtures = join(process.cwd(), 'test', 'fixtures');
const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');

test('distillationLoss: alpha 1 is the cross-entropy, alpha 0 is T² KL, and its gradient is T (softmax(s/T) − p) / B', async () => {
  const s = [[2, -1, 0.5], [0, 1, -2]], p = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], T = 3, B = 2;
  const labels = tensor([0, 2], { dtype: 'int32' }), teacher = tensor(p);
  const softmax = (row: number[], t: number) => { const e = row.map((x) => Math.exp(x / t)), z = e.reduce((a, b) => a + b, 0); return e.map((x) => x / z); };
  const q = s.map((r) => softmax(r, T));
  const kl = p.reduce((acc, pr, i) => acc + pr.reduce((a, pj, j) => a + pj * Math.log(pj / q[i]![j]!), 0), 0) / B;
  const ce = -(Math.log(softmax(s[0]!, 1)[0]!) + Math.log(softmax(s[1]!, 1)[2]!)) / B;
  const loss = (alpha: number) => {
    const logits = tensor(s);
    return distillationLoss(logits, F.crossEntropy(logits, labels), teacher, { alpha, temperature: T }).dataSync()[0]!;
  };
  assertClose([loss(1)], [ce], 1e-6, 'alpha 1');
  assertClose([loss(0)], [T * T * kl], 1e-5, 'alpha 0');
  assertClose([loss(0.25)], [0.25 * ce + 0.75 * T * T * kl], 1e-5, 'alpha 0.25');
  const logits = tensor(s, { requiresGrad: true });
  distillationLoss(logits, F.crossEntropy(logits, labels), teacher, { alpha: 0, temperature: T }).backward();
  assertClose(logits.grad!.dataSync(), q.flatMap((r, i) => r.map((qj, j) => T * (qj - p[i]![j]!) / B)), 1e-5, 'gradient');
});

/** A toy sentiment table: one opinion word decides the label. */
const toy = { good: ['good', 'great', 'fine', 'lovely'], bad: ['bad', 'awful', 'poor', 'dull'], fill: ['the', 'film', 'was', 'a', 'story', 'it', 'very'], minFill: 2, fillRange: 4 };
const rows = (n: number, seed: number, names?: [string, string]) => toySentimentTsv(n, seed, { ...toy, ...(names ? { names } : {}) });

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-distill-'));
  const bert = join(dir, 'bert');
  mkdirSync(bert);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtures, 'hf', 'bert-tiny', f), join(bert, f));
  copyFileSync(join(fixtures, 'qa', 'bert-tiny', 'tokenizer.json'), join(bert, 'tokenizer.json'));
  const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
  return { dir, bert, train: file('train.tsv', rows(192, 1)), dev: file('dev.tsv', rows(64, 2)),
    // The same sentences with every label swapped: a teacher trained on these says the opposite of the gold labels.
    flipped: file('flipped.tsv', rows(192, 1, ['pos', 'neg'])), flippedDev: file('flipped-dev.tsv', rows(64, 2, ['pos', 'neg'])), done: () => rmSync(dir, { recursive: true, force: true }) };
}

const options = (s: ReturnType<typeof setup>, over: Partial<FinetuneOptions>): FinetuneOptions => ({
  task: 'classify', model: s.bert, train: s.train, eval: s.dev, columns: { textColumn: 'sentence', labelColumn: 'label' }, maxLength: 32,
  method: 'full', batchSize: 16, epochs: 8, out: join(s.dir, 'out'), quiet: true, log: () => {},
  args: { lr: 5e-3, minLr: 0, warmupIters: 0, schedule: 'linear', weightDecay: 0.01, beta1: 0.9, beta2: 0.999, gradClip: 1, gradAccum: 1, logInterval: 5, seed: 7 },
  ...over,
});

test('teachers: distributions softened by T, reordered to the student\'s labels, averaged over an ensemble; a student learns its teacher', { timeout: 180_000 }, async () => {
  const s = setup();
  try {
    const liar = join(s.dir, 'liar');
    const t = await finetune(options(s, { train: s.flipped, eval: s.flippedDev, out: liar }));
    assert.ok(t.bestMetric > 0.9, `the teacher learns the swapped labels (accuracy ${t.bestMetric})`);
    const table = readTable(readFileSync(s.train, 'utf8'), { format: 'tsv', textColumn: 'sentence', labelColumn: 'label' }).slice(0, 20);
    const p = await loadTaskModel(liar, 'sequence-classification');
    const direct = (await classifyTexts(p, table.map((r) => r.text), { maxLength: 32 })).results.map((r) => r.probs);
    p.model.dispose();
    const teacherLabels = p.model.config.id2label as Record<string, string>;
    assert.deepEqual(Object.values(teacherLabels), ['neg', 'pos'], 'the teacher\'s labels, sorted');
    // Temperature 1, student labels pos, neg: the teacher's probabilities with the two columns swapped.
    const t1 = await teacherDistributions([liar], table, { labels: ['pos', 'neg'], maxLength: 32, temperature: 1 });
    assertClose(t1.flatMap((r) => [...r]), direct.flatMap((r) => [r[1]!, r[0]!]), 1e-6, 'T = 1, reordered');
    // Temperature 2: each probability's square root, renormalised.
    const t2 = await teacherDistributions([liar], table, { labels: ['neg', 'pos'], maxLength: 32, temperature: 2 });
    assertClose(t2.flatMap((r) => [...r]), direct.flatMap((r) => { const a = Math.sqrt(r[0]!), b = Math.sqrt(r[1]!); return [a / (a + b), b / (a + b)]; }), 1e-5, 'T = 2');
    const twice = await teacherDistributions([liar, liar], table, { labels: ['neg', 'pos'], maxLength: 32, temperature: 2 });
    assertClose(twice.flatMap((r) => [...r]), t2.flatMap((r) => [...r]), 1e-6, 'an ensemble of one teacher twice is that teacher');
    await assert.rejects(teacherDistributions([liar], table, { labels: ['neg', 'neutral'], maxLength: 32, temperature: 1 }),
      /teacher .*liar's labels \(neg, pos\) are not the training data's \(neg, neutral\)/);
    await assert.rejects(teacherDistributions([liar], table, { labels: ['a', 'b', 'c'], maxLength: 32, temperature: 1 }), /has a head for 2 labels \(neg, pos\), but the training data has 3/);

    // The student sees the true labels, but with alpha 0 only the teacher teaches: it learns the lie.
    // (Scored against the swapped labels: the teacher's answers.)
    const student = await finetune(options(s, { eval: s.flippedDev, out: join(s.dir, 'student'), distill: { teachers: [liar], alpha: 0, temperature: 2 } }));
    assert.ok(student.bestMetric > 0.9, `a pure-distillation student follows its teacher (agreement ${student.bestMetric})`);
    const honest = await finetune(options(s, { out: join(s.dir, 'honest'), distill: { teachers: [liar], alpha: 1, temperature: 2 } }));
    assert.ok(honest.bestMetric > 0.9, `alpha 1 is plain fine-tuning on the gold labels (accuracy ${honest.bestMetric})`);
  } finally {
    s.done();
  }
});

test('distillation flags: one-line errors', { timeout: 60_000 }, () => {
  const s = setup();
  try {
    const run = (...a: string[]) => spawnSync(process.execPath, [bin, 'finetune', '--model', s.bert, '--train', s.train, '--eval', s.dev, '--text-column', 'sentence',
      '--max-iters', '1', '--out', join(s.dir, `o${Math.random()}`), '--quiet', ...a], { encoding: 'utf8' });
    const one = (r: ReturnType<typeof run>, re: RegExp) => {
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n').filter((l) => !/^(model|data|tokenizer):|newly initialised|checkpoint keys not used/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, re);
    };
    one(run('--task', 'qa', '--teacher', s.bert), /--teacher \(distillation\) applies to --task classify/);
    one(run('--task', 'classify', '--distill-alpha', '0.2'), /--distill-alpha and --distill-temperature apply with --teacher/);
    one(run('--task', 'classify', '--teacher', s.bert, '--distill-alpha', '1.5'), /--distill-alpha must be a number in \[0, 1\], got 1.5/);
    one(run('--task', 'classify', '--teacher', join(s.dir, 'nowhere')), /tlm finetune --teacher: model directory not found: .*nowhere/);
    one(run('--task', 'classify', '--teacher', s.bert), /does not classify sequences/);
  } finally {
    s.done();
  }
});

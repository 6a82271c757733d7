// Cloze prompts with a verbalizer (models.ClozeClassifier, PET) on the bert-tiny masked LM fixture:
// zero-shot scores against a by-hand computation from the MLM logits, template and verbalizer
// errors, PET few-shot training through its loss (by hand and as a Trainer task), soft prompts.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Generator, noGrad, optim, tidy, tokenizers, type Tensor } from '../src/index.js';
import * as models from '../src/models/index.js';
import { Trainer } from '../src/train/trainer.js';
import type { TrainingTask } from '../src/train/task.js';
import { assertUnchanged, run, snapshot } from './prompt_util.js';

const BERT = path.join(process.cwd(), 'test', 'fixtures', 'hf', 'bert-tiny');
const quiet = { warn: () => {} };

/** bert-tiny's WordPiece from vocab.txt (its tokenizer.json holds only the special tokens). */
async function tokenizer(): Promise<tokenizers.Tokenizer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlm-cloze-'));
  for (const f of ['vocab.txt', 'tokenizer_config.json']) fs.copyFileSync(path.join(BERT, f), path.join(dir, f));
  return tokenizers.Tokenizer.fromPretrained(dir);
}
async function mlm(): Promise<models.BertForMaskedLM> {
  return await models.fromPretrained(BERT, quiet) as models.BertForMaskedLM;
}

const TEXTS = ['A noble and good king.', 'The villain is a traitor to us all.', 'Speak, speak!', 'O happy day, my lord.'];
const TEMPLATE = '{text} It was [MASK].';
const VERBALIZER = { positive: ['good', 'fair'], negative: ['foul'] };

/** log-softmax of one row, in double precision. */
function logSoftmax(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  return Array.from(row, (v) => v - lse);
}

/** Each text run alone (no padding): the mean log-probability of each label's words at [MASK], by hand. */
function byHand(model: models.ClozeModel, tok: tokenizers.Tokenizer, texts: string[], offset = 0): number[][] {
  const words = [['good', 'fair'], ['foul']].map((ws) => ws.map((w) => tok.tokenToId(w)!));
  return texts.map((text) => {
    const ids = tok.encode(TEMPLATE.replace('{text}', text)).ids;
    const at = ids.indexOf(tok.tokenToId('[MASK]')!);
    const logits = noGrad(() => model.forward({ inputIds: [ids] }).logits!);
    const V = logits.shape[2]!;
    const lp = logSoftmax(logits.dataSync().slice((offset + at) * V, (offset + at + 1) * V));
    return words.map((ws) => ws.reduce((s, w) => s + lp[w]!, 0) / ws.length);
  });
}

test('zero-shot: label scores = mean log-probability of the label\'s words at [MASK], as computed by hand from the MLM logits (padded batch)', async () => {
  const [model, tok] = [await mlm(), await tokenizer()];
  const cloze = new models.ClozeClassifier(model, tok, { template: TEMPLATE, verbalizer: VERBALIZER });
  assert.deepEqual(cloze.labels, ['positive', 'negative']);
  assert.deepEqual(cloze.wordIds, [[tok.tokenToId('good'), tok.tokenToId('fair')], [tok.tokenToId('foul')]]);
  const batch = cloze.encode(TEXTS);
  assert.equal(batch.inputIds.shape[0], 4);
  assert.ok(batch.attentionMask.dataSync().includes(0), 'the batch is padded');
  const got = run(() => cloze.scores(batch));
  const want = byHand(model, tok, TEXTS);
  for (let b = 0; b < 4; b++) for (let l = 0; l < 2; l++) {
    assert.ok(Math.abs(got[b * 2 + l]! - want[b]![l]!) < 1e-4, `text ${b} label ${l}: ${got[b * 2 + l]} vs ${want[b]![l]}`);
  }
  const preds = await cloze.predict(TEXTS);
  preds.forEach((p, b) => {
    assert.equal(p.label, want[b]![0]! > want[b]![1]! ? 'positive' : 'negative');
    assert.ok(Math.abs(p.scores.negative! - want[b]![1]!) < 1e-4);
  });
});

test('cloze: template, verbalizer and input errors are one-line errors; multi-token words score by their first token when asked', async () => {
  const [model, tok] = [await mlm(), await tokenizer()];
  const make = (o: Partial<models.ClozeOptions>) => new models.ClozeClassifier(model, tok, { template: TEMPLATE, verbalizer: VERBALIZER, ...o });
  const oneLine = (fn: () => unknown, re: RegExp) => assert.throws(fn, (err: Error) => { assert.match(err.message, re); assert.ok(!err.message.includes('\n')); return true; });
  oneLine(() => make({ template: '{text} It was good.' }), /template must contain \[MASK\] exactly once, found 0: "\{text\} It was good\."/);
  oneLine(() => make({ template: '[MASK] {text} [MASK]' }), /template must contain \[MASK\] exactly once, found 2/);
  oneLine(() => make({ template: 'It was [MASK].' }), /template has no placeholder such as \{text\}/);
  oneLine(() => make({ verbalizer: { positive: ['good', '☃'], negative: ['foul'] } }), /verbalizer word '☃' \(label 'positive'\) is not in the vocabulary/);
  oneLine(() => make({ verbalizer: { positive: ['goodness'], negative: ['foul'] } }), /verbalizer word 'goodness' \(label 'positive'\) is 2 tokens; use one-token words or multiTokenWords: 'first'/);
  oneLine(() => make({ verbalizer: { positive: ['good'] } }), /verbalizer needs at least two labels, got 1/);
  oneLine(() => make({ maskToken: '<mask>' }), /the tokenizer has no mask token '<mask>'/);
  const first = make({ verbalizer: { positive: ['goodness'], negative: ['foul'] }, multiTokenWords: 'first' });
  assert.deepEqual(first.wordIds, [[tok.tokenToId('good')], [tok.tokenToId('foul')]], "'goodness' is scored as 'good' (its first piece)");
  const cloze = make({});
  oneLine(() => cloze.encode(['It was [MASK] then.']), /input 0 contains the mask token \[MASK\]/);
  oneLine(() => cloze.encode([{ premise: 'x' }]), /input 0 has no field 'text' for the template's \{text\}/);
  oneLine(() => cloze.encode(TEXTS.slice(0, 2), ['positive', 'neutral']), /label "neutral" of input 1 is not one of positive, negative/);
  const pair = make({ template: '{premise}? [MASK], {hypothesis}' });
  assert.equal(pair.fill({ premise: 'Is he good', hypothesis: 'he is' }), 'Is he good? [MASK], he is');
});

test('few-shot (PET): fine-tuning the masked LM on the verbalizer cross-entropy lowers the loss; the loss fits a Trainer task', async () => {
  const [model, tok] = [await mlm(), await tokenizer()];
  const cloze = new models.ClozeClassifier(model, tok, { template: TEMPLATE, verbalizer: VERBALIZER });
  const labels = ['positive', 'negative', 'negative', 'positive'];
  const batch = cloze.encode(TEXTS, labels);
  // The loss is the cross-entropy of the scores: by hand from them.
  const s = run(() => cloze.scores(batch));
  const ce = [0, 1, 1, 0].reduce((acc, y, b) => acc - (s[b * 2 + y]! - Math.log(Math.exp(s[b * 2]!) + Math.exp(s[b * 2 + 1]!))), 0) / 4;
  assert.ok(Math.abs(run(() => cloze.loss(model, batch))[0]! - ce) < 1e-5);
  assert.throws(() => cloze.loss(model, cloze.encode(TEXTS)), /the batch has no labels/);
  model.eval(); // no dropout: the loss falls step by step
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0 });
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) {
    losses.push(tidy(() => { const l = cloze.loss(model, batch); l.backward(); return l.item(); }));
    opt.step();
    opt.zeroGrad();
  }
  assert.ok(losses[5]! < 0.7 * losses[0]!, `loss ${losses[0]} → ${losses[5]}`);
  const preds = await cloze.predict(TEXTS);
  assert.deepEqual(preds.map((p) => p.label), labels, 'the few-shot examples are learnt');

  // The same loss as a TrainingTask's, run by the Trainer.
  const fresh = await mlm();
  const task: TrainingTask<models.BertForMaskedLM, models.ClozeBatch> = {
    trainBatch: () => ({ inputs: cloze.encode(TEXTS, labels), tokens: TEXTS.length }),
    loss: cloze.loss,
    evaluate: async (m) => {
      const p = await new models.ClozeClassifier(m, tok, { template: TEMPLATE, verbalizer: VERBALIZER }).predict(TEXTS);
      return { accuracy: p.filter((x, i) => x.label === labels[i]).length / labels.length };
    },
    metricForBest: 'accuracy',
    greaterIsBetter: true,
  };
  const trainer = new Trainer(fresh, task, { maxIters: 4, lr: 1e-3, minLr: 1e-3, warmupIters: 0, lrDecayIters: 4, schedule: 'constant',
    weightDecay: 0, beta1: 0.9, beta2: 0.999, gradClip: 1, gradAccum: 1, evalInterval: 4, logInterval: 100, seed: 1 });
  const result = await trainer.run({ quiet: true });
  assert.equal(result.losses.length, 4);
  assert.ok(result.losses.every((l) => Number.isFinite(l.loss)));
  assert.ok(result.lastMetrics.accuracy !== undefined);
});

test('cloze over a soft prompt (P-tuning): the mask is found P positions on; training the prompt alone lowers the loss step by step, the MLM stays bit-identical', async () => {
  const [model, tok] = [await mlm(), await tokenizer()];
  const base = snapshot(model);
  const pt = models.applyPromptTuning(model, { numVirtualTokens: 3, generator: new Generator(2) });
  pt.eval();
  const cloze = new models.ClozeClassifier(pt, tok, { template: TEMPLATE, verbalizer: VERBALIZER });
  const got = run(() => cloze.scores(cloze.encode(TEXTS)));
  const want = byHand(pt, tok, TEXTS, 3);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(got[i]! - want[Math.floor(i / 2)]![i % 2]!) < 1e-4, `score ${i}`);
  // A frozen random MLM lets a prompt shift its mask prediction but little more: the prompt is
  // trained towards one label for every text, which it can reach.
  const batch = cloze.encode(TEXTS, TEXTS.map(() => 'negative'));
  const opt = new optim.AdamW(pt.trainableParameters(), { lr: 0.3, weightDecay: 0 });
  const losses: number[] = [];
  for (let i = 0; i < 8; i++) {
    losses.push(tidy(() => { const l: Tensor = cloze.loss(pt, batch); l.backward(); return l.item(); }));
    opt.step();
    opt.zeroGrad();
  }
  assert.ok(losses.every((l, i) => i === 0 || l < losses[i - 1]!) && losses[7]! < losses[0]! - 0.01, `loss ${losses.join(' → ')}`);
  assertUnchanged(base);
});

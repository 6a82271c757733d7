// ROUGE against Google's rouge-score: the cases of rouge/rouge_scorer_test.py and tokenize_test.py
// (google-research/google-research; ROUGE-1.5.5 "ground truth" on rouge/testdata, copied to
// test/fixtures/tasks/rouge_score_testdata.json), HF evaluate's rouge card, and
// test/fixtures/tasks/rouge_samsum.json (SAMSum test summaries scored by rouge-score through
// scripts/gen_tasks_fixtures.py). The Porter stemmer is checked against NLTK's unit tests and
// doctest and against NLTK 3.8's stems of ~8k words (porter_nltk.json).

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tasks } from '../src/index.js';

const { rouge, rougeScore, rougeTokenize, porterStem } = tasks.metrics;
const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/tasks', name), 'utf8')) as T;

/** assertAlmostEqual(expected, actual, places). */
const places = (actual: number, expected: number, n: number, what: string): void => {
  assert.ok(Math.round(Math.abs(actual - expected) * 10 ** n) === 0, `${what}: got ${actual}, expected ${expected} to ${n} places`);
};
const triple = (got: { precision: number; recall: number; fmeasure: number }, p: number, r: number, f: number, n: number, what: string): void => {
  places(got.precision, p, n, `${what} precision`);
  places(got.recall, r, n, `${what} recall`);
  places(got.fmeasure, f, n, `${what} fmeasure`);
};

test('rougeScore: rouge_scorer_test.py simple cases', () => {
  const plain = { useStemmer: false };
  triple(rougeScore('testing one two', 'testing', { ...plain, rougeTypes: ['rouge1'] }).rouge1!, 1, 1 / 3, 1 / 2, 7, 'rouge1');
  triple(rougeScore('testing one two', 'testing one', { ...plain, rougeTypes: ['rouge2'] }).rouge2!, 1, 1 / 2, 2 / 3, 7, 'rouge2');
  triple(rougeScore('testing one two', 'testing one', { ...plain, rougeTypes: ['rougeL'] }).rougeL!, 1, 2 / 3, 4 / 5, 7, 'rougeL consecutive');
  triple(rougeScore('testing one two', 'testing two', { ...plain, rougeTypes: ['rougeL'] }).rougeL!, 1, 2 / 3, 4 / 5, 7, 'rougeL non-consecutive');
  const multiple = rougeScore('testing one two', 'testing one', { ...plain, rougeTypes: ['rouge1', 'rougeL'] });
  assert.deepEqual(Object.keys(multiple), ['rouge1', 'rougeL']);
  triple(multiple.rouge1!, 1, 2 / 3, 4 / 5, 7, 'multiple rouge1');
  for (const type of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const) {
    triple(rougeScore('testing one two', '', { ...plain, rougeTypes: [type] })[type]!, 0, 0, 0, 7, `empty ${type}`);
  }
  for (const type of ['rouge1', 'rouge9', 'rougeL', 'rougeLsum'] as const) assert.deepEqual(Object.keys(rougeScore('testing one two', 'testing', { rougeTypes: [type] })), [type]);
  for (const type of ['rougen', 'rouge0', 'rouge10']) {
    assert.throws(() => rougeScore('testing one two', 'testing', { rougeTypes: [type as 'rouge1'] }), /rouge: invalid rouge type/);
  }
});

test('rougeScore: rougeLsum union LCS (testRougeLsum, testSummaryLevelLcs)', () => {
  const lsum = (t: string, p: string) => rougeScore(t, p, { useStemmer: false, rougeTypes: ['rougeLsum'] }).rougeLsum!;
  triple(lsum('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5'), 0.4, 0.8, 0.5333, 3, 'union LCS');
  triple(lsum('w1 w2 w3 w4 w5', ''), 0, 0, 0, 3, 'empty prediction');
  triple(lsum('', 'w1'), 0, 0, 0, 3, 'empty target');
  triple(lsum('w1 w2 w3 w4 w5', '/'), 0, 0, 0, 3, 'non-word prediction');
  // The tokenizer may drop every candidate token: recall 0.
  assert.equal(lsum('reference', '%%').recall, 0);
});

interface RougeTestdata { targets: string[]; predictions: string[]; targetMulti0: string; predictionMulti0: string }

test('rougeScore: rouge_scorer_test.py cases against ROUGE-1.5.5, with and without stemming', () => {
  const d = fixture<RougeTestdata>('rouge_score_testdata.json');
  // [type, stemmer, example, recall, precision, fmeasure]
  const cases: [string, boolean, number, number, number, number][] = [
    ['rouge1', false, 0, 0.40741, 0.68750, 0.51163], ['rouge1', false, 1, 0.40476, 0.65385, 0.50000],
    ['rouge1', true, 0, 0.40741, 0.68750, 0.51163], ['rouge1', true, 1, 0.42857, 0.69231, 0.52941],
    ['rouge2', false, 0, 0.30769, 0.53333, 0.39024], ['rouge2', false, 1, 0.29268, 0.48000, 0.36364],
    ['rouge2', true, 0, 0.30769, 0.53333, 0.39024], ['rouge2', true, 1, 0.29268, 0.48000, 0.36364],
    ['rougeL', false, 0, 0.40741, 0.68750, 0.51163], ['rougeL', false, 1, 0.40476, 0.65385, 0.50000],
  ];
  for (const [type, useStemmer, i, r, p, f] of cases) {
    const got = rougeScore(d.targets[i]!, d.predictions[i]!, { useStemmer, rougeTypes: [type as 'rouge1'] })[type]!;
    triple(got, p, r, f, 5, `${type} stem=${useStemmer} #${i}`);
  }
  const lsum = rougeScore(d.targetMulti0, d.predictionMulti0, { useStemmer: true, rougeTypes: ['rougeLsum'] }).rougeLsum!;
  triple(lsum, 0.66667, 0.36538, 0.47205, 5, 'rougeLsum stemmed (target_multi.0)');
});

test('rougeTokenize: tokenize_test.py', () => {
  assert.deepEqual(rougeTokenize('one Two three', false), ['one', 'two', 'three']);
  assert.deepEqual(rougeTokenize('one\n Two \nthree', false), ['one', 'two', 'three']);
  // Non-ASCII letters split words; only tokens longer than 3 characters are stemmed.
  assert.deepEqual(rougeTokenize('Café runs, running dogs!', true), ['caf', 'run', 'run', 'dog']);
});

test('rouge: HF evaluate rouge card examples', () => {
  assert.deepEqual(rouge(['hello there', 'general kenobi'], ['hello there', 'general kenobi']), { rouge1: 1, rouge2: 1, rougeL: 1, rougeLsum: 1 });
  // Several references per prediction: the best F-measure per type, card output rounded to 4 places.
  const multi = rouge(['hello there', 'general kenobi'], [['hello', 'there'], ['general kenobi', 'general yoda']]);
  assert.deepEqual(Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4])),
    { rouge1: 0.8333, rouge2: 0.5, rougeL: 0.8333, rougeLsum: 0.8333 });
});

interface SamsumFixture {
  cases: { useStemmer: boolean; preds: string[]; refs: string[]; perExample: Record<string, number>[]; mean: Record<string, number> }[];
  multi: { preds: string[]; refs: string[][]; mean: Record<string, number> };
}

test('rouge matches rouge-score on SAMSum summaries (stemmed and not, one and two references)', () => {
  const fx = fixture<SamsumFixture>('rouge_samsum.json');
  for (const c of fx.cases) {
    c.preds.forEach((p, i) => {
      const got = rougeScore(c.refs[i]!, p, { useStemmer: c.useStemmer });
      for (const [type, want] of Object.entries(c.perExample[i]!)) {
        assert.ok(Math.abs(got[type]!.fmeasure - want) < 1e-12, `stem=${c.useStemmer} #${i} ${type}: got ${got[type]!.fmeasure}, expected ${want}`);
      }
    });
    const mean = rouge(c.preds, c.refs, { useStemmer: c.useStemmer });
    for (const [type, want] of Object.entries(c.mean)) assert.ok(Math.abs(mean[type]! - want) < 1e-12, `mean ${type}`);
  }
  const multi = rouge(fx.multi.preds, fx.multi.refs);
  for (const [type, want] of Object.entries(fx.multi.mean)) assert.ok(Math.abs(multi[type]! - want) < 1e-12, `multi-reference ${type}`);
});

test('porterStem: NLTK unit tests, doctest, and 8k words stemmed by NLTK 3.8', () => {
  // nltk/test/stem.doctest
  const plurals = 'caresses flies dies mules denied died agreed owned humbled sized meeting stating siezing itemization sensational traditional reference colonizer plotted';
  assert.equal(plurals.split(' ').map(porterStem).join(' '), 'caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot');
  // nltk/test/unit/test_stem.py: test_oed_bug, test_lowercase_option
  assert.equal(porterStem('oed'), 'o');
  assert.deepEqual(['On', 'I', 'Github'].map(porterStem), ['on', 'i', 'github']);
  const fx = fixture<{ mode: string; pairs: [string, string][] }>('porter_nltk.json');
  assert.equal(fx.mode, 'NLTK_EXTENSIONS');
  assert.ok(fx.pairs.length > 5000);
  const wrong = fx.pairs.filter(([w, s]) => porterStem(w) !== s);
  assert.deepEqual(wrong.slice(0, 10).map(([w, s]) => `${w}: got ${porterStem(w)}, NLTK ${s}`), []);
});

test('rouge: bad input gets one clear error', () => {
  assert.throws(() => rouge(['a', 'b'], ['a']), /rouge: got 2 preds but 1 refs/);
  assert.throws(() => rouge([], []), /rouge: preds is empty/);
  assert.throws(() => rouge(['a'], [null as unknown as string]), /rouge: refs\[0\] must be a string or an array of strings, got null/);
  assert.throws(() => rouge(['a'], ['a'], { rougeTypes: [] }), /rouge: rougeTypes is empty/);
});

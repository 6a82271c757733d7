// SQuAD v1.1 EM/F1 against the official evaluate-v1.1.py: the HF evaluate squad card's examples,
// and test/fixtures/tasks/squad_v11.json (400 dev-set questions with varied predictions, scored by
// the official script through scripts/gen_tasks_fixtures.py). Also the sliding-window baseline.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tasks } from '../src/index.js';

const { squad, squadExact, squadF1, normalizeAnswer } = tasks.metrics;

test('squad: the HF evaluate squad card examples', () => {
  assert.deepEqual(squad(['1976'], [['1976']]), { exactMatch: 100, f1: 100 });
  assert.deepEqual(squad(['1999'], [['1976']]), { exactMatch: 0, f1: 0 });
  // Partial match: 'Beyonce' shares no normalized token with 'Beyoncé and Bruno Mars'.
  const partial = squad(['1976', 'Beyonce', 'climate change'], [['1976'], ['Beyoncé and Bruno Mars'], ['climate change']]);
  assert.deepEqual(partial, { exactMatch: 66.66666666666667, f1: 66.66666666666667 });
});

test('normalizeAnswer, squadExact and squadF1 follow the official script', () => {
  assert.equal(normalizeAnswer('The  Denver Broncos!'), 'denver broncos');
  assert.equal(squadExact('the Denver Broncos.', 'Denver Broncos'), 1);
  assert.equal(squadExact('Denver', 'Denver Broncos'), 0);
  // precision 1/1, recall 1/2 → F1 2/3
  assert.equal(squadF1('Denver', 'Denver Broncos'), 2 / 3);
  // Both normalize to nothing: EM 1 but F1 0, as in the script (num_same == 0 → 0).
  assert.equal(squadExact('the', 'a'), 1);
  assert.equal(squadF1('the', 'a'), 0);
  // max over gold answers
  assert.deepEqual(squad(['Broncos'], [['Carolina Panthers', 'Denver Broncos', 'Broncos']]), { exactMatch: 100, f1: 100 });
});

interface SquadFixture {
  preds: string[]; golds: string[][]; perExample: { em: number; f1: number }[];
  exactMatch: number; f1: number; normalized: Record<string, string>;
}

test('squad matches the official script on 400 dev questions', () => {
  const fx = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/tasks/squad_v11.json'), 'utf8')) as SquadFixture;
  for (const [input, expected] of Object.entries(fx.normalized)) assert.equal(normalizeAnswer(input), expected, `normalize ${JSON.stringify(input)}`);
  fx.preds.forEach((p, i) => {
    const golds = fx.golds[i]!;
    assert.equal(Math.max(...golds.map((g) => squadExact(p, g))), fx.perExample[i]!.em, `EM of example ${i}: ${JSON.stringify(p)} vs ${JSON.stringify(golds)}`);
    const f1 = Math.max(...golds.map((g) => squadF1(p, g)));
    assert.ok(Math.abs(f1 - fx.perExample[i]!.f1) < 1e-12, `F1 of example ${i}: got ${f1}, expected ${fx.perExample[i]!.f1}`);
  });
  const total = squad(fx.preds, fx.golds);
  assert.ok(Math.abs(total.exactMatch - fx.exactMatch) < 1e-9 && Math.abs(total.f1 - fx.f1) < 1e-9, `corpus ${JSON.stringify(total)} vs ${fx.exactMatch}/${fx.f1}`);
});

test('squad: bad input gets one clear error', () => {
  assert.throws(() => squad(['a', 'b'], [['a']]), /squad: preds has 2 entries but golds has 1/);
  assert.throws(() => squad([], []), /squad: preds and golds are empty/);
  assert.throws(() => squad(['a'], [[]]), /squad: golds\[0\] must be a non-empty array/);
  assert.throws(() => squad(['a'], ['a' as unknown as string[]]), /squad: golds\[0\] must be a non-empty array/);
  assert.throws(() => squad([3 as unknown as string], [['a']]), /squad: preds\[0\] must be a string, got number/);
});

test('slidingWindowBaseline picks the span next to the question words', () => {
  const context = 'The cat sat on the mat. Paris is the capital of France. The river Seine flows through Paris.';
  assert.equal(tasks.slidingWindowBaseline(context, 'What is the capital of France?'), 'Paris');
  assert.equal(tasks.slidingWindowBaseline(context, 'Which river flows through Paris?'), 'Seine');
  assert.equal(tasks.slidingWindowBaseline(context, 'What sat on the mat?'), 'cat');
  // 'river Seine' beats 'Seine': both tie on sentence overlap, the longer one covers more rare words (SW).
  assert.equal(tasks.slidingWindowBaseline(context, 'What flows through Paris?'), 'river Seine');
  // The answer never repeats the question's own content words, and is copied from the context.
  const answer = tasks.slidingWindowBaseline('Super Bowl 50 was played at Levi\'s Stadium in Santa Clara, California.', 'Where was Super Bowl 50 played?');
  assert.ok(answer.length > 0 && !/super|bowl|played/i.test(answer), answer);
  assert.ok('Super Bowl 50 was played at Levi\'s Stadium in Santa Clara, California.'.includes(answer));
  assert.equal(tasks.slidingWindowBaseline('', 'Anything?'), '');
  assert.throws(() => tasks.slidingWindowBaseline(context, 'x', { maxWords: 0 }), /maxWords must be a positive integer/);
});

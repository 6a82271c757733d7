// Classification metrics against scikit-learn: the examples of its documentation and of HF
// evaluate's metric cards, plus test/fixtures/tasks/sklearn_classification.json (written by
// scripts/gen_tasks_fixtures.py with scikit-learn 1.2.1).

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tasks } from '../src/index.js';

const { accuracy, macroF1, f1PerClass, matthewsCorrcoef, confusionMatrix } = tasks.metrics;

const close = (actual: number, expected: number, tol = 1e-12, what = 'value'): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected}`);
};

test('accuracy: sklearn accuracy_score and HF evaluate accuracy examples', () => {
  // sklearn docs: accuracy_score(y_true=[0, 1, 2, 3], y_pred=[0, 2, 1, 3]) == 0.5
  assert.equal(accuracy([0, 2, 1, 3], [0, 1, 2, 3]), 0.5);
  // HF evaluate accuracy card, example 1 (predictions, references)
  assert.equal(accuracy([0, 1, 1, 2, 1, 0], [0, 1, 2, 0, 1, 2]), 0.5);
  assert.equal(accuracy([0, 1], [0, 1]), 1);
  assert.equal(accuracy(['pos', 'neg', 'pos'], ['pos', 'pos', 'pos']), 2 / 3);
});

test('macroF1 and per-class F1: sklearn f1_score docs / HF evaluate f1 card example 4', () => {
  // y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]: macro 0.2666..., per class [0.8, 0, 0]
  const preds = [0, 2, 1, 0, 0, 1], labels = [0, 1, 2, 0, 1, 2];
  close(macroF1(preds, labels), 0.26666666666666666);
  assert.deepEqual(f1PerClass(preds, labels), { classes: [0, 1, 2], f1: [0.8, 0, 0] });
  assert.equal(macroF1([0, 1], [0, 1]), 1);
});

test('matthewsCorrcoef: sklearn docs and HF evaluate matthews_correlation card', () => {
  // sklearn docs: y_true = [+1, +1, +1, -1], y_pred = [+1, -1, +1, +1] → -0.33...
  close(matthewsCorrcoef([1, -1, 1, 1], [1, 1, 1, -1]), -1 / 3, 1e-15);
  // HF card: references=[1, 3, 2, 0, 3, 2], predictions=[1, 2, 2, 0, 3, 3] → 0.5384615384615384 (multiclass)
  close(matthewsCorrcoef([1, 2, 2, 0, 3, 3], [1, 3, 2, 0, 3, 2]), 0.5384615384615384, 1e-15);
  assert.equal(matthewsCorrcoef([0, 1], [0, 1]), 1);
  // Undefined (a constant prediction) is 0, as sklearn.
  assert.equal(matthewsCorrcoef([1, 1, 1, 1], [0, 1, 0, 1]), 0);
});

test('confusionMatrix: sklearn confusion_matrix docs and HF evaluate card', () => {
  // sklearn docs: y_true = [2, 0, 2, 2, 0, 1], y_pred = [0, 0, 2, 2, 0, 2]
  assert.deepEqual(confusionMatrix([0, 0, 2, 2, 0, 2], [2, 0, 2, 2, 0, 1]), { classes: [0, 1, 2], matrix: [[2, 0, 0], [0, 0, 1], [1, 0, 2]] });
  // sklearn docs, string labels with labels=["ant", "bird", "cat"]
  const cm = confusionMatrix(['ant', 'ant', 'cat', 'cat', 'ant', 'cat'], ['cat', 'ant', 'cat', 'cat', 'ant', 'bird'], { classes: ['ant', 'bird', 'cat'] });
  assert.deepEqual(cm.matrix, [[2, 0, 0], [0, 0, 1], [1, 0, 2]]);
  // sklearn docs: tn, fp, fn, tp = confusion_matrix([0, 1, 0, 1], [1, 1, 1, 0]).ravel() → (0, 2, 1, 1)
  assert.deepEqual(confusionMatrix([1, 1, 1, 0], [0, 1, 0, 1]).matrix.flat(), [0, 2, 1, 1]);
  // HF evaluate confusion_matrix card
  assert.deepEqual(confusionMatrix([0, 2, 1, 1, 0, 2, 0], [0, 1, 1, 2, 0, 2, 2]).matrix, [[2, 0, 0], [0, 1, 1], [1, 1, 1]]);
  // Given classes fix the order; labels outside them are left out (as sklearn).
  assert.deepEqual(confusionMatrix([0, 1, 2], [0, 1, 2], { classes: [2, 0] }).matrix, [[1, 0], [0, 1]]);
});

interface SklearnCase {
  name: string; labels: (number | string)[]; preds: (number | string)[]; accuracy: number; macroF1: number;
  perClassF1: number[]; mcc: number; classes: (number | string)[]; confusion: number[][];
}

test('classification metrics match scikit-learn on the generated cases', () => {
  const fx = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/tasks/sklearn_classification.json'), 'utf8')) as { cases: SklearnCase[] };
  assert.ok(fx.cases.length >= 10);
  for (const c of fx.cases) {
    close(accuracy(c.preds, c.labels), c.accuracy, 1e-15, `${c.name}: accuracy`);
    close(macroF1(c.preds, c.labels), c.macroF1, 1e-12, `${c.name}: macroF1`);
    close(matthewsCorrcoef(c.preds, c.labels), c.mcc, 1e-12, `${c.name}: mcc`);
    const per = f1PerClass(c.preds, c.labels);
    assert.deepEqual(per.classes, c.classes, `${c.name}: classes`);
    per.f1.forEach((f, k) => close(f, c.perClassF1[k]!, 1e-12, `${c.name}: f1 of class ${c.classes[k]}`));
    assert.deepEqual(confusionMatrix(c.preds, c.labels), { classes: c.classes, matrix: c.confusion }, `${c.name}: confusion`);
  }
});

test('classification metrics: bad input gets one clear error', () => {
  assert.throws(() => accuracy([1, 0], [1]), /accuracy: preds has 2 entries but labels has 1/);
  assert.throws(() => macroF1([], []), /macroF1: preds and labels are empty/);
  assert.throws(() => matthewsCorrcoef([1, 'a'], [1, 1]), /preds\[1\] is a string but earlier labels are numbers/);
  assert.throws(() => accuracy([null as unknown as number], [1]), /accuracy: preds\[0\] must be a string or a number, got null/);
  assert.throws(() => confusionMatrix([1], [1], { classes: [1, 1] }), /classes lists 1 twice/);
});

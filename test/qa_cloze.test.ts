// tasks.clozeQaExamples: cloze questions from unlabelled paragraphs (label-free QA pretraining data).
import test from 'node:test';
import assert from 'node:assert/strict';
import { clozeQaExamples } from '../src/tasks/index.js';

const paragraph = 'The Eiffel Tower was built in 1889 in Paris. It was designed by Dr. Gustave Eiffel for the fair. ' +
  'Paris hosted the fair in 1889 to celebrate the revolution.';

test('cloze questions: a sentence taken out, a span of it that recurs in the rest blanked, the answer its occurrence there', () => {
  const all = clozeQaExamples([paragraph], { perSentence: 2 });
  for (const e of all) {
    const a = e.answers![0]!;
    assert.equal(e.context.slice(a.answerStart, a.answerStart + a.text.length), a.text, e.id);
    assert.ok(!e.context.includes(e.question.replace(/\?$/, '').split(/ (?:what|when) /)[0]!), `${e.id}: the question's sentence is not in its context`);
  }
  const first = all.filter((e) => e.id.startsWith('cloze-0-0-'));
  // "Eiffel" cuts the name "Eiffel Tower", "built" does not recur: the year and the city remain.
  assert.deepEqual(first.map((e) => [e.question, e.answers![0]!.text]).sort(), [
    ['The Eiffel Tower was built in 1889 in what?', 'Paris'],
    ['The Eiffel Tower was built in when in Paris?', '1889'],
  ]);
  assert.equal(first[0]!.context, 'It was designed by Dr. Gustave Eiffel for the fair. Paris hosted the fair in 1889 to celebrate the revolution.');
  // "Dr." ends no sentence: the paragraph has three, so ids run to cloze-0-2-*.
  assert.deepEqual([...new Set(all.map((e) => e.id.split('-')[2]))].sort(), ['0', '1', '2']);
  const last = all.find((e) => e.id === 'cloze-0-2-0')!;
  assert.equal(last.context.slice(0, 44), 'The Eiffel Tower was built in 1889 in Paris.');
  // One blank a sentence by default, chosen by the seed among the best-ranked spans.
  const one = clozeQaExamples([paragraph]);
  assert.equal(one.filter((e) => e.id.startsWith('cloze-0-0-')).length, 1);
  assert.deepEqual(clozeQaExamples([paragraph], { seed: 3 }), clozeQaExamples([paragraph], { seed: 3 }));
});

test('cloze questions: short or overlong sentences and one-sentence paragraphs give none; bad options are one-line errors', () => {
  assert.deepEqual(clozeQaExamples(['Paris is big. Paris is old.']), [], 'sentences under six words');
  assert.deepEqual(clozeQaExamples(['The Eiffel Tower was built in 1889 in Paris by many workers.']), [], 'one sentence: no rest to answer from');
  assert.deepEqual(clozeQaExamples([paragraph], { maxSentenceChars: 20 }), []);
  assert.throws(() => clozeQaExamples([paragraph], { maxWords: 0 }), /^Error: clozeQaExamples: maxWords must be a positive integer, got 0$/);
});

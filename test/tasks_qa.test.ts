// Extractive QA data path: windowed features with answer labels (run_qa.py's
// prepare_train_features / prepare_validation_features) and logits → answers
// (utils_qa.py's postprocess_qa_predictions), on a WordPiece (bert-tiny) and a byte-level BPE
// tokenizer (gpt2-tiny's vocabulary) from test/fixtures/qa.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer, postProcessors } from '../src/tokenizers/index.js';
import { postprocessQaPredictions, prepareQaFeatures, QaFeatureError, type QaExample, type QaFeature } from '../src/tasks/qa.js';

const QA = join(process.cwd(), 'test', 'fixtures', 'qa');
const load = (name: string): Tokenizer => Tokenizer.fromJSON(JSON.parse(readFileSync(join(QA, name, 'tokenizer.json'), 'utf8')));
const bert = load('bert-tiny');
const bpe = load('bpe-tiny');
/** gpt2-tiny as saved: a pair template without special tokens. */
const gpt2 = load('bpe-tiny');
gpt2.postProcessor = postProcessors.TemplateProcessing.fromStrings('$A', '$A $B:1', {});

const NORMANS = 'The Normans (Norman: Nourmands; French: Normands; Latin: Normanni) were the people who in the ' +
  '10th and 11th centuries gave their name to Normandy, a region in France. They were descended from Norse ' +
  '("Norman" comes from "Norseman") raiders and pirates from Denmark, Iceland and Norway who, under their ' +
  'leader Rollo, agreed to swear fealty to King Charles III of West Francia.';

/** An example whose answer is the `nth` occurrence of `text` in the context. */
function example(id: string, question: string, context: string, answers: string[]): QaExample {
  return { id, question, context, answers: answers.map((text) => ({ text, answerStart: context.indexOf(text) })) };
}

const EXAMPLES: QaExample[] = [
  example('normandy', 'In what country is Normandy located?', NORMANS, ['France']),
  example('rollo', 'Who was the leader of the Norse?', NORMANS, ['Rollo']),
  example('origin', 'Where did the raiders come from?', NORMANS, ['Denmark, Iceland and Norway']),
  example('short', 'Who?', 'First Citizen: Before we proceed any further, hear me speak.', ['First Citizen']),
];

const contextTokens = (f: QaFeature): number[] => f.offsets.flatMap((o, t) => (o === null ? [] : [t]));

// Byte-level BPE without trimmed offsets (gpt2-tiny's own template) counts a token's leading
// space in its offsets, so its labelled span carries the space before the answer, as in HF.
for (const [name, tok, trimmed] of [['bert-tiny (WordPiece)', bert, true], ['bpe-tiny (byte-level BPE, RoBERTa processing)', bpe, true], ['gpt2-tiny (no special tokens)', gpt2, false]] as const) {
  test(`features of ${name}: windows with stride, context-only offsets, labels that map back to the answer`, () => {
    // docStride is at least the longest answer's token count, so some window holds each answer whole.
    const maxLength = 40;
    const docStride = 14;
    const features = prepareQaFeatures(tok, EXAMPLES, { maxLength, docStride });
    assert.deepEqual([...new Set(features.map((f) => f.exampleIndex))], [0, 1, 2, 3], 'every example, in order');
    let labelled = 0;
    let cut = 0;
    EXAMPLES.forEach((ex, i) => {
      const own = features.filter((f) => f.exampleIndex === i);
      const answer = ex.answers![0]!;
      const answerEnd = answer.answerStart + answer.text.length;
      const full = tok.encode(ex.question, { pair: ex.context });
      const fullContext = full.offsets.filter((_, t) => full.sequenceIds[t] === 1).map(([s, e]) => `${s}:${e}`);
      const seen = new Set<string>();
      for (const f of own) {
        assert.equal(f.exampleId, ex.id);
        assert.ok(f.inputIds.length <= maxLength, 'fits in maxLength');
        assert.equal(f.tokenTypeIds.length, f.inputIds.length);
        assert.equal(f.attentionMask.length, f.inputIds.length);
        assert.equal(f.offsets.length, f.inputIds.length);
        const ctx = contextTokens(f);
        assert.ok(ctx.length > 0);
        ctx.forEach((t, k) => { if (k > 0) assert.equal(t, ctx[k - 1]! + 1, 'context tokens are one run'); });
        for (const t of ctx) seen.add(`${f.offsets[t]![0]}:${f.offsets[t]![1]}`);
        const first = f.offsets[ctx[0]!]!;
        const last = f.offsets[ctx[ctx.length - 1]!]!;
        const inside = first[0] <= answer.answerStart && last[1] >= answerEnd;
        if (inside) {
          labelled++;
          assert.ok(f.startPosition! >= ctx[0]! && f.endPosition! >= f.startPosition!, 'a span of context tokens');
          const span = ex.context.slice(f.offsets[f.startPosition!]![0], f.offsets[f.endPosition!]![1]);
          assert.equal(trimmed ? span : span.replace(/^ /, ''), answer.text, `${ex.id}: the labelled tokens are exactly the answer`);
        } else {
          cut++;
          assert.deepEqual([f.startPosition, f.endPosition], [0, 0], `${ex.id}: a window without the whole answer is labelled at [CLS]`);
        }
      }
      assert.ok(own.some((f) => f.startPosition! > 0), `${ex.id}: some window holds the answer (docStride covers it)`);
      assert.deepEqual([...seen].sort(), [...fullContext].sort(), `${ex.id}: the windows cover every context token`);
    });
    assert.ok(labelled > 0 && cut > 0, `both labelled and [CLS] windows occur (${labelled}, ${cut})`);
  });
}

test('an answer cut by a window boundary is labelled [CLS] there and found whole in the next window', () => {
  // 'denmark , i ##ce ##land and nor ##w ##ay' spans many WordPiece tokens: small windows cut it.
  const ex = EXAMPLES[2]!;
  const features = prepareQaFeatures(bert, [ex], { maxLength: 30, docStride: 12 });
  const answer = ex.answers![0]!;
  const answerEnd = answer.answerStart + answer.text.length;
  const partial = features.filter((f) => {
    const ctx = contextTokens(f).map((t) => f.offsets[t]!);
    const overlaps = ctx.some(([s, e]) => s < answerEnd && e > answer.answerStart);
    const whole = ctx[0]![0] <= answer.answerStart && ctx[ctx.length - 1]![1] >= answerEnd;
    return overlaps && !whole;
  });
  assert.ok(partial.length > 0, 'some window holds only part of the answer');
  for (const f of partial) assert.deepEqual([f.startPosition, f.endPosition], [0, 0]);
  const whole = features.filter((f) => f.startPosition! > 0);
  assert.ok(whole.length > 0);
  for (const f of whole) assert.equal(ex.context.slice(f.offsets[f.startPosition!]![0], f.offsets[f.endPosition!]![1]), answer.text);
});

test('features: padding to maxLength, unlabelled examples, no-answer examples, leading spaces of the question', () => {
  const padded = prepareQaFeatures(bert, EXAMPLES, { maxLength: 40, docStride: 10, padToMaxLength: true });
  for (const f of padded) {
    assert.equal(f.inputIds.length, 40);
    const n = f.attentionMask.indexOf(0);
    if (n >= 0) for (let t = n; t < 40; t++) { assert.equal(f.offsets[t], null); assert.equal(f.inputIds[t], 0); }
  }
  const unpadded = prepareQaFeatures(bert, EXAMPLES, { maxLength: 40, docStride: 10 });
  assert.equal(unpadded.length, padded.length);
  unpadded.forEach((f, k) => assert.deepEqual(f.inputIds, padded[k]!.inputIds.slice(0, f.inputIds.length)));
  const [plain, none, spaced] = prepareQaFeatures(bert, [
    { id: 'p', question: 'Who?', context: 'First Citizen: Speak.' },
    { id: 'n', question: 'Who?', context: 'First Citizen: Speak.', answers: [] },
    { id: 's', question: '      Who?', context: 'First Citizen: Speak.' },
  ]);
  assert.equal(plain!.startPosition, undefined);
  assert.equal(plain!.endPosition, undefined);
  assert.deepEqual([none!.startPosition, none!.endPosition], [0, 0]);
  assert.deepEqual(spaced!.inputIds, plain!.inputIds);
  // Question tokens and specials have no offsets; context tokens do.
  assert.deepEqual(plain!.offsets.map((o) => o !== null), plain!.inputIds.map((_, t) => t > 3 && t < plain!.inputIds.length - 1));
});

/** Deterministic logits in [-1, 1). */
function noise(n: number, seed: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 31 - 1; });
}

/** The best valid span over every window, by brute force. */
function bruteForce(ex: QaExample, features: QaFeature[], sl: number[][], el: number[][], maxAnswerLength: number): { start: number; end: number; score: number } {
  let best = { start: 0, end: 0, score: -Infinity };
  features.forEach((f, k) => {
    f.offsets.forEach((so, s) => f.offsets.forEach((eo, e) => {
      if (so === null || eo === null || e < s || e - s + 1 > maxAnswerLength) return;
      const score = sl[k]![s]! + el[k]![e]!;
      if (score > best.score) best = { start: so[0], end: eo[1], score };
    }));
  });
  assert.ok(Number.isFinite(best.score), `${ex.id}: some valid span`);
  return best;
}

test('postprocessing picks the best valid span over all windows, never one in the question or beyond maxAnswerLength', () => {
  const examples = EXAMPLES.slice(0, 3);
  const features = prepareQaFeatures(bert, examples, { maxLength: 32, docStride: 8 });
  const maxAnswerLength = 5;
  // Padded rows, as a batch gives them: two extra positions that must be ignored.
  const sl = features.map((f, k) => noise(f.inputIds.length + 2, 7 + k));
  const el = features.map((f, k) => noise(f.inputIds.length + 2, 1000 + k));
  features.forEach((f, k) => {
    const ctx = contextTokens(f);
    // The question's tokens and [CLS] look best of all, and so do the padding positions.
    for (let t = 0; t < ctx[0]!; t++) { sl[k]![t] = 50; el[k]![t] = 50; }
    sl[k]![f.inputIds.length] = 60; el[k]![f.inputIds.length + 1] = 60;
  });
  // The valid best: a span in the third window of the first example, where an end before its
  // start and a span one token too long score higher (each of their logits pairs validly only
  // with logits of -30).
  const target = features.findIndex((f, k) => f.exampleIndex === 0 && k >= 2);
  const tctx = contextTokens(features[target]!);
  const n = tctx.length;
  assert.ok(n >= 16 && features[target]!.exampleIndex === 0);
  const [ts, te] = [sl[target]!, el[target]!];
  ts[tctx[n - 1]!] = 20; te[tctx[n - 1]!] = -30;
  te[tctx[0]!] = 20; ts[tctx[0]!] = -30;
  ts[tctx[1]!] = 19; te[tctx[1 + maxAnswerLength]!] = 19;
  for (let k = 1; k <= maxAnswerLength; k++) { te[tctx[k]!] = -30; ts[tctx[k + 1]!] = -30; }
  ts[tctx[10]!] = 9; te[tctx[12]!] = 9.5;

  const preds = postprocessQaPredictions(examples, features, sl, el, { nBest: 64, maxAnswerLength });
  assert.deepEqual(preds.map((p) => p.id), examples.map((e) => e.id));
  preds.forEach((p, i) => {
    const own = features.filter((f) => f.exampleIndex === i);
    const best = bruteForce(examples[i]!, own, own.map((f) => sl[features.indexOf(f)]!), own.map((f) => el[features.indexOf(f)]!), maxAnswerLength);
    assert.deepEqual([p.start, p.end], [best.start, best.end], `${p.id}: the best span`);
    assert.ok(Math.abs(p.score - best.score) < 1e-12);
    assert.equal(p.text, examples[i]!.context.slice(p.start, p.end));
    assert.ok(p.nBest.length <= 64 && p.nBest[0]!.text === p.text);
    p.nBest.forEach((c, r) => { if (r > 0) assert.ok(c.score <= p.nBest[r - 1]!.score, 'best first'); });
    assert.ok(Math.abs(p.nBest.reduce((a, c) => a + c.probability, 0) - 1) < 1e-9, 'probabilities sum to 1');
    assert.ok(p.score < 40, `${p.id}: no span touches the question, [CLS] or padding`);
  });
  const f = features[target]!;
  assert.deepEqual([preds[0]!.start, preds[0]!.end], [f.offsets[tctx[10]!]![0], f.offsets[tctx[12]!]![1]]);
  assert.equal(preds[0]!.score, 18.5);
});

test('postprocessing pairs only the nBest top positions of each window (as HF), so nBest 1 takes the two argmaxes', () => {
  const [ex] = EXAMPLES.slice(3);
  const features = prepareQaFeatures(bert, [ex!], { maxLength: 64, docStride: 16 });
  assert.equal(features.length, 1);
  const ctx = contextTokens(features[0]!);
  const sl = [noise(features[0]!.inputIds.length, 3)];
  const el = [noise(features[0]!.inputIds.length, 4)];
  sl[0]![ctx[1]!] = 5; el[0]![ctx[2]!] = 5;
  sl[0]![ctx[0]!] = 4.5; el[0]![ctx[0]!] = 4.9; // the second-best start and end: a better pair than none
  const [top] = postprocessQaPredictions([ex!], features, sl, el, { nBest: 1 });
  assert.deepEqual([top!.start, top!.end], [features[0]!.offsets[ctx[1]!]![0], features[0]!.offsets[ctx[2]!]![1]]);
  assert.equal(top!.nBest.length, 1);
  assert.equal(top!.probability, 1);
  // If the argmaxes do not make a valid span, nBest 1 finds nothing: the empty answer.
  el[0]![ctx[0]!] = 6;
  const [none] = postprocessQaPredictions([ex!], features, sl, el, { nBest: 1 });
  assert.deepEqual([none!.text, none!.start, none!.end, none!.score], ['', 0, 0, 0]);
  const [two] = postprocessQaPredictions([ex!], features, sl, el, { nBest: 2 });
  assert.deepEqual([two!.start, two!.end], [features[0]!.offsets[ctx[0]!]![0], features[0]!.offsets[ctx[0]!]![1]]);
});

test('wholeWords: a span that starts or ends inside a word is passed over for the best whole-word span', () => {
  const ex = example('w', 'Who ruled?', 'Rollo swore fealty to Charlemagne.', ['Charlemagne']);
  const [f] = prepareQaFeatures(bert, [ex], { maxLength: 64, docStride: 16 });
  const ctx = contextTokens(f!);
  // A word bert-tiny's vocabulary splits into pieces: its last piece starts inside the word.
  const pieces = ctx.filter((t) => { const [a] = f!.offsets[t]!; return a > ex.context.indexOf('Charlemagne') && a < ex.context.indexOf('.'); });
  assert.ok(pieces.length >= 1, 'Charlemagne is split into pieces');
  const word = ctx.filter((t) => f!.offsets[t]![0] === ex.context.indexOf('Charlemagne'))[0]!;
  const last = ctx.filter((t) => f!.offsets[t]![1] === ex.context.indexOf('.'))[0]!;
  const sl = [noise(f!.inputIds.length, 5)], el = [noise(f!.inputIds.length, 6)];
  sl[0]![pieces[0]!] = 9; el[0]![last] = 9; // the best pair: a piece of the word
  sl[0]![word] = 8; // the second-best start: the word's first piece
  const [hf] = postprocessQaPredictions([ex], [f!], sl, el);
  assert.notEqual(hf!.text, 'Charlemagne');
  assert.ok('Charlemagne'.endsWith(hf!.text), `HF's postprocessing returns a piece: ${hf!.text}`);
  const [whole] = postprocessQaPredictions([ex], [f!], sl, el, { wholeWords: true });
  assert.equal(whole!.text, 'Charlemagne');
  for (const c of whole!.nBest) {
    assert.ok(!/[\p{L}\p{N}]/u.test(ex.context[c.start - 1] ?? ' ') || !/[\p{L}\p{N}]/u.test(ex.context[c.start]!), `${c.text} starts inside a word`);
    assert.ok(!/[\p{L}\p{N}]/u.test(ex.context[c.end] ?? ' ') || !/[\p{L}\p{N}]/u.test(ex.context[c.end - 1]!), `${c.text} ends inside a word`);
  }
});

test('wholeWords: scripts without spaces between words keep every span; an example with no whole-word span keeps its best', () => {
  // Han characters have no word boundaries to respect: the answer is the best span, as without wholeWords.
  const zh = example('z', '首都?', '巴黎是法国的首都。', ['巴黎']);
  const [fz] = prepareQaFeatures(bert, [zh], { maxLength: 32, docStride: 8 });
  const cz = contextTokens(fz!);
  const sl = [noise(fz!.inputIds.length, 7)], el = [noise(fz!.inputIds.length, 8)];
  sl[0]![cz[0]!] = 9; el[0]![cz[1]!] = 9;
  const [plain] = postprocessQaPredictions([zh], [fz!], sl, el);
  const [whole] = postprocessQaPredictions([zh], [fz!], sl, el, { wholeWords: true });
  assert.equal(whole!.text, plain!.text);
  assert.equal(whole!.text, '巴黎');
  // One word split into pieces, and nothing else in the context: every span but the whole word cuts it;
  // with nBest 1 only a cut span is found, and it is kept rather than no answer at all.
  const one = example('o', 'Who?', 'Charlemagne', ['Charlemagne']);
  const [fo] = prepareQaFeatures(bert, [one], { maxLength: 32, docStride: 8 });
  const co = contextTokens(fo!);
  assert.ok(co.length >= 2, 'Charlemagne is split into pieces');
  const s1 = [noise(fo!.inputIds.length, 9)], e1 = [noise(fo!.inputIds.length, 10)];
  s1[0]![co[1]!] = 9; e1[0]![co[co.length - 1]!] = 9;
  const [kept] = postprocessQaPredictions([one], [fo!], s1, e1, { nBest: 1, wholeWords: true });
  assert.equal(kept!.text, postprocessQaPredictions([one], [fo!], s1, e1, { nBest: 1 })[0]!.text);
  assert.ok(kept!.text.length > 0 && kept!.text !== 'Charlemagne');
});

test('bad input: a context with no window, malformed examples and logits', () => {
  const long = 'Who was the leader of the Norse raiders who agreed to swear fealty to the king of West Francia?';
  assert.throws(() => prepareQaFeatures(bert, [example('q', long, NORMANS, ['Rollo'])], { maxLength: 16, docStride: 4 }),
    (err: Error) => err instanceof QaFeatureError && /^prepareQaFeatures: example "q" \(index 0\): no window holds any of the context: maxLength 16 - \d+ question tokens - 3 special tokens leaves no room for it$/.test(err.message));
  assert.throws(() => prepareQaFeatures(bert, [example('q', 'Who?', NORMANS, ['Rollo'])], { maxLength: 16, docStride: 11 }),
    (err: Error) => err instanceof QaFeatureError && /^prepareQaFeatures: example "q" \(index 0\): no window holds the context: maxLength 16 - 2 question tokens - 3 special tokens leaves 11 context tokens a window, which docStride 11 must be smaller than$/.test(err.message));
  assert.throws(() => prepareQaFeatures(bert, [{ id: 'e', question: 'Who?', context: '   ' }]), (err: Error) => err instanceof QaFeatureError && /example "e" \(index 0\): the context has no tokens/.test(err.message));
  assert.throws(() => prepareQaFeatures(bert, [{ id: 'a', question: 'Who?', context: NORMANS, answers: [{ text: 'Rollo', answerStart: 3 }] }]),
    /^RangeError: prepareQaFeatures: example "a" \(index 0\): answers\[0\] text "Rollo" is not at answerStart 3 \(the context has " Norm" there; answerStart counts UTF-16 units\)$/);
  assert.throws(() => prepareQaFeatures(bert, [{ id: 'a', question: 'Who?', context: 'x', answers: [{ text: 'xy', answerStart: 0 }] }]), /answers\[0\].answerStart 0 with text length 2 is outside the context \(length 1\)/);
  assert.throws(() => prepareQaFeatures(bert, [{ id: 'a', question: 'Who?', context: 'x', answers: { text: ['x'], answerStart: [0] } } as unknown as QaExample]), /answers must be an array of \{ text, answerStart \}/);
  assert.throws(() => prepareQaFeatures(bert, [{ question: 'Who?', context: 'x' } as unknown as QaExample]), /prepareQaFeatures: examples\[0\].id must be a string, got undefined/);
  assert.throws(() => prepareQaFeatures(bert, [{ id: 'c', question: 'Who?', context: 7 } as unknown as QaExample]), /example "c" \(index 0\): context must be a string, got 7/);
  assert.throws(() => prepareQaFeatures(bert, EXAMPLES, { maxLength: 0 }), /prepareQaFeatures: maxLength must be an integer >= 1, got 0/);
  assert.throws(() => prepareQaFeatures(bert, EXAMPLES, { docStride: -1 }), /prepareQaFeatures: docStride must be an integer >= 0, got -1/);

  const features = prepareQaFeatures(bert, EXAMPLES.slice(0, 2), { maxLength: 32, docStride: 8 });
  const rows = features.map((f) => noise(f.inputIds.length, 1));
  assert.throws(() => postprocessQaPredictions(EXAMPLES.slice(0, 2), features, rows.slice(1), rows), /postprocessQaPredictions: startLogits must have one row per feature \(\d+\), got \d+/);
  assert.throws(() => postprocessQaPredictions(EXAMPLES.slice(0, 2), features, rows.map((r, k) => (k === 2 ? r.slice(1) : r)), rows), /startLogits\[2\] has \d+ logits but its feature has \d+ tokens/);
  assert.throws(() => postprocessQaPredictions(EXAMPLES.slice(0, 2), features, rows, rows.map((r, k) => (k === 1 ? [...r.slice(0, -1), NaN] : r))), /endLogits\[1\]\[\d+\] is NaN, not a number/);
  assert.throws(() => postprocessQaPredictions(EXAMPLES.slice(1, 3), features, rows, rows), /features\[0\] belongs to example "normandy" but examples\[0\] is "rollo"/);
  assert.throws(() => postprocessQaPredictions(EXAMPLES.slice(0, 1), features, rows, rows), /features\[\d+\].exampleIndex must index examples \(0..0\), got 1/);
  assert.throws(() => postprocessQaPredictions(EXAMPLES.slice(0, 2), features, rows, rows, { maxAnswerLength: 0 }), /maxAnswerLength must be an integer >= 1, got 0/);
});

test('question match: context tokens that occur in the question get their own token type, nothing else changes', () => {
  const ex = example('rollo', 'Who was the leader of the Norse?', NORMANS, ['Rollo']);
  const plain = prepareQaFeatures(bert, [ex], { maxLength: 48, docStride: 16 });
  const matched = prepareQaFeatures(bert, [ex], { maxLength: 48, docStride: 16, questionMatchTypeId: 2 });
  assert.equal(matched.length, plain.length);
  let hits = 0;
  matched.forEach((f, k) => {
    const p = plain[k]!;
    assert.deepEqual(f.inputIds, p.inputIds);
    assert.deepEqual([f.startPosition, f.endPosition], [p.startPosition, p.endPosition]);
    const question = new Set(p.inputIds.filter((_, t) => p.tokenTypeIds[t] === 0 && p.offsets[t] === null));
    f.tokenTypeIds.forEach((type, t) => {
      const isContext = p.offsets[t] !== null;
      const expected = isContext && question.has(p.inputIds[t]!) ? 2 : p.tokenTypeIds[t];
      assert.equal(type, expected, `token ${t} (${bert.idToToken(p.inputIds[t]!)})`);
      if (type === 2) hits++;
    });
  });
  // "leader", "the", "of" and "norse" occur in the context: every window has some.
  assert.ok(hits >= matched.length, `only ${hits} matched tokens in ${matched.length} windows`);
  assert.throws(() => prepareQaFeatures(bert, [ex], { questionMatchTypeId: -1 }), /questionMatchTypeId/);
});

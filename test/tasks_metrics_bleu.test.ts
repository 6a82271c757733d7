// BLEU and chrF against sacreBLEU: the input/expected pairs of sacreBLEU's own test suite
// (test/test_bleu.py, test_sentence_bleu.py, test_chrf.py at mjpost/sacrebleu f615c72) and of HF
// evaluate's sacrebleu/chrf cards, plus test/fixtures/tasks/sacrebleu_multi30k.json (Multi30k
// segments scored by sacreBLEU 2.6 (git f615c72) through scripts/gen_tasks_fixtures.py).
//
// sacreBLEU takes references as streams (refs[k][i] = k-th reference of segment i); tlm takes
// them per hypothesis (refs[i] = the references of hyps[i]), as HF evaluate does. `perHyp`
// transposes the published cases.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tasks } from '../src/index.js';

const { bleu, computeBleu, chrf, bleuTokenize } = tasks.metrics;

const perHyp = (streams: string[][]): string[][] => streams[0]!.map((_, i) => streams.map((s) => s[i]!));
const near = (actual: number, expected: number, tol: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) < tol, `${what}: got ${actual}, expected ${expected}`);
};

// sacreBLEU test_bleu.py: the README example with two reference streams.
const REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const HYPS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

test('bleu: sacreBLEU test_corpus_bleu cases', () => {
  const refs = perHyp(REFS);
  near(bleu(HYPS, refs).score, 48.530827, 1e-6, 'default');
  near(bleu(['', '', ''], refs).score, 0, 1e-8, 'empty hypotheses');
  near(bleu(HYPS, refs, { tokenize: 'none' }).score, 49.1919566, 1e-6, 'tokenize none');
  near(bleu(HYPS, refs, { tokenize: '13a' }).score, 48.530827, 1e-6, 'tokenize 13a');
  near(bleu(HYPS, refs, { tokenize: 'intl' }).score, 43.91623493, 1e-6, 'tokenize intl');
  near(bleu(HYPS, refs, { smoothMethod: 'none' }).score, 48.530827, 1e-6, 'smooth none');
  // test_max_ngram_order: f"{score:.2f}"
  ['77.65', '60.50', '53.93', '48.53', '46.14', '43.28'].forEach((want, k) => {
    assert.equal(bleu(HYPS, refs, { maxNgramOrder: k + 1 }).score.toFixed(2), want, `max order ${k + 1}`);
  });
});

// sacreBLEU's raw_corpus_bleu: no tokenization, floor smoothing (0.01 unless given), effective order.
const raw = (hyps: string[], streams: string[][], floor: number | null = 0.01): number =>
  bleu(hyps, perHyp(streams), { tokenize: 'none', smoothMethod: 'floor', smoothValue: floor ?? undefined, effectiveOrder: true }).score / 100;

test('bleu: sacreBLEU raw BLEU, effective order, statistics and offset cases', () => {
  near(raw(['this is a test', 'another test'], [['ref1', 'ref2']]), 0, 1e-8, 'no match');
  near(raw(['this is a test'], [['this is a test']]), 1, 1e-8, 'identical');
  near(raw(['this is a fest'], [['this is a test']]), 0.223606797749979, 1e-8, 'one word off');
  near(raw(['test'], [['a test']]), 0.3678794411714425, 1e-8, 'effective order 1');
  near(raw(['a test'], [['a test']]), 1, 1e-8, 'effective order 2');
  near(raw(['a little test'], [['a test']]), 0.03218297948685433, 1e-8, 'effective order 3');
  const stats = bleu(['am I am a character sequence'], ['I am a symbol string sequence a a'], { tokenize: 'none', smoothMethod: 'floor', smoothValue: 0.01, effectiveOrder: true });
  assert.deepEqual([stats.counts, stats.totals], [[4, 2, 1, 0], [6, 5, 4, 3]]);
  near(raw(['am I am a character sequence'], [['I am a symbol string sequence a a']], 0), 0, 1e-8, 'offset 0');
  near(raw(['am I am a character sequence'], [['I am a symbol string sequence a a']], null), 0.1555722182, 1e-8, 'default offset 0.1');
});

test('computeBleu: sacreBLEU test_scoring and test_degenerate_statistics', () => {
  near(computeBleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11).score / 100, 0.8375922397, 1e-8, 'scoring');
  const degenerate: [number[], number[], number, number, number][] = [
    [[0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0], [[0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0], [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0],
    [[6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0], [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1], [[0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01],
  ];
  for (const [correct, total, sys, ref, offset] of degenerate) {
    assert.equal(computeBleu(correct, total, sys, ref, { smoothMethod: 'floor', smoothValue: offset }).score, 0, `${correct}/${total}`);
  }
});

test('bleu: sacreBLEU test_sentence_bleu cases (smoothing, tokenizers, lowercase)', () => {
  // sacreBLEU issue #98 example; sentence BLEU = corpus BLEU of one segment with effective order.
  const REF = 'producţia de zahăr brut se exprimă în zahăr alb;';
  const SYS = 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;';
  const cases: [BleuSmooth, number | undefined, boolean, Tok, number][] = [
    ['exp', undefined, false, '13a', 8.493], ['none', undefined, false, '13a', 0], ['floor', undefined, false, '13a', 4.51688],
    ['floor', 0.1, false, '13a', 4.51688], ['floor', 0.5, false, '13a', 10.10], ['add-k', undefined, false, '13a', 14.882],
    ['add-k', 1, false, '13a', 14.882], ['add-k', 2, false, '13a', 21.389], ['exp', undefined, false, 'none', 7.347],
    ['exp', undefined, false, 'intl', 8.493], ['exp', undefined, false, 'char', 40.8759], ['exp', undefined, true, 'char', 42.0267],
  ];
  for (const [smoothMethod, smoothValue, lowercase, tokenize, want] of cases) {
    const got = bleu([SYS], [REF], { smoothMethod, smoothValue, lowercase, tokenize, effectiveOrder: true }).score;
    near(got, want, 1e-3, `${smoothMethod}/${smoothValue}/${lowercase}/${tokenize}`);
    // sacreBLEU issue #141: no match at all scores 0 whatever the smoothing.
    assert.equal(bleu(['this is a cat'], ['okay thanks'], { smoothMethod, smoothValue, effectiveOrder: true }).score, 0);
  }
});
type BleuSmooth = 'exp' | 'none' | 'floor' | 'add-k';
type Tok = '13a' | 'intl' | 'char' | 'none';

test('bleu: HF evaluate sacrebleu card examples', () => {
  const a = bleu(['hello there general kenobi', 'foo bar foobar'], [['hello there general kenobi', 'hello there !'], ['foo bar foobar', 'foo bar foobar']]);
  assert.equal(Math.round(a.score * 10) / 10, 100);
  const b = bleu(['hello there general kenobi', 'on our way to ankh morpork'], [['hello there general kenobi', 'hello there !'], ['goodbye ankh morpork', 'ankh morpork']]);
  assert.equal(Math.round(b.score * 10) / 10, 39.8);
});

// Expected strings: sacreBLEU's Tokenizer13a / TokenizerV14International on the same input.
test('bleuTokenize: 13a and intl split punctuation as mteval does', () => {
  assert.equal(bleuTokenize("It wasn't 3.5 or 1,000 -- e.g. \"x\" &amp; y.", '13a'), 'It wasn\'t 3.5 or 1,000 -- e . g . " x " & y .');
  assert.equal(bleuTokenize('Zahl: 1.000,5 €!', 'intl'), 'Zahl : 1.000,5 € !');
  assert.equal(bleuTokenize('ab c', 'char'), 'a b   c');
});

// sacreBLEU test_chrf.py: (hyps, refs as one stream, expected).
const CHRF_EPS: [string[], string[], number][] = [
  [['abcdefg'], ['hijklmnop'], 0], [['a'], ['b'], 0], [[''], ['b'], 0], [[''], ['ref'], 0], [[''], ['reference'], 0],
  [['aa'], ['ab'], 8.3333], [['a', 'b'], ['a', 'c'], 8.3333], [['a'], ['a'], 16.6667], [['a b c'], ['a b c'], 50], [['a b c'], ['abc'], 50],
  [[' risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .'],
    ['risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .'], 63.361730],
  [[' Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. '],
    ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'], 64.1302698],
  [['Niemand hat die Absicht, eine Mauer zu errichten'], ['Niemand hat die Absicht, eine Mauer zu errichten'], 100],
];
const CHRF_EFFECTIVE: [string[], string[], number][] = [
  [['a'], ['a'], 100], [[''], ['reference'], 0], [['a b c'], ['a b c'], 100], [['a b c'], ['abc'], 100], [[''], ['c'], 0],
  [['a', 'b'], ['a', 'c'], 50], [['aa'], ['ab'], 25],
];

test('chrf: sacreBLEU test_chrf cases (eps smoothing, effective order, whitespace, sentence level)', () => {
  for (const [h, r, want] of CHRF_EPS) near(chrf(h, r, { beta: 3, epsSmoothing: true }).score, want, 1e-4, `eps ${JSON.stringify(h)}`);
  for (const [h, r, want] of CHRF_EFFECTIVE) near(chrf(h, r, { beta: 3 }).score, want, 1e-4, `effective ${JSON.stringify(h)}`);
  near(chrf(['Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.'],
    ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'], { beta: 3, whitespace: true }).score, 67.3481606, 1e-4, 'keep whitespace de');
  near(chrf(['risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .'],
    ['risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .'], { beta: 3, whitespace: true }).score, 65.2414427, 1e-4, 'keep whitespace en');
  const sentences: [string, string, number][] = [
    ['Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.', 'Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.', 39.14078509],
    ['Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.', 'A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.', 31.22557079],
    ['Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.', 'Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.', 57.15704367],
  ];
  for (const [h, r, want] of sentences) near(chrf([h], [[r]], { epsSmoothing: true }).score, want, 1e-4, `sentence ${h.slice(0, 20)}`);
});

test('chrf: HF evaluate chrf card examples (chrF, chrF++, lowercase)', () => {
  const hyps = ['The relationship between cats and dogs is not exactly friendly.', 'a good bookshop is just a genteel black hole that knows how to read.'];
  const refs = [['The relationship between dogs and cats is not exactly friendly.'], ['A good bookshop is just a genteel Black Hole that knows how to read.']];
  assert.deepEqual(chrf(hyps, refs), { score: 84.64214891738334, charOrder: 6, wordOrder: 0, beta: 2 });
  near(chrf(hyps, refs, { wordOrder: 2 }).score, 82.87263732906315, 1e-12, 'chrF++');
  near(chrf(hyps, refs, { wordOrder: 2, lowercase: true }).score, 92.12853119829202, 1e-12, 'chrF++ lowercase');
});

interface SacreCase {
  kind: 'bleu' | 'chrf'; name: string; corpus: string; count: number; options: Record<string, unknown>; score: number;
  counts?: number[]; totals?: number[]; precisions?: number[]; bp?: number; sysLen?: number; refLen?: number;
}
interface SacreFixture { corpora: Record<string, { hyps?: string[]; refs?: string[][]; refs2?: string[] }>; cases: SacreCase[] }

// sacreBLEU's keyword arguments → tlm's options.
const toOptions = (o: Record<string, unknown>): Record<string, unknown> => ({
  tokenize: o.tokenize, lowercase: o.lowercase, smoothMethod: o.smooth_method, smoothValue: o.smooth_value,
  maxNgramOrder: o.max_ngram_order, effectiveOrder: o.effective_order, wordOrder: o.word_order,
  epsSmoothing: o.eps_smoothing, whitespace: o.whitespace,
});

test('bleu and chrf match sacreBLEU on Multi30k corpora', () => {
  const fx = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/tasks/sacrebleu_multi30k.json'), 'utf8')) as SacreFixture;
  const en = fx.corpora.en!;
  // en2: the en hypotheses, each with its en reference and a second, noisier one.
  const corpora: Record<string, { hyps: string[]; refs: string[][] }> = {
    en: { hyps: en.hyps!, refs: en.refs! }, de: { hyps: fx.corpora.de!.hyps!, refs: fx.corpora.de!.refs! },
    short: { hyps: fx.corpora.short!.hyps!, refs: fx.corpora.short!.refs! },
    en2: { hyps: en.hyps!, refs: en.refs!.map((r, i) => [r[0]!, fx.corpora.en2!.refs2![i]!]) },
  };
  assert.ok(fx.cases.length >= 15);
  for (const c of fx.cases) {
    const { hyps, refs } = corpora[c.corpus]!;
    const args = [hyps.slice(0, c.count), refs.slice(0, c.count), toOptions(c.options)] as const;
    if (c.kind === 'chrf') { near(chrf(...args).score, c.score, 1e-9, c.name); continue; }
    const got = bleu(...args);
    near(got.score, c.score, 1e-9, c.name);
    assert.deepEqual([got.counts, got.totals, got.sysLen, got.refLen], [c.counts, c.totals, c.sysLen, c.refLen], c.name);
    near(got.bp, c.bp!, 1e-12, `${c.name}: bp`);
    got.precisions.forEach((p, k) => near(p, c.precisions![k]!, 1e-9, `${c.name}: precision ${k + 1}`));
  }
});

test('bleu and chrf: bad input gets one clear error', () => {
  assert.throws(() => bleu(['a', 'b'], ['a']), /bleu: got 2 hyps but 1 refs/);
  assert.throws(() => bleu([], []), /bleu: hyps is empty/);
  assert.throws(() => bleu(['a'], [[]]), /bleu: refs\[0\] has no references/);
  assert.throws(() => bleu(['a'], ['a'], { tokenize: 'zh' as Tok }), /bleu: unknown tokenize 'zh'; expected one of 13a, intl, char, none/);
  assert.throws(() => bleu(['a'], ['a'], { smoothMethod: 'laplace' as BleuSmooth }), /unknown smoothMethod 'laplace'/);
  assert.throws(() => bleu([1 as unknown as string], ['a']), /bleu: hyps\[0\] must be a string, got number/);
  assert.throws(() => chrf(['a'], [['a', 2 as unknown as string]]), /chrf: refs\[0\]\[1\] must be a string, got number/);
  assert.throws(() => chrf(['a'], ['a', 'b']), /chrf: got 1 hyps but 2 refs/);
  assert.throws(() => chrf(['a'], ['a'], { charOrder: 0, wordOrder: 0 }), /charOrder \+ wordOrder must be at least 1/);
});

// Start/end logits of every feature → one answer per example, as HF's
// postprocess_qa_predictions (utils_qa.py, SQuAD v1.1: there is always an answer): in each of an
// example's windows, the nBest highest start and end positions are paired; a pair counts if both
// tokens are in the context, the end is not before the start and the span is at most
// maxAnswerLength tokens; the best pair over all windows, by start + end logit, is the answer.

import { checkExample, checkInt, type QaExample, type QaFeature } from './qa_types.js';

export interface QaPostprocessOptions {
  /** Start and end positions tried per window, and candidates kept per example. Default 20. */
  nBest?: number;
  /** Longest answer, in tokens. Default 30. */
  maxAnswerLength?: number;
  /**
   * Prefer spans that start and end at word boundaries (no letter or digit on both sides of either
   * end): the answer is whole words, as SQuAD's are. A subword vocabulary splits words into pieces,
   * and a span that starts or ends inside a word is a piece of a word no gold answer holds. Scripts
   * written without spaces (Han, kana, Thai, ...) have no boundaries to keep; an example with no
   * whole-word span keeps its best span. Default false (HF's postprocessing, which returns pieces).
   */
  wholeWords?: boolean;
}

export interface QaCandidate {
  text: string;
  /** Start logit + end logit. */
  score: number;
  /** Character span [start, end) in the context. */
  start: number;
  end: number;
  /** Softmax of the scores over the example's candidates. */
  probability: number;
}

export interface QaPrediction extends QaCandidate {
  id: string;
  /** The best candidates, best first (the prediction is the first). */
  nBest: QaCandidate[];
}

type Logits = ArrayLike<number>;

/**
 * One prediction per example, in example order. `startLogits[f]` and `endLogits[f]` are the
 * model's logits for `features[f]` (rows may be longer than the feature: batch padding is
 * ignored). An example without any valid span gets the empty answer '' at [0, 0) with score 0.
 */
export function postprocessQaPredictions(
  examples: QaExample[], features: QaFeature[], startLogits: Logits[], endLogits: Logits[], opts: QaPostprocessOptions = {},
): QaPrediction[] {
  const fn = 'postprocessQaPredictions';
  if (!Array.isArray(examples)) throw new TypeError(`${fn}: examples must be an array`);
  if (!Array.isArray(features)) throw new TypeError(`${fn}: features must be an array (from prepareQaFeatures)`);
  const nBest = checkInt(opts.nBest ?? 20, 'nBest', fn, 1);
  const maxAnswerLength = checkInt(opts.maxAnswerLength ?? 30, 'maxAnswerLength', fn, 1);
  for (const [name, rows] of [['startLogits', startLogits], ['endLogits', endLogits]] as const) {
    if (!Array.isArray(rows) || rows.length !== features.length) {
      throw new RangeError(`${fn}: ${name} must have one row per feature (${features.length}), got ${Array.isArray(rows) ? rows.length : typeof rows}`);
    }
  }
  examples.forEach((ex, i) => checkExample(ex, i, fn));

  // Each candidate notes whether it cuts a word (only looked at under wholeWords).
  const candidates: (Omit<QaCandidate, 'probability' | 'text'> & { cutsWord: boolean })[][] = examples.map(() => []);
  features.forEach((f, k) => {
    if (typeof f !== 'object' || f === null || !Number.isInteger(f.exampleIndex) || f.exampleIndex < 0 || f.exampleIndex >= examples.length) {
      throw new RangeError(`${fn}: features[${k}].exampleIndex must index examples (0..${examples.length - 1}), got ${f?.exampleIndex}`);
    }
    const example = examples[f.exampleIndex]!;
    if (f.exampleId !== example.id) {
      throw new RangeError(`${fn}: features[${k}] belongs to example ${JSON.stringify(f.exampleId)} but examples[${f.exampleIndex}] is ${JSON.stringify(example.id)} (features and examples do not match)`);
    }
    const offsets = f.offsets;
    const sl = checkRow(startLogits[k]!, offsets.length, `startLogits[${k}]`, fn);
    const el = checkRow(endLogits[k]!, offsets.length, `endLogits[${k}]`, fn);
    const found = candidates[f.exampleIndex]!;
    for (const s of topIndices(sl, nBest)) {
      for (const e of topIndices(el, nBest)) {
        // Rows longer than the feature are batch padding; non-context tokens have no offsets.
        const so = offsets[s];
        const eo = offsets[e];
        if (so === undefined || so === null || eo === undefined || eo === null) continue;
        if (e < s || e - s + 1 > maxAnswerLength) continue;
        const cutsWord = opts.wholeWords === true && (insideWord(example.context, so[0]) || insideWord(example.context, eo[1]));
        found.push({ start: so[0], end: eo[1], score: sl[s]! + el[e]!, cutsWord });
      }
    }
  });

  return examples.map((ex, i) => {
    // A stable sort: among equal scores, the earlier window and position win (as Python's sorted).
    const all = candidates[i]!;
    const whole = all.filter((c) => !c.cutsWord);
    const kept = (whole.length > 0 ? whole : all).sort((a, b) => descending(a.score, b.score)).slice(0, nBest)
      .map(({ start, end, score }) => ({ start, end, score }));
    if (kept.length === 0) kept.push({ start: 0, end: 0, score: 0 });
    const top = kept[0]!.score;
    const weights = kept.map((c) => Math.exp(c.score - top));
    const total = weights.reduce((a, b) => a + b, 0);
    const nBestList = kept.map((c, r) => ({ ...c, text: ex.context.slice(c.start, c.end), probability: weights[r]! / total }));
    return { id: ex.id, ...nBestList[0]!, nBest: nBestList };
  });
}

function checkRow(row: Logits, minLength: number, name: string, fn: string): Logits {
  if (row === null || typeof row !== 'object' || typeof row.length !== 'number') throw new TypeError(`${fn}: ${name} must be an array of numbers`);
  if (row.length < minLength) throw new RangeError(`${fn}: ${name} has ${row.length} logits but its feature has ${minLength} tokens`);
  for (let t = 0; t < row.length; t++) {
    if (typeof row[t] !== 'number' || Number.isNaN(row[t])) throw new RangeError(`${fn}: ${name}[${t}] is ${row[t]}, not a number`);
  }
  return row;
}

// Letters and digits of scripts that put spaces between words (not Han, kana, Thai, Lao, Khmer, Myanmar).
const wordChar = /(?![\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}])[\p{L}\p{N}]/u;
/** Whether a boundary at character `at` of `text` falls between two letters or digits of one word. */
function insideWord(text: string, at: number): boolean {
  return at > 0 && at < text.length && wordChar.test(text[at - 1]!) && wordChar.test(text[at]!);
}

/** Positions of the n largest values, largest first (ties: the lower position first). */
function topIndices(row: Logits, n: number): number[] {
  const idx = Array.from({ length: row.length }, (_, t) => t);
  idx.sort((a, b) => descending(row[a]!, row[b]!) || a - b);
  return idx.slice(0, n);
}

/** Comparator for a descending sort that stays consistent for infinite values. */
const descending = (a: number, b: number): number => (a > b ? -1 : a < b ? 1 : 0);

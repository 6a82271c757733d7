// Corpus BLEU exactly as sacreBLEU 2.x computes it (Papineni et al. 2002; Post 2018): n-gram
// counts clipped by the max count over a segment's references, summed over the corpus; brevity
// penalty from the reference length closest to each hypothesis (the shorter on a tie).

import { BLEU_TOKENIZERS, bleuTokenize, type BleuTokenizer } from './bleu_tokenizers.js';
import { checkStrings, keyTokens, ngramCounts, pyRstrip, pySplit, referenceLists, type Counter } from './text.js';

export type BleuSmoothing = 'exp' | 'none' | 'floor' | 'add-k';

export interface BleuOptions {
  /** '13a' (default, as sacreBLEU and WMT), 'intl', 'char' or 'none'. */
  tokenize?: BleuTokenizer;
  /** Lowercase hypotheses and references first (sacreBLEU -lc). */
  lowercase?: boolean;
  /** 'exp' (default; NIST geometric decay), 'none', 'floor' or 'add-k' (Chen & Cherry 2014). */
  smoothMethod?: BleuSmoothing;
  /** The value for 'floor' (default 0.1) and 'add-k' (default 1). */
  smoothValue?: number;
  /** Highest n-gram order (default 4). */
  maxNgramOrder?: number;
  /** Average only over the orders that have n-grams (use for sentence-level BLEU). */
  effectiveOrder?: boolean;
}

export interface BleuScore {
  /** BLEU in [0, 100]. */
  score: number;
  /** Matched n-grams per order (after add-k smoothing, as sacreBLEU reports them). */
  counts: number[];
  /** Hypothesis n-grams per order. */
  totals: number[];
  /** Per-order precisions in [0, 100]. */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Hypothesis tokens. */
  sysLen: number;
  /** Effective reference tokens. */
  refLen: number;
  /** sysLen / refLen (0 if refLen is 0). */
  ratio: number;
}

const SMOOTH_DEFAULTS: Record<BleuSmoothing, number | undefined> = { none: undefined, floor: 0.1, 'add-k': 1, exp: undefined };

// sacreBLEU's my_log: log, floored so that a zero precision gives a score of (almost exactly) 0.
const flooredLog = (x: number): number => (x === 0 ? -9999999999 : Math.log(x));

/**
 * BLEU from sufficient statistics (sacreBLEU's BLEU.compute_bleu). Exported so that statistics
 * gathered elsewhere (or over shards) can be scored; bleu() calls it.
 */
export function computeBleu(
  correct: readonly number[], total: readonly number[], sysLen: number, refLen: number,
  options: Pick<BleuOptions, 'smoothMethod' | 'smoothValue' | 'effectiveOrder' | 'maxNgramOrder'> = {},
): BleuScore {
  const method = options.smoothMethod ?? 'none';
  if (!(method in SMOOTH_DEFAULTS)) throw new Error(`computeBleu: unknown smoothMethod '${method}'; expected one of ${Object.keys(SMOOTH_DEFAULTS).join(', ')}`);
  const order = options.maxNgramOrder ?? 4;
  if (correct.length !== order || total.length !== order) {
    throw new Error(`computeBleu: counts and totals must have maxNgramOrder=${order} entries, got ${correct.length} and ${total.length}`);
  }
  const smoothValue = options.smoothValue ?? SMOOTH_DEFAULTS[method] ?? 0;
  const counts = [...correct], totals = [...total];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(order).fill(0);
  const ratio = refLen ? sysLen / refLen : 0;
  // No match at any order: 0, whatever the smoothing (sacreBLEU issue #141).
  if (!counts.some((c) => c !== 0)) return { score: 0, counts, totals, precisions, bp, sysLen, refLen, ratio };

  let mtevalSmooth = 1;
  let effOrder = order;
  for (let n = 1; n <= order; n++) {
    if (method === 'add-k' && n > 1) { counts[n - 1]! += smoothValue; totals[n - 1]! += smoothValue; }
    if (totals[n - 1] === 0) break;
    if (options.effectiveOrder) effOrder = n;
    if (counts[n - 1] === 0) {
      if (method === 'exp') { mtevalSmooth *= 2; precisions[n - 1] = 100 / (mtevalSmooth * totals[n - 1]!); }
      else if (method === 'floor') precisions[n - 1] = (100 * smoothValue) / totals[n - 1]!;
    } else {
      precisions[n - 1] = (100 * counts[n - 1]!) / totals[n - 1]!;
    }
  }
  let logSum = 0;
  for (let n = 0; n < effOrder; n++) logSum += flooredLog(precisions[n]!);
  const score = bp * Math.exp(logSum / effOrder);
  return { score, counts, totals, precisions, bp, sysLen, refLen, ratio };
}

/** Per order n = 1..maxOrder, the counts of the line's word n-grams (whitespace-split tokens). */
function wordNgrams(line: string, maxOrder: number): { ngrams: Counter[]; length: number } {
  const tokens = keyTokens(pySplit(line));
  const ngrams: Counter[] = [];
  for (let n = 1; n <= maxOrder; n++) ngrams.push(ngramCounts(tokens, n));
  return { ngrams, length: tokens.length };
}

function closestRefLength(hypLen: number, refLens: readonly number[]): number {
  let bestDiff = -1, best = -1;
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    if (bestDiff === -1 || diff < bestDiff) { bestDiff = diff; best = len; }
    else if (diff === bestDiff && len < best) best = len;
  }
  return best;
}

/**
 * Corpus BLEU of hyps against refs: refs[i] is the reference of hyps[i], or an array of its
 * references (any number per hypothesis). Defaults are sacreBLEU's: 13a tokenization, mixed
 * case, exp smoothing, 4-grams.
 */
export function bleu(hyps: readonly string[], refs: readonly string[] | readonly (readonly string[])[], options: BleuOptions = {}): BleuScore {
  checkStrings(hyps, 'hyps', 'bleu');
  if (hyps.length === 0) throw new Error('bleu: hyps is empty');
  const refLists = referenceLists(refs, hyps.length, 'bleu');
  const tokenizer = options.tokenize ?? '13a';
  if (!BLEU_TOKENIZERS.includes(tokenizer)) throw new Error(`bleu: unknown tokenize '${tokenizer}'; expected one of ${BLEU_TOKENIZERS.join(', ')}`);
  const order = options.maxNgramOrder ?? 4;
  if (!Number.isInteger(order) || order < 1) throw new Error(`bleu: maxNgramOrder must be a positive integer, got ${order}`);
  const smoothMethod = options.smoothMethod ?? 'exp';
  const prepare = (s: string): string => bleuTokenize(pyRstrip(options.lowercase ? s.toLowerCase() : s), tokenizer);

  const correct = new Array<number>(order).fill(0), total = new Array<number>(order).fill(0);
  let sysLen = 0, refLen = 0;
  for (let i = 0; i < hyps.length; i++) {
    // Reference n-gram counts: the max count of each n-gram over this segment's references.
    const refMax: Counter[] = Array.from({ length: order }, () => new Map());
    const refLens: number[] = [];
    for (const r of refLists[i]!) {
      const { ngrams, length } = wordNgrams(prepare(r), order);
      refLens.push(length);
      ngrams.forEach((counts, n) => {
        for (const [k, v] of counts) if (v > (refMax[n]!.get(k) ?? 0)) refMax[n]!.set(k, v);
      });
    }
    const hyp = wordNgrams(prepare(hyps[i]!), order);
    sysLen += hyp.length;
    refLen += closestRefLength(hyp.length, refLens);
    hyp.ngrams.forEach((counts, n) => {
      for (const [k, v] of counts) {
        total[n]! += v;
        const m = refMax[n]!.get(k);
        if (m !== undefined) correct[n]! += Math.min(v, m);
      }
    });
  }
  return computeBleu(correct, total, sysLen, refLen, { smoothMethod, smoothValue: options.smoothValue, effectiveOrder: options.effectiveOrder, maxNgramOrder: order });
}

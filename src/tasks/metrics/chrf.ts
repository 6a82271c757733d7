// chrF and chrF++ exactly as sacreBLEU 2.x computes them (Popović 2015, 2017): character n-gram
// (and optionally word n-gram) precision and recall, combined into an F-beta score. Statistics
// are summed over the corpus, each segment taking the reference that gives it the best F.

import { checkStrings, codePoints, countItems, keyTokens, ngramCounts, overlapCount, pySplit, referenceLists, totalCount, type Counter } from './text.js';

export interface ChrfOptions {
  /** Character n-gram order (default 6). */
  charOrder?: number;
  /** Word n-gram order (default 0; 2 gives chrF++). */
  wordOrder?: number;
  /** Recall weight (default 2). */
  beta?: number;
  /** Lowercase first (default false). */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams (default false: whitespace is removed). */
  whitespace?: boolean;
  /** chrF++.py / NLTK / Moses epsilon smoothing instead of sacreBLEU's effective order (default false). */
  epsSmoothing?: boolean;
}

export interface ChrfScore {
  /** chrF in [0, 100]. */
  score: number;
  charOrder: number;
  wordOrder: number;
  beta: number;
}

// string.punctuation, for the word n-grams' punctuation split.
const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** Character n-grams of orders 1..order over the code points (whitespace dropped unless kept). */
function charNgrams(line: string, order: number, whitespace: boolean): Counter[] {
  const text = whitespace ? line : pySplit(line).join('');
  const chars = codePoints(text);
  // Without surrogate pairs, code point i is text[i] and plain slicing is the same and faster.
  const gram = chars.length === text.length
    ? (i: number, n: number) => text.slice(i, i + n)
    : (i: number, n: number) => chars.slice(i, i + n).join('');
  const out: Counter[] = [];
  for (let n = 1; n <= order; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= chars.length; i++) grams.push(gram(i, n));
    out.push(countItems(grams));
  }
  return out;
}

/**
 * Words for chrF++: whitespace tokens with one leading or trailing ASCII punctuation mark split
 * off (trailing checked first, so '(hi)' gives '(hi' and ')', as in sacreBLEU, issue #124).
 */
function splitPunctuation(line: string): string[] {
  const words: string[] = [];
  for (const w of pySplit(line)) {
    const cps = codePoints(w);
    if (cps.length === 1) words.push(w);
    else if (PUNCTS.has(cps[cps.length - 1]!)) words.push(cps.slice(0, -1).join(''), cps[cps.length - 1]!);
    else if (PUNCTS.has(cps[0]!)) words.push(cps[0]!, cps.slice(1).join(''));
    else words.push(w);
  }
  return words;
}

function allNgrams(line: string, o: Required<ChrfOptions>): Counter[] {
  const grams = charNgrams(line, o.charOrder, o.whitespace);
  if (o.wordOrder > 0) {
    const words = keyTokens(splitPunctuation(line));
    for (let n = 1; n <= o.wordOrder; n++) grams.push(ngramCounts(words, n));
  }
  return grams;
}

/** [hyp count, ref count, matches] per order, flattened. */
function matchStats(hyp: Counter[], ref: Counter[]): number[] {
  const stats: number[] = [];
  for (let i = 0; i < hyp.length; i++) {
    const r = ref[i]!;
    // Hypothesis n-grams only count where the reference has n-grams of that order at all.
    stats.push(r.size > 0 ? totalCount(hyp[i]!) : 0, totalCount(r), overlapCount(hyp[i]!, r));
  }
  return stats;
}

function fScore(stats: readonly number[], o: Required<ChrfOptions>): number {
  const eps = 1e-16;
  const factor = o.beta ** 2;
  const orders = o.charOrder + o.wordOrder;
  let score = 0, avgPrec = 0, avgRec = 0, effective = 0;
  for (let i = 0; i < orders; i++) {
    const nHyp = stats[3 * i]!, nRef = stats[3 * i + 1]!, nMatch = stats[3 * i + 2]!;
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) { avgPrec += prec; avgRec += rec; effective++; }
  }
  if (o.epsSmoothing) return (100 * score) / orders;
  if (effective === 0) return 0;
  avgPrec /= effective;
  avgRec /= effective;
  if (avgPrec + avgRec === 0) return 0;
  let f = (1 + factor) * avgPrec * avgRec;
  f /= factor * avgPrec + avgRec;
  return 100 * f;
}

/**
 * Corpus chrF of hyps against refs (refs[i]: a reference string or an array of them). Defaults
 * are sacreBLEU's: charOrder 6, wordOrder 0, beta 2; { wordOrder: 2 } gives chrF++.
 */
export function chrf(hyps: readonly string[], refs: readonly string[] | readonly (readonly string[])[], options: ChrfOptions = {}): ChrfScore {
  checkStrings(hyps, 'hyps', 'chrf');
  if (hyps.length === 0) throw new Error('chrf: hyps is empty');
  const refLists = referenceLists(refs, hyps.length, 'chrf');
  const o: Required<ChrfOptions> = {
    charOrder: options.charOrder ?? 6, wordOrder: options.wordOrder ?? 0, beta: options.beta ?? 2,
    lowercase: options.lowercase ?? false, whitespace: options.whitespace ?? false, epsSmoothing: options.epsSmoothing ?? false,
  };
  if (!Number.isInteger(o.charOrder) || o.charOrder < 0) throw new Error(`chrf: charOrder must be a non-negative integer, got ${o.charOrder}`);
  if (!Number.isInteger(o.wordOrder) || o.wordOrder < 0) throw new Error(`chrf: wordOrder must be a non-negative integer, got ${o.wordOrder}`);
  if (o.charOrder + o.wordOrder === 0) throw new Error('chrf: charOrder + wordOrder must be at least 1');
  if (!(o.beta >= 0)) throw new Error(`chrf: beta must be a non-negative number, got ${o.beta}`);
  const prepare = (s: string): string => (o.lowercase ? s.toLowerCase() : s);

  const totals = new Array<number>(3 * (o.charOrder + o.wordOrder)).fill(0);
  for (let i = 0; i < hyps.length; i++) {
    const hyp = allNgrams(prepare(hyps[i]!), o);
    let best: number[] = [], bestF = -1;
    for (const r of refLists[i]!) {
      const stats = matchStats(hyp, allNgrams(prepare(r), o));
      const f = fScore(stats, o);
      if (f > bestF) { bestF = f; best = stats; }
    }
    best.forEach((v, k) => { totals[k]! += v; });
  }
  return { score: fScore(totals, o), charOrder: o.charOrder, wordOrder: o.wordOrder, beta: o.beta };
}

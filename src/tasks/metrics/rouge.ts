// ROUGE as Google's rouge-score package computes it (Lin 2004; the package replicates
// ROUGE-1.5.5 with -m when use_stemmer=True): rouge-N from clipped n-gram overlap, rougeL from
// the longest common subsequence, rougeLsum from the summary-level union LCS over sentences
// split on '\n'. Each is an F-measure per example; rouge() averages them.

import { porterStem } from './porter.js';
import { checkStrings, countItems, keyTokens, ngramCounts, overlapCount, referenceLists, totalCount } from './text.js';

export type RougeType = `rouge${number}` | 'rougeL' | 'rougeLsum';

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (default true, as the project's contract). */
  useStemmer?: boolean;
  /** Which scores to compute (default rouge1, rouge2, rougeL, rougeLsum). */
  rougeTypes?: readonly RougeType[];
}

export interface RougeTriple { precision: number; recall: number; fmeasure: number }

export interface RougeScores {
  rouge1: number;
  rouge2: number;
  rougeL: number;
  rougeLsum: number;
  [type: string]: number;
}

const DEFAULT_TYPES: readonly RougeType[] = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'];

/**
 * rouge-score's tokenizer: lowercase, every run of characters other than [a-z0-9] becomes a
 * space (so non-ASCII letters split words), split, stem the tokens longer than 3 characters.
 */
export function rougeTokenize(text: string, useStemmer = true): string[] {
  const tokens = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/).filter((t) => t.length > 0);
  return useStemmer ? tokens.map((t) => (t.length > 3 ? porterStem(t) : t)) : tokens;
}

function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function scoreNgrams(target: string[], prediction: string[], n: number): RougeTriple {
  const t = ngramCounts(keyTokens(target), n), p = ngramCounts(keyTokens(prediction), n);
  const overlap = overlapCount(t, p);
  const precision = overlap / Math.max(totalCount(p), 1);
  const recall = overlap / Math.max(totalCount(t), 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** The DP table of LCS lengths: table[i][j] = LCS of ref[:i] and can[:j]. */
function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array[] {
  const table = Array.from({ length: ref.length + 1 }, () => new Int32Array(can.length + 1));
  for (let i = 1; i <= ref.length; i++) {
    const row = table[i]!, up = table[i - 1]!;
    for (let j = 1; j <= can.length; j++) {
      row[j] = ref[i - 1] === can[j - 1] ? up[j - 1]! + 1 : Math.max(up[j]!, row[j - 1]!);
    }
  }
  return table;
}

function scoreLcs(target: string[], prediction: string[]): RougeTriple {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsTable(target, prediction)[target.length]![prediction.length]!;
  const precision = lcs / prediction.length, recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Indices into ref of one LCS with can, read back from the table as rouge-score does (ties move up). */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  const out: number[] = [];
  let i = ref.length, j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) { out.push(i - 1); i--; j--; }
    else if (t[i]![j - 1]! > t[i - 1]![j]!) j--;
    else i--;
  }
  return out.reverse();
}

/**
 * Summary-level LCS (ROUGE paper section 3.2): for each reference sentence, the union of its LCS
 * with every candidate sentence; hits are counted without using any token more often than it
 * occurs in either summary (as ROUGE-1.5.5 and rouge-score do).
 */
function scoreSummaryLcs(refSents: string[][], canSents: string[][]): RougeTriple {
  const zero = { precision: 0, recall: 0, fmeasure: 0 };
  if (refSents.length === 0 || canSents.length === 0) return zero;
  const m = refSents.reduce((a, s) => a + s.length, 0);
  const n = canSents.reduce((a, s) => a + s.length, 0);
  if (m === 0 || n === 0) return zero;
  const refLeft = countItems(refSents.flat()), canLeft = countItems(canSents.flat());
  let hits = 0;
  for (const r of refSents) {
    const union = new Set<number>();
    for (const c of canSents) for (const k of lcsIndices(r, c)) union.add(k);
    for (const k of [...union].sort((a, b) => a - b)) {
      const tok = r[k]!;
      if ((canLeft.get(tok) ?? 0) > 0 && (refLeft.get(tok) ?? 0) > 0) {
        hits++;
        canLeft.set(tok, canLeft.get(tok)! - 1);
        refLeft.set(tok, refLeft.get(tok)! - 1);
      }
    }
  }
  const recall = hits / m, precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

const sentences = (text: string): string[] => text.split('\n').filter((s) => s.length > 0);

/** rouge-score's RougeScorer(types, use_stemmer).score(target, prediction), for one pair. */
export function rougeScore(target: string, prediction: string, options: RougeOptions = {}): Record<string, RougeTriple> {
  const stem = options.useStemmer ?? true;
  const types = options.rougeTypes ?? DEFAULT_TYPES;
  const t = rougeTokenize(target, stem), p = rougeTokenize(prediction, stem);
  const out: Record<string, RougeTriple> = {};
  for (const type of types) {
    if (type === 'rougeL') out[type] = scoreLcs(t, p);
    else if (type === 'rougeLsum') {
      out[type] = scoreSummaryLcs(sentences(target).map((s) => rougeTokenize(s, stem)), sentences(prediction).map((s) => rougeTokenize(s, stem)));
    } else {
      const m = /^rouge([0-9])$/.exec(type);
      if (!m || m[1] === '0') throw new Error(`rouge: invalid rouge type '${type}'; expected rouge1..rouge9, rougeL or rougeLsum`);
      out[type] = scoreNgrams(t, p, Number(m[1]));
    }
  }
  return out;
}

/**
 * Mean F-measure per ROUGE type over examples, each in [0, 1]. refs[i] is the reference of
 * preds[i], or an array of references: then each type takes the reference with the best
 * F-measure (rouge-score's score_multi, as HF evaluate uses it).
 */
export function rouge(preds: readonly string[], refs: readonly string[] | readonly (readonly string[])[], options: RougeOptions = {}): RougeScores {
  checkStrings(preds, 'preds', 'rouge');
  if (preds.length === 0) throw new Error('rouge: preds is empty');
  const refLists = referenceLists(refs, preds.length, 'rouge', 'preds');
  const types = options.rougeTypes ?? DEFAULT_TYPES;
  if (types.length === 0) throw new Error('rouge: rougeTypes is empty');
  const sums: Record<string, number> = Object.fromEntries(types.map((t) => [t, 0]));
  for (let i = 0; i < preds.length; i++) {
    const perRef = refLists[i]!.map((r) => rougeScore(r, preds[i]!, options));
    for (const type of types) {
      // The first reference with the highest F-measure (np.argmax).
      let best = perRef[0]![type]!.fmeasure;
      for (const s of perRef) if (s[type]!.fmeasure > best) best = s[type]!.fmeasure;
      sums[type]! += best;
    }
  }
  const out: Record<string, number> = {};
  for (const type of types) out[type] = sums[type]! / preds.length;
  return out as RougeScores;
}

// SQuAD v1.1 exact match and F1, as the official evaluate-v1.1.py computes them: answers are
// normalized (lowercase, ASCII punctuation removed, articles a/an/the removed, whitespace
// collapsed), F1 is over bag-of-token overlap, and each prediction takes its best gold answer.

import { countItems, overlapCount, pyCollapseSpace, pySplit } from './text.js';

// Python's string.punctuation, removed character by character.
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// The script's re.sub(r'\b(a|an|the)\b', ' ', text). Python's \b is Unicode-aware (a word
// character is any letter, number or '_'), JavaScript's is ASCII-only, so spell it out.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** The official normalize_answer. */
export function normalizeAnswer(s: string): string {
  const lowered = s.toLowerCase();
  const noPunct = lowered.replace(PUNCTUATION, '');
  const noArticles = noPunct.replace(ARTICLES, ' ');
  return pyCollapseSpace(noArticles);
}

/** 1 if the normalized strings are equal, else 0 (exact_match_score). */
export function squadExact(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/** Token-overlap F1 in [0, 1] (f1_score); 0 when nothing overlaps, even if both are empty. */
export function squadF1(prediction: string, gold: string): number {
  const p = pySplit(normalizeAnswer(prediction));
  const g = pySplit(normalizeAnswer(gold));
  const same = overlapCount(countItems(p), countItems(g));
  if (same === 0) return 0;
  const precision = same / p.length, recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface SquadScore {
  /** Mean best exact match over examples, in [0, 100]. */
  exactMatch: number;
  /** Mean best F1 over examples, in [0, 100]. */
  f1: number;
}

/**
 * Corpus scores: preds[i] is the answer to question i, golds[i] its gold answers (at least one).
 * Each example scores max over its golds, as metric_max_over_ground_truths.
 */
export function squad(preds: readonly string[], golds: readonly (readonly string[])[]): SquadScore {
  if (!Array.isArray(preds)) throw new Error(`squad: preds must be an array of strings, got ${typeof preds}`);
  if (!Array.isArray(golds)) throw new Error(`squad: golds must be an array of string arrays, got ${typeof golds}`);
  if (preds.length !== golds.length) throw new Error(`squad: preds has ${preds.length} entries but golds has ${golds.length}`);
  if (preds.length === 0) throw new Error('squad: preds and golds are empty');
  let em = 0, f1 = 0;
  for (let i = 0; i < preds.length; i++) {
    const pred = preds[i], answers = golds[i];
    if (typeof pred !== 'string') throw new Error(`squad: preds[${i}] must be a string, got ${pred === null ? 'null' : typeof pred}`);
    if (!Array.isArray(answers) || answers.length === 0) {
      throw new Error(`squad: golds[${i}] must be a non-empty array of gold answer strings`);
    }
    let bestEm = 0, bestF1 = 0;
    for (let j = 0; j < answers.length; j++) {
      const gold = answers[j];
      if (typeof gold !== 'string') throw new Error(`squad: golds[${i}][${j}] must be a string, got ${gold === null ? 'null' : typeof gold}`);
      bestEm = Math.max(bestEm, squadExact(pred, gold));
      bestF1 = Math.max(bestF1, squadF1(pred, gold));
    }
    em += bestEm;
    f1 += bestF1;
  }
  return { exactMatch: (100 * em) / preds.length, f1: (100 * f1) / preds.length };
}

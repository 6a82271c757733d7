// Extractive question answering: the shapes shared by feature preparation and post-processing,
// and the checks that turn malformed examples into one-line errors.

import type { Offsets } from '../tokenizers/encoding.js';

/** One answer of a SQuAD example: its text and where it starts in the context (UTF-16 index). */
export interface QaAnswer {
  text: string;
  answerStart: number;
}

/**
 * A SQuAD-style example (one question about one context). `answers` absent: nothing to learn
 * from (prediction); an empty list: no answer in the context (labelled at [CLS], as SQuAD v2).
 */
export interface QaExample {
  id: string;
  question: string;
  context: string;
  answers?: QaAnswer[];
}

/** One window of one example, ready for a model (HF run_qa.py's features). */
export interface QaFeature {
  /** Index of the example in the list given to prepareQaFeatures. */
  exampleIndex: number;
  exampleId: string;
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
  /** Character span of each context token in the example's context; null for the question, specials and padding. */
  offsets: (Offsets | null)[];
  /** Training labels (examples with `answers`): token indices of the answer's first and last token, or 0 and 0 (the [CLS] position) when the answer is not wholly inside this window. */
  startPosition?: number;
  endPosition?: number;
}

/** An example whose context cannot be put in any window (the question leaves no room, or the context is empty). */
export class QaFeatureError extends Error {
  override name = 'QaFeatureError';
}

const describe = (v: unknown): string => v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? JSON.stringify(v.length > 30 ? v.slice(0, 30) + '…' : v) : typeof v === 'object' ? 'an object' : String(v);

/** Checks one example's fields; returns a name for it to use in later messages. */
export function checkExample(ex: unknown, i: number, fn: string): string {
  if (typeof ex !== 'object' || ex === null || Array.isArray(ex)) throw new TypeError(`${fn}: examples[${i}] must be an object { id, question, context, answers? }, got ${describe(ex)}`);
  const e = ex as Record<string, unknown>;
  const where = `${fn}: examples[${i}]`;
  if (typeof e.id !== 'string') throw new TypeError(`${where}.id must be a string, got ${describe(e.id)}`);
  const name = `${fn}: example ${JSON.stringify(e.id)} (index ${i})`;
  for (const key of ['question', 'context'] as const) {
    if (typeof e[key] !== 'string') throw new TypeError(`${name}: ${key} must be a string, got ${describe(e[key])}`);
  }
  if (e.answers === undefined) return name;
  if (!Array.isArray(e.answers)) throw new TypeError(`${name}: answers must be an array of { text, answerStart }, got ${describe(e.answers)}`);
  const context = e.context as string;
  e.answers.forEach((a: unknown, k) => {
    const ans = a as Record<string, unknown> | null;
    if (typeof ans !== 'object' || ans === null || typeof ans.text !== 'string' || typeof ans.answerStart !== 'number') {
      throw new TypeError(`${name}: answers[${k}] must be { text: string, answerStart: number }, got ${describe(a)}`);
    }
    if (ans.text.length === 0) throw new RangeError(`${name}: answers[${k}].text is empty`);
    const start = ans.answerStart;
    if (!Number.isInteger(start) || start < 0 || start + ans.text.length > context.length) {
      throw new RangeError(`${name}: answers[${k}].answerStart ${start} with text length ${ans.text.length} is outside the context (length ${context.length})`);
    }
    const found = context.slice(start, start + ans.text.length);
    if (found !== ans.text) {
      throw new RangeError(`${name}: answers[${k}] text ${describe(ans.text)} is not at answerStart ${start} (the context has ${describe(found)} there; answerStart counts UTF-16 units)`);
    }
  });
  return name;
}

/** A positive (or non-negative) integer option, else a one-line error naming it. */
export function checkInt(value: unknown, name: string, fn: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${fn}: ${name} must be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

// Examples → model features for extractive QA, as HF run_qa.py's prepare_train_features /
// prepare_validation_features: the question and a window of the context per feature, windows
// overlapping by docStride tokens, offsets kept for the context only, and (for training) the
// answer's token span, or the [CLS] position when the window does not hold the whole answer.

import type { Encoding } from '../tokenizers/encoding.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { checkExample, checkInt, QaFeatureError, type QaAnswer, type QaExample, type QaFeature } from './qa_types.js';

export interface QaFeatureOptions {
  /** Tokens per feature, question and special tokens included. Default 384. */
  maxLength?: number;
  /** Context tokens shared by consecutive windows of one example (HF doc_stride). Default 128. */
  docStride?: number;
  /** Pad every feature to maxLength (attention 0, offsets null). Default false: a collator pads each batch. */
  padToMaxLength?: boolean;
  /**
   * Token type for context tokens that also occur in the question (default: none, HF's 0/1 segments).
   * An exact-match signal, as DrQA's feature: it shows a small model trained on a few thousand
   * questions where the question's words are, which it would otherwise have to learn to find. Models
   * trained with it record it in their config (question_match_type_id).
   */
  questionMatchTypeId?: number;
}

/** The question-match token type a model was trained with (its config's question_match_type_id), if any. */
export function questionMatchTypeOf(config: object): number | undefined {
  const id = (config as { question_match_type_id?: unknown }).question_match_type_id;
  return typeof id === 'number' ? id : undefined;
}

/**
 * One feature per window of each example, in example order. Examples with `answers` get
 * startPosition / endPosition (their first answer; an empty list labels [CLS]). The [CLS]
 * position is token 0, as in run_qa.py when the tokenizer puts [CLS] first (for a template
 * without specials, such as GPT-2's, token 0 is the question's first token).
 * Throws QaFeatureError for an example whose context fits in no window.
 */
export function prepareQaFeatures(tokenizer: Tokenizer, examples: QaExample[], opts: QaFeatureOptions = {}): QaFeature[] {
  const fn = 'prepareQaFeatures';
  if (!Array.isArray(examples)) throw new TypeError(`${fn}: examples must be an array of { id, question, context, answers? }`);
  const maxLength = checkInt(opts.maxLength ?? 384, 'maxLength', fn, 1);
  const docStride = checkInt(opts.docStride ?? 128, 'docStride', fn, 0);
  const matchId = opts.questionMatchTypeId === undefined ? undefined : checkInt(opts.questionMatchTypeId, 'questionMatchTypeId', fn, 0);
  const features: QaFeature[] = [];
  examples.forEach((ex, i) => {
    const name = checkExample(ex, i, fn);
    // run_qa.py strips the question's leading whitespace: some SQuAD questions start with
    // many spaces, which would only take room from the context.
    const question = ex.question.trimStart();
    let enc: Encoding;
    try {
      enc = tokenizer.encode(question, {
        pair: ex.context, truncation: { maxLength, stride: docStride, strategy: 'only_second' },
        padding: opts.padToMaxLength === true ? { strategy: 'max_length', length: maxLength } : false,
      });
    } catch (err) {
      if (!(err instanceof RangeError && err.message.startsWith('truncation:'))) throw err;
      throw new QaFeatureError(`${name}: ${noRoom(tokenizer, question, maxLength, docStride)}`);
    }
    for (const window of [enc, ...enc.overflowing]) {
      if (!window.sequenceIds.includes(1)) throw new QaFeatureError(`${name}: the context has no tokens (context ${JSON.stringify(ex.context.slice(0, 30))})`);
      features.push(featureOf(window, i, ex, matchId));
    }
  });
  return features;
}

/** Why the context fits in no window: the question leaves no room, or less room than the stride. */
function noRoom(tokenizer: Tokenizer, question: string, maxLength: number, docStride: number): string {
  const questionTokens = tokenizer.encodeIds(question, { addSpecialTokens: false, truncation: false, padding: false }).length;
  const specials = tokenizer.postProcessor?.addedTokens(true) ?? 0;
  const room = maxLength - questionTokens - specials;
  const budget = `maxLength ${maxLength} - ${questionTokens} question tokens - ${specials} special tokens`;
  return room <= 0
    ? `no window holds any of the context: ${budget} leaves no room for it`
    : `no window holds the context: ${budget} leaves ${room} context tokens a window, which docStride ${docStride} must be smaller than`;
}

function featureOf(w: Encoding, exampleIndex: number, ex: QaExample, matchId: number | undefined): QaFeature {
  const feature: QaFeature = {
    exampleIndex, exampleId: ex.id, inputIds: w.ids, tokenTypeIds: matchId === undefined ? w.typeIds : matchTypes(w, matchId), attentionMask: w.attentionMask,
    offsets: w.offsets.map((o, t) => w.sequenceIds[t] === 1 ? [o[0], o[1]] : null),
  };
  if (ex.answers !== undefined) {
    const [start, end] = ex.answers.length === 0 ? [0, 0] : answerTokens(w, ex.answers[0]!);
    feature.startPosition = start;
    feature.endPosition = end;
  }
  return feature;
}

/** The window's token types with matchId on each context token whose id also occurs in the question. */
function matchTypes(w: Encoding, matchId: number): number[] {
  const question = new Set<number>();
  w.sequenceIds.forEach((s, t) => { if (s === 0) question.add(w.ids[t]!); });
  return w.typeIds.map((type, t) => w.sequenceIds[t] === 1 && question.has(w.ids[t]!) ? matchId : type);
}

/** Token indices of the answer's first and last token in this window, or [0, 0] if it is not wholly inside. */
function answerTokens(w: Encoding, answer: QaAnswer): [number, number] {
  const startChar = answer.answerStart;
  const endChar = startChar + answer.text.length;
  const context: number[] = [];
  w.sequenceIds.forEach((s, t) => { if (s === 1) context.push(t); });
  const first = context[0]!;
  const last = context[context.length - 1]!;
  if (!(w.offsets[first]![0] <= startChar && w.offsets[last]![1] >= endChar)) return [0, 0];
  // The last token starting at or before the answer, the first ending at or after it: the tokens
  // that hold its first and last characters (offsets grow along the context).
  let start = first;
  for (const t of context) if (w.offsets[t]![0] <= startChar) start = t;
  let end = last;
  for (let k = context.length - 1; k >= 0; k--) if (w.offsets[context[k]!]![1] >= endChar) end = context[k]!;
  return [start, end];
}

// Cloze questions from unlabelled paragraphs: label-free pretraining data for extractive QA
// (Dhingra et al. 2018, "Simple and Effective Semi-Supervised Question Answering"; the recurring
// spans of Splinter, Ram et al. 2021). Take one sentence out of a paragraph; a span of it that
// also occurs in the rest of the paragraph becomes the blank of a question ("In what year was the
// stadium opened?" from "The stadium opened in 1998."), and its occurrence in the rest is the
// answer. A reader trained on these learns what SQuAD asks of it, to find the passage words that
// match a question's context and return the span beside them, from text alone.

import { Generator } from '../tensor/random.js';
import type { QaExample } from './qa_types.js';
import { STOPWORDS } from './stopwords.js';

export interface ClozeQaOptions {
  /** Words in a blank at most (default 3). */
  maxWords?: number;
  /** Blanks per sentence at most, each its own question (default 1). */
  perSentence?: number;
  /** Sentences shorter than this many words give no question (default 6). */
  minSentenceWords?: number;
  /** Nor do longer ones, or ones of more characters: a question must leave a reader's window room for the context (default 40, 240). */
  maxSentenceWords?: number;
  maxSentenceChars?: number;
  /** Seed of the choice among a sentence's spans (default 0). */
  seed?: number;
}

const WORD = /[\p{L}\p{N}]+(?:['’.\-][\p{L}\p{N}]+)*/gu;
// A sentence ends at . ! or ? (and closing quotes or brackets) before whitespace and a capital, a digit or a quote.
const SENTENCE_END = /[.!?]["'’”)\]]*\s+(?=["'“‘(]?[\p{Lu}\p{N}])/gu;

interface Span { start: number; end: number }
interface Word extends Span { text: string }

function sentencesOf(text: string): Span[] {
  const spans: Span[] = [];
  let start = 0;
  for (const m of text.matchAll(SENTENCE_END)) {
    const end = m.index + m[0].trimEnd().length;
    // "Dr. Smith", "U.S. Army": a one- or two-letter word before the period ends no sentence.
    if (/(?:^|\s)[\p{L}]{1,2}\.$/u.test(text.slice(start, end))) continue;
    spans.push({ start, end });
    start = m.index + m[0].length;
  }
  if (text.slice(start).trim() !== '') spans.push({ start, end: text.trimEnd().length });
  return spans;
}

function wordsOf(text: string, offset = 0): Word[] {
  return [...text.matchAll(WORD)].map((m) => ({ text: m[0], start: offset + m.index, end: offset + m.index + m[0].length }));
}

const capital = (w: Word | undefined) => w !== undefined && /^\p{Lu}/u.test(w.text);
const isContent = (w: string) => !STOPWORDS.has(w.toLowerCase()) && (w.length >= 3 || /\p{N}/u.test(w));

/** Where `needle` occurs in `hay` as whole words (no letter or digit on either side), or -1. */
function wholeWordIndex(hay: string, needle: string): number {
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) {
    const before = hay[i - 1] ?? ' ', after = hay[i + needle.length] ?? ' ';
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return i;
  }
  return -1;
}

/** The question word for a blank: when for a year, what otherwise. */
const questionWord = (span: string) => (/^(1[0-9]|20)\d\d$/.test(span) ? 'when' : 'what');

/**
 * Cloze questions from paragraphs, in paragraph and sentence order. Each sentence of
 * minSentenceWords to maxSentenceWords words (and at most maxSentenceChars characters) gives up to
 * perSentence questions: the sentence with a blank (a span of 1 to maxWords words, starting and
 * ending with a content word, that also occurs as whole words in the rest of the paragraph; the
 * longest such spans first, names and numbers before other words) replaced by a question word; the
 * context is the paragraph without that sentence; the answer is the span's first occurrence there.
 */
export function clozeQaExamples(paragraphs: readonly string[], opts: ClozeQaOptions = {}): QaExample[] {
  const maxWords = opts.maxWords ?? 3, perSentence = opts.perSentence ?? 1;
  const minSentenceWords = opts.minSentenceWords ?? 6, maxSentenceWords = opts.maxSentenceWords ?? 40, maxSentenceChars = opts.maxSentenceChars ?? 240;
  for (const [k, v] of Object.entries({ maxWords, perSentence, minSentenceWords, maxSentenceWords, maxSentenceChars })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`clozeQaExamples: ${k} must be a positive integer, got ${v}`);
  }
  const g = new Generator(opts.seed ?? 0);
  const out: QaExample[] = [];
  paragraphs.forEach((text, p) => {
    const sentences = sentencesOf(text);
    if (sentences.length < 2) return;
    sentences.forEach((s, si) => {
      const words = wordsOf(text.slice(s.start, s.end), s.start);
      if (words.length < minSentenceWords || words.length > maxSentenceWords || s.end - s.start > maxSentenceChars) return;
      const before = text.slice(0, s.start).trimEnd(), after = text.slice(s.end).trimStart();
      const context = before && after ? `${before} ${after}` : before || after;
      const found: { span: Span; answerStart: number; words: number; named: boolean }[] = [];
      for (let i = 0; i < words.length; i++) {
        for (let n = Math.min(maxWords, words.length - i); n >= 1; n--) {
          const first = words[i]!, last = words[i + n - 1]!;
          if (!isContent(first.text) || !isContent(last.text)) continue;
          // A blank does not cut a name: "National Football" of "National Football League" is no span.
          if ((capital(first) && i > 0 && capital(words[i - 1])) || (capital(last) && capital(words[i + n]))) continue;
          const span = text.slice(first.start, last.end);
          const at = wholeWordIndex(context, span);
          if (at < 0) continue;
          // Names and numbers: a capital past the sentence's first word, or a digit.
          const named = words.slice(i, i + n).some((w, j) => (i + j > 0 && capital(w)) || /\p{N}/u.test(w.text));
          found.push({ span: { start: first.start, end: last.end }, answerStart: at, words: n, named });
          break; // the longest span from this word; shorter ones are inside it
        }
      }
      // Spans inside a longer one are dropped ("Bowl" inside "Super Bowl").
      const maximal = found.filter((a) => !found.some((b) => b !== a && b.span.start <= a.span.start && b.span.end >= a.span.end));
      const rank = (c: (typeof maximal)[number]) => (c.named ? 10 : 0) + c.words;
      const pool = [...maximal];
      for (let q = 0; q < perSentence && pool.length > 0; q++) {
        const top = Math.max(...pool.map(rank));
        const best = pool.filter((c) => rank(c) === top);
        const pick = best[g.int(0, best.length)]!;
        pool.splice(pool.indexOf(pick), 1);
        const answer = text.slice(pick.span.start, pick.span.end);
        const question = `${text.slice(s.start, pick.span.start)}${questionWord(answer)}${text.slice(pick.span.end, s.end)}`.replace(/[.!]?["'’”)\]]*$/u, '?');
        out.push({ id: `cloze-${p}-${si}-${q}`, question, context, answers: [{ text: answer, answerStart: pick.answerStart }] });
      }
    });
  });
  return out;
}

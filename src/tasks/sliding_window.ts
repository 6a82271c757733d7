// The sliding-window baseline of the SQuAD paper (Rajpurkar et al. 2016, section 5), which
// selects among candidate answer spans with the sliding window + distance scorer (SW+D) of
// MCTest (Richardson et al. 2013, section 4.1). No learning: word statistics of one paragraph.
//
// The variant implemented here:
// 1. Candidates. The paper takes the constituents of a parse; with no parser we take every span
//    of 1..maxWords (default 2) words inside one sentence that starts and ends with a
//    non-stopword (inner punctuation allowed, e.g. "Clara, California"), and drop spans whose
//    content words all occur in the question (the answer is what the question does not say).
// 2. Filter, as the paper: for each candidate, the unigram (content words) + bigram overlap
//    between the question and the candidate's sentence with the candidate's own words left out;
//    keep the candidates with the maximal overlap.
// 3. Score, as MCTest SW+D, with the candidate as the hypothesis answer A and question Q:
//    - SW: S = words(A) ∪ words(Q); slide a window of |S| words over the paragraph P and take
//      the best Σ IC(w) over window words w in S, with IC(w) = log(1 + 1/count_P(w)).
//    - D: with S_Q = content words of Q found in P and S_A = content words of A found in P but
//      not in Q, D = min over q ∈ S_Q, a ∈ S_A of the word distance between an occurrence of q
//      and one of a, divided by |P| - 1; D = 1 when S_Q or S_A is empty.
//    - score = SW − D. Ties go to the shorter span, then the earlier one.
// Words are compared lowercased, without stemming.

import { STOPWORDS } from './stopwords.js';

// Words (letters/digits, with inner apostrophes, periods or hyphens) or single other characters.
const TOKEN = /[\p{L}\p{N}]+(?:['’.\-][\p{L}\p{N}]+)*|\S/gu;
const IS_WORD = /^[\p{L}\p{N}]/u;

interface Token { text: string; lower: string; start: number; end: number; isWord: boolean; sentence: number }

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let sentence = 0;
  for (const m of text.matchAll(TOKEN)) {
    const t = m[0];
    tokens.push({ text: t, lower: t.toLowerCase(), start: m.index!, end: m.index! + t.length, isWord: IS_WORD.test(t), sentence });
    // A sentence ends at . ! or ? followed by a capital, a digit or a quote (or the end).
    if (t === '.' || t === '!' || t === '?') {
      const rest = text.slice(m.index! + 1).trimStart();
      if (rest === '' || /^["'“‘(\[\p{Lu}\p{N}]/u.test(rest)) sentence++;
    }
  }
  return tokens;
}

const words = (tokens: readonly Token[]): string[] => tokens.filter((t) => t.isWord).map((t) => t.lower);
const isContent = (w: string): boolean => !STOPWORDS.has(w);

interface Candidate { first: number; last: number; words: string[] }

/** Sentence overlap with the question, leaving out the candidate's tokens (step 2). */
function sentenceOverlap(sentence: readonly Token[], first: number, last: number, qUnigrams: Set<string>, qBigrams: Set<string>): number {
  const kept = sentence.filter((t, k) => t.isWord && (k < first || k > last));
  let overlap = 0;
  for (const w of new Set(kept.map((t) => t.lower))) if (isContent(w) && qUnigrams.has(w)) overlap++;
  const bigrams = new Set<string>();
  for (let k = 0; k + 1 < kept.length; k++) bigrams.add(`${kept[k]!.lower} ${kept[k + 1]!.lower}`);
  for (const b of bigrams) if (qBigrams.has(b)) overlap++;
  return overlap;
}

export interface SlidingWindowOptions {
  /**
   * The longest candidate span, in words (default 2). SW rewards every rare word of a candidate,
   * so longer limits pick longer, worse-bounded spans: on the 38 train articles of the v1.1 dev
   * split, maxWords 1/2/3/5 gave EM 9.0/11.0/8.2/5.1 and F1 15.2/21.6/21.9/21.2.
   */
  maxWords?: number;
}

/** The answer span (text copied from the context) the sliding-window baseline picks. */
export function slidingWindowBaseline(context: string, question: string, options: SlidingWindowOptions = {}): string {
  if (typeof context !== 'string' || typeof question !== 'string') throw new Error('slidingWindowBaseline: context and question must be strings');
  const maxWords = options.maxWords ?? 2;
  if (!Number.isInteger(maxWords) || maxWords < 1) throw new Error(`slidingWindowBaseline: maxWords must be a positive integer, got ${maxWords}`);
  const tokens = tokenize(context);
  const passage = words(tokens);
  if (passage.length === 0) return '';
  const qWords = words(tokenize(question));
  const qSet = new Set(qWords);
  const qContent = new Set(qWords.filter(isContent));
  const qBigrams = new Set<string>();
  for (let k = 0; k + 1 < qWords.length; k++) qBigrams.add(`${qWords[k]} ${qWords[k + 1]}`);

  // Steps 1 and 2: candidate spans per sentence, keeping those of maximal sentence overlap.
  const sentences: Token[][] = [];
  for (const t of tokens) (sentences[t.sentence] ??= []).push(t);
  let best: Candidate[] = [], bestOverlap = -1;
  let offset = 0;
  for (const sent of sentences) {
    if (!sent) continue;
    for (let i = 0; i < sent.length; i++) {
      if (!sent[i]!.isWord || !isContent(sent[i]!.lower)) continue;
      let count = 0;
      for (let j = i; j < sent.length && count < maxWords; j++) {
        if (!sent[j]!.isWord) continue;
        count++;
        if (!isContent(sent[j]!.lower)) continue;
        const span = words(sent.slice(i, j + 1));
        if (span.filter(isContent).every((w) => qSet.has(w))) continue;
        const overlap = sentenceOverlap(sent, i, j, qContent, qBigrams);
        if (overlap < bestOverlap) continue;
        if (overlap > bestOverlap) { bestOverlap = overlap; best = []; }
        best.push({ first: offset + i, last: offset + j, words: span });
      }
    }
    offset += sent.length;
  }
  if (best.length === 0) return '';

  // Step 3: SW + D over the paragraph's words.
  const counts = new Map<string, number>();
  const positions = new Map<string, number[]>();
  passage.forEach((w, k) => { counts.set(w, (counts.get(w) ?? 0) + 1); (positions.get(w) ?? positions.set(w, []).get(w)!).push(k); });
  const ic = (w: string): number => Math.log(1 + 1 / counts.get(w)!);
  const questionInPassage = [...qContent].filter((w) => counts.has(w));

  const slidingWindow = (target: Set<string>): number => {
    const size = target.size;
    const weight = passage.map((w) => (target.has(w) ? ic(w) : 0));
    let sum = 0, bestSum = 0;
    for (let k = 0; k < Math.min(size, weight.length); k++) sum += weight[k]!;
    bestSum = sum;
    // Windows may run past the end (MCTest's sum over P_{j+w} simply has fewer terms there).
    for (let j = 1; j < weight.length; j++) {
      sum -= weight[j - 1]!;
      if (j + size - 1 < weight.length) sum += weight[j + size - 1]!;
      bestSum = Math.max(bestSum, sum);
    }
    return bestSum;
  };
  const distance = (answer: readonly string[]): number => {
    const aWords = [...new Set(answer)].filter((w) => isContent(w) && counts.has(w) && !qSet.has(w));
    if (questionInPassage.length === 0 || aWords.length === 0 || passage.length < 2) return 1;
    let min = Infinity;
    for (const q of questionInPassage) for (const a of aWords) {
      for (const i of positions.get(q)!) for (const j of positions.get(a)!) min = Math.min(min, Math.abs(i - j));
    }
    return min / (passage.length - 1);
  };

  let answer: Candidate | undefined, answerScore = -Infinity;
  for (const c of best) {
    const score = slidingWindow(new Set([...c.words, ...qWords])) - distance(c.words);
    if (score > answerScore || (score === answerScore && c.words.length < answer!.words.length)) { answer = c; answerScore = score; }
  }
  return context.slice(tokens[answer!.first]!.start, tokens[answer!.last]!.end);
}

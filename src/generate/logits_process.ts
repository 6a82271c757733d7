// Logits processors and warpers, as HF transformers' generation/logits_process.py: each edits the
// next-token scores of every row in place, before a token is picked.
//
// Scores live on the host as one Float32Array per row (batch × beams): a step reads the last
// position's logits off the device once, and from there on everything here is a loop over at most
// vocab-size numbers, cheaper than any kernel launch. A removed token gets -Infinity, as in HF.

/** The tokens of one row so far: its prompt (without padding) followed by what was generated. */
export type TokenRows = readonly (readonly number[])[];

export interface LogitsProcessor {
  /** Edits scores[r] (vocab-sized) in place for each row r of inputIds. */
  process(inputIds: TokenRows, scores: Float32Array[]): void;
}

/** Applies processors in order (HF LogitsProcessorList). */
export class LogitsProcessorList implements LogitsProcessor {
  constructor(readonly processors: LogitsProcessor[] = []) {}
  push(p: LogitsProcessor): this { this.processors.push(p); return this; }
  get length(): number { return this.processors.length; }
  process(inputIds: TokenRows, scores: Float32Array[]): void {
    for (const p of this.processors) p.process(inputIds, scores);
  }
}

function checkRows(name: string, inputIds: TokenRows, scores: Float32Array[]): void {
  if (inputIds.length !== scores.length) throw new Error(`${name}: ${inputIds.length} token rows but ${scores.length} score rows`);
}

/** Divides the scores by temperature: < 1 sharpens the distribution, > 1 flattens it. */
export class TemperatureLogitsWarper implements LogitsProcessor {
  constructor(readonly temperature: number) {
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new Error(`temperature must be a positive number, got ${temperature} (for greedy decoding use doSample: false)`);
    }
  }
  process(_inputIds: TokenRows, scores: Float32Array[]): void {
    if (this.temperature === 1) return;
    const inv = 1 / this.temperature;
    for (const row of scores) for (let i = 0; i < row.length; i++) row[i]! *= inv;
  }
}

/** The k-th largest value of xs (1-based k), by quickselect on a copy: O(n), no full sort. */
export function kthLargest(xs: Float32Array, k: number): number {
  if (k < 1 || k > xs.length) throw new Error(`kthLargest: k=${k} outside 1..${xs.length}`);
  const a = Float32Array.from(xs);
  const target = a.length - k; // index in ascending order
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    // Median of three keeps already-sorted rows from going quadratic.
    const mid = (lo + hi) >>> 1;
    const p = median3(a[lo]!, a[mid]!, a[hi]!);
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < p) i++;
      while (a[j]! > p) j--;
      if (i <= j) { const t = a[i]!; a[i] = a[j]!; a[j] = t; i++; j--; }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}

function median3(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
}

/**
 * Keeps the topK highest scores of each row and sets the rest to -Infinity. As in HF, tokens that
 * tie with the k-th score are kept too (the filter is `score < kth`).
 */
export class TopKLogitsWarper implements LogitsProcessor {
  constructor(readonly topK: number, readonly minTokensToKeep = 1) {
    if (!Number.isInteger(topK) || topK <= 0) throw new Error(`topK must be a positive integer, got ${topK}`);
  }
  process(_inputIds: TokenRows, scores: Float32Array[]): void {
    for (const row of scores) {
      const k = Math.min(Math.max(this.topK, this.minTokensToKeep), row.length);
      if (k === row.length) continue;
      const kth = kthLargest(row, k);
      for (let i = 0; i < row.length; i++) if (row[i]! < kth) row[i] = -Infinity;
    }
  }
}

/** softmax of one row in float64 (a removed -Infinity score gets probability 0). */
export function softmaxRow(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  const p = new Float64Array(row.length);
  if (max === -Infinity) return p;
  let sum = 0;
  for (let i = 0; i < row.length; i++) { const e = Math.exp(row[i]! - max); p[i] = e; sum += e; }
  for (let i = 0; i < p.length; i++) p[i]! /= sum;
  return p;
}

/**
 * Nucleus sampling: keeps the smallest set of most likely tokens whose probability mass is at least
 * topP, always at least minTokensToKeep (so always the most likely token), and removes the rest.
 * Among tokens tied at the boundary, the lower token ids are kept.
 */
export class TopPLogitsWarper implements LogitsProcessor {
  constructor(readonly topP: number, readonly minTokensToKeep = 1) {
    if (!(topP >= 0 && topP <= 1)) throw new Error(`topP must be in [0, 1], got ${topP}`);
  }
  process(_inputIds: TokenRows, scores: Float32Array[]): void {
    if (this.topP >= 1) return;
    for (const row of scores) {
      const p = softmaxRow(row);
      // Sorting the probabilities alone (a native numeric sort, no comparator) finds the threshold:
      // walk them in descending order until the mass reaches topP.
      const sorted = Float64Array.from(p).sort().reverse();
      let cum = 0, j = 0;
      const need = Math.min(this.minTokensToKeep, row.length);
      for (; j < sorted.length; j++) {
        cum += sorted[j]!;
        if (j + 1 >= need && cum >= this.topP) break;
      }
      if (j >= sorted.length) j = sorted.length - 1; // rounding left the mass just under topP: keep all
      const threshold = sorted[j]!;
      // Tokens above the threshold stay; of those equal to it, only as many as the walk took.
      let ties = 0;
      for (let i = 0; i <= j; i++) if (sorted[i] === threshold) ties++;
      for (let i = 0; i < row.length; i++) {
        if (p[i]! > threshold) continue;
        if (p[i] === threshold && ties > 0) { ties--; continue; }
        row[i] = -Infinity;
      }
    }
  }
}

/**
 * CTRL's repetition penalty (HF semantics): for every distinct token already in the row (prompt
 * included), a positive score is divided by the penalty and a negative one multiplied by it, so a
 * penalty > 1 always makes the token less likely.
 */
export class RepetitionPenaltyLogitsProcessor implements LogitsProcessor {
  constructor(readonly penalty: number) {
    if (!(penalty > 0) || !Number.isFinite(penalty)) throw new Error(`repetitionPenalty must be a positive number, got ${penalty}`);
  }
  process(inputIds: TokenRows, scores: Float32Array[]): void {
    checkRows('RepetitionPenaltyLogitsProcessor', inputIds, scores);
    if (this.penalty === 1) return;
    for (let r = 0; r < scores.length; r++) {
      const row = scores[r]!;
      for (const t of new Set(inputIds[r])) {
        if (t < 0 || t >= row.length) continue;
        const s = row[t]!;
        row[t] = s < 0 ? s * this.penalty : s / this.penalty;
      }
    }
  }
}

/** The tokens that would complete an n-gram already present in ids (HF _get_generated_ngrams). */
export function bannedNgramTokens(ids: readonly number[], n: number): number[] {
  if (ids.length + 1 < n) return [];
  const start = ids.length - n + 1; // the last n-1 tokens form the prefix to match
  const banned: number[] = [];
  for (let i = 0; i + n <= ids.length; i++) {
    let match = true;
    for (let j = 0; j < n - 1; j++) if (ids[i + j] !== ids[start + j]) { match = false; break; }
    if (match) banned.push(ids[i + n - 1]!);
  }
  return banned;
}

/** Forbids any n-gram of size n from occurring twice in a row (prompt included), as HF. */
export class NoRepeatNGramLogitsProcessor implements LogitsProcessor {
  constructor(readonly ngramSize: number) {
    if (!Number.isInteger(ngramSize) || ngramSize <= 0) throw new Error(`noRepeatNgramSize must be a positive integer, got ${ngramSize}`);
  }
  process(inputIds: TokenRows, scores: Float32Array[]): void {
    checkRows('NoRepeatNGramLogitsProcessor', inputIds, scores);
    for (let r = 0; r < scores.length; r++) {
      for (const t of bannedNgramTokens(inputIds[r]!, this.ngramSize)) scores[r]![t] = -Infinity;
    }
  }
}

function setEos(row: Float32Array, eos: readonly number[], value: number): void {
  for (const e of eos) if (e >= 0 && e < row.length) row[e] = value;
}

/** Forbids EOS while a row (prompt included) is shorter than minLength. */
export class MinLengthLogitsProcessor implements LogitsProcessor {
  constructor(readonly minLength: number, readonly eosTokenId: readonly number[]) {}
  process(inputIds: TokenRows, scores: Float32Array[]): void {
    checkRows('MinLengthLogitsProcessor', inputIds, scores);
    for (let r = 0; r < scores.length; r++) if (inputIds[r]!.length < this.minLength) setEos(scores[r]!, this.eosTokenId, -Infinity);
  }
}

/** Forbids EOS until a row has minNewTokens generated tokens; promptLengths[r] is row r's prompt length. */
export class MinNewTokensLengthLogitsProcessor implements LogitsProcessor {
  constructor(readonly promptLengths: readonly number[], readonly minNewTokens: number, readonly eosTokenId: readonly number[]) {}
  process(inputIds: TokenRows, scores: Float32Array[]): void {
    checkRows('MinNewTokensLengthLogitsProcessor', inputIds, scores);
    for (let r = 0; r < scores.length; r++) {
      if (inputIds[r]!.length - this.promptLengths[r]! < this.minNewTokens) setEos(scores[r]!, this.eosTokenId, -Infinity);
    }
  }
}

/** Sets the given token ids to -Infinity in every row (HF SuppressTokensLogitsProcessor). */
export class SuppressTokensLogitsProcessor implements LogitsProcessor {
  constructor(readonly tokenIds: readonly number[]) {}
  process(_inputIds: TokenRows, scores: Float32Array[]): void {
    for (const row of scores) setEos(row, this.tokenIds, -Infinity);
  }
}

/** Forces `tokenId` as the first generated token (seq2seq models such as BART), as HF ForcedBOS. */
export class ForcedBOSTokenLogitsProcessor implements LogitsProcessor {
  constructor(readonly promptLengths: readonly number[], readonly tokenId: number) {}
  process(inputIds: TokenRows, scores: Float32Array[]): void {
    for (let r = 0; r < scores.length; r++) {
      if (inputIds[r]!.length !== this.promptLengths[r]) continue;
      const row = scores[r]!;
      row.fill(-Infinity);
      row[this.tokenId] = 0;
    }
  }
}

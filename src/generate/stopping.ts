// Stopping criteria, as HF transformers' generation/stopping_criteria.py: after each step, each
// criterion says which rows are finished. A row stops when any criterion says so.

import type { TokenRows } from './logits_process.js';
import type { TokenDecoder } from './streamers.js';

export interface StoppingCriteria {
  /**
   * For each row of inputIds (prompt + generated so far), whether it is finished; promptLengths[r]
   * says where row r's generated tokens begin.
   */
  check(inputIds: TokenRows, promptLengths: readonly number[]): boolean[];
}

export class StoppingCriteriaList implements StoppingCriteria {
  constructor(readonly criteria: StoppingCriteria[] = []) {}
  push(c: StoppingCriteria): this { this.criteria.push(c); return this; }
  check(inputIds: TokenRows, promptLengths: readonly number[]): boolean[] {
    const done = inputIds.map(() => false);
    for (const c of this.criteria) c.check(inputIds, promptLengths).forEach((d, i) => { if (d) done[i] = true; });
    return done;
  }
}

/** Stops a row at maxLength tokens, prompt included. */
export class MaxLengthCriteria implements StoppingCriteria {
  constructor(readonly maxLength: number) {}
  check(inputIds: TokenRows, _promptLengths?: readonly number[]): boolean[] { return inputIds.map((r) => r.length >= this.maxLength); }
}

/** Stops a row after maxNewTokens generated tokens (one limit for all rows, or one per row). */
export class MaxNewTokensCriteria implements StoppingCriteria {
  constructor(readonly maxNewTokens: number | readonly number[]) {}
  check(inputIds: TokenRows, promptLengths: readonly number[]): boolean[] {
    const limit = (i: number) => (typeof this.maxNewTokens === 'number' ? this.maxNewTokens : this.maxNewTokens[i]!);
    return inputIds.map((r, i) => r.length - promptLengths[i]! >= limit(i));
  }
}

/** Stops a row whose last token is an end-of-sequence token. */
export class EosTokenCriteria implements StoppingCriteria {
  constructor(readonly eosTokenId: readonly number[]) {}
  check(inputIds: TokenRows, promptLengths: readonly number[]): boolean[] {
    // A prompt ending in EOS does not stop generation before it starts.
    return inputIds.map((r, i) => r.length > promptLengths[i]! && this.eosTokenId.includes(r[r.length - 1]!));
  }
}

/** Stops a row whose generated tokens end with one of the given token sequences. */
export class StopSequenceCriteria implements StoppingCriteria {
  constructor(readonly sequences: readonly (readonly number[])[]) {
    for (const s of sequences) if (s.length === 0) throw new Error('stop sequences must not be empty');
  }
  check(inputIds: TokenRows, promptLengths: readonly number[]): boolean[] {
    return inputIds.map((r, i) => this.sequences.some((s) => {
      if (r.length - promptLengths[i]! < s.length) return false;
      for (let j = 0; j < s.length; j++) if (r[r.length - s.length + j] !== s[j]) return false;
      return true;
    }));
  }
}

/** Where the first of `stops` occurs in text: { index, stop } or null. */
export function findStopString(text: string, stops: readonly string[]): { index: number; stop: string } | null {
  let best: { index: number; stop: string } | null = null;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best === null || i < best.index)) best = { index: i, stop: s };
  }
  return best;
}

/** The length of the longest suffix of text that is a proper prefix of some stop string. */
export function partialStopSuffix(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
      if (text.endsWith(s.slice(0, n))) { best = n; break; }
    }
  }
  return best;
}

/**
 * Stops a row once its generated text contains one of the stop strings, whatever the tokens that
 * spell it (HF StopStringCriteria). Only the tail of the row is decoded each step: a stop string
 * that appears for the first time overlaps the newest token, so the newest tokens that cover its
 * length in bytes (every token spells at least one byte) are enough.
 */
export class StopStringCriteria implements StoppingCriteria {
  private readonly window: number;
  constructor(readonly tokenizer: TokenDecoder, readonly stopStrings: readonly string[]) {
    if (stopStrings.length === 0 || stopStrings.some((s) => s.length === 0)) throw new Error('stop strings must be non-empty strings');
    const maxBytes = Math.max(...stopStrings.map((s) => new TextEncoder().encode(s).length));
    // + 4: the window may begin inside a multi-byte character, which decodes to one replacement char.
    this.window = maxBytes + 4;
  }
  check(inputIds: TokenRows, promptLengths: readonly number[]): boolean[] {
    return inputIds.map((r, i) => {
      const start = Math.max(promptLengths[i]!, r.length - this.window);
      if (start >= r.length) return false;
      const text = this.tokenizer.decode(r.slice(start), { skipSpecialTokens: true });
      return findStopString(text, this.stopStrings) !== null;
    });
  }
}

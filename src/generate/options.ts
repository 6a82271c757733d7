// Validation of generate()'s options, resolved once before any token is produced: a misspelled key
// (maxNewToken) or an out-of-range value (topP: 1.5) is an error that names it, never ignored.

import type { GenerateOptions } from './generate.js';

/** Every key GenerateOptions has; anything else is a typo. */
const KNOWN: readonly (keyof GenerateOptions)[] = [
  'maxNewTokens', 'maxLength', 'maxNewTokensOverSource', 'minNewTokens', 'minLength', 'doSample', 'temperature', 'topK', 'topP',
  'repetitionPenalty', 'noRepeatNgramSize', 'suppressTokens', 'numBeams', 'lengthPenalty', 'earlyStopping',
  'numReturnSequences', 'eosTokenId', 'padTokenId', 'decoderStartTokenId', 'forcedBosTokenId', 'stopStrings',
  'stopSequences', 'tokenizer', 'seed', 'generator', 'attentionMask', 'useCache', 'streamer', 'logitsProcessor',
  'stoppingCriteria', 'returnDictInGenerate', 'outputScores', 'outputLogits',
];

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

function closest(key: string): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const k of KNOWN) { const dd = distance(key, k); if (dd < bestD) { best = k; bestD = dd; } }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

type Check = (v: number) => boolean;
const RANGES: [keyof GenerateOptions, Check, string][] = [
  ['temperature', (v) => v >= 0 && Number.isFinite(v), 'a number >= 0'],
  ['topK', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0'],
  ['topP', (v) => v > 0 && v <= 1, 'a number in (0, 1]'],
  ['repetitionPenalty', (v) => v > 0 && Number.isFinite(v), 'a number > 0'],
  ['lengthPenalty', (v) => Number.isFinite(v), 'a finite number'],
  ['minLength', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0'],
  ['seed', (v) => Number.isInteger(v), 'an integer'],
];

/** Throws on unknown keys and out-of-range values; the integer counts are checked where they are read. */
export function validateGenerateOptions(opts: GenerateOptions): void {
  if (opts === null || typeof opts !== 'object') throw new Error(`generate: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  for (const key of Object.keys(opts)) {
    if ((KNOWN as readonly string[]).includes(key)) continue;
    const hint = closest(key);
    throw new Error(`generate: unknown option '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
  }
  for (const [key, ok, what] of RANGES) {
    const v = opts[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !ok(v)) throw new Error(`generate: ${key} must be ${what}, got ${String(v)}`);
  }
}

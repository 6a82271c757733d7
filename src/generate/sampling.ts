// Picking the next token from processed scores: greedy (argmax) or a seeded multinomial draw.
// Both work on one host row; the seeded Generator is the tensor engine's, so a seed gives the same
// tokens on every backend and every run.

import { defaultGenerator, Generator } from '../tensor/random.js';
import { softmaxRow } from './logits_process.js';

function checkFinite(op: string, row: Float32Array): void {
  for (let i = 0; i < row.length; i++) {
    if (Number.isNaN(row[i]!)) throw new Error(`${op}: the model produced NaN scores (token ${i}); check the weights and the inputs`);
  }
}

/** The index of the highest score; the first one on ties, as torch.argmax. */
export function argmax(row: Float32Array): number {
  checkFinite('greedy', row);
  let best = 0, bestV = row[0]!;
  for (let i = 1; i < row.length; i++) if (row[i]! > bestV) { bestV = row[i]!; best = i; }
  if (bestV === -Infinity) throw new Error('greedy: every token was removed (all scores are -Infinity); loosen the logits processors');
  return best;
}

/** Uniform in [0, 1) with 53 random bits, so that tokens of tiny probability keep their chance. */
export function uniform53(g: Generator): number {
  const hi = g.nextUint32() >>> 5, lo = g.nextUint32() >>> 6;
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** Draws one token from softmax(row) (torch.multinomial with one sample). */
export function sampleFromScores(row: Float32Array, generator: Generator = defaultGenerator): number {
  checkFinite('sample', row);
  const p = softmaxRow(row);
  let last = -1;
  for (let i = p.length - 1; i >= 0; i--) if (p[i]! > 0) { last = i; break; }
  if (last < 0) throw new Error('sample: every token was removed (all scores are -Infinity); loosen the logits processors');
  const u = uniform53(generator);
  let cum = 0;
  for (let i = 0; i <= last; i++) {
    cum += p[i]!;
    if (u < cum) return i;
  }
  return last; // u fell into the rounding gap at the top: the last token with mass
}

/** A generator for a generate() call: its own when seeded, else the one given, else the default. */
export function generatorFor(opts: { seed?: number; generator?: Generator }): Generator {
  if (opts.seed !== undefined) {
    if (!Number.isFinite(opts.seed)) throw new Error(`seed must be a finite number, got ${opts.seed}`);
    return new Generator(opts.seed);
  }
  return opts.generator ?? defaultGenerator;
}

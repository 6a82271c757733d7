// Truncation and padding, as HF tokenizers does them, and their tokenizer.json form.

import type { Encoding, PaddingOptions, TruncationOptions } from './encoding.js';
import { asObject, fail, getInt, getString, type JsonObject } from './json.js';

export type Truncation = Required<TruncationOptions>;
export type Padding = Required<Omit<PaddingOptions, 'length' | 'padToMultipleOf'>> & { length: number | null; padToMultipleOf: number | null };

export function truncationConfig(opts: TruncationOptions): Truncation {
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 0) throw new RangeError(`truncation: maxLength must be a non-negative integer, got ${opts.maxLength}`);
  if (opts.stride !== undefined && (!Number.isInteger(opts.stride) || opts.stride < 0)) throw new RangeError(`truncation: stride must be a non-negative integer, got ${opts.stride}`);
  return { maxLength: opts.maxLength, strategy: opts.strategy ?? 'longest_first', direction: opts.direction ?? 'right', stride: opts.stride ?? 0 };
}

/** `padIdOf` looks up the pad token's id when none is given. */
export function paddingConfig(opts: PaddingOptions, padIdOf: (token: string) => number | undefined): Padding {
  const strategy = opts.strategy ?? (opts.length !== undefined ? 'max_length' : 'longest');
  if (strategy === 'max_length' && (opts.length === undefined || !Number.isInteger(opts.length) || opts.length < 0)) {
    throw new RangeError(`padding: strategy 'max_length' needs a non-negative integer length, got ${opts.length}`);
  }
  const padToken = opts.padToken ?? '[PAD]';
  return {
    strategy, length: strategy === 'max_length' ? opts.length! : null, direction: opts.direction ?? 'right',
    padToMultipleOf: opts.padToMultipleOf ?? null, padId: opts.padId ?? padIdOf(padToken) ?? 0, padTypeId: opts.padTypeId ?? 0, padToken,
  };
}

/**
 * Shortens a sequence (and its pair) to `maxLength` tokens in all, `added` of which the
 * post-processor will add. longest_first takes from the longer sequence until both are equal,
 * then from both; only_first / only_second take from one and fail if it is too short. What is
 * cut off stays in each sequence's `overflowing` windows (HF truncate_encodings with a stride).
 */
export function truncate(a: Encoding, b: Encoding | null, t: Truncation, added: number): void {
  const max = Math.max(0, t.maxLength - added);
  const total = a.length + (b?.length ?? 0);
  if (total <= max) return;
  const toRemove = total - max;
  const cut = (e: Encoding, keep: number, which: string): void => {
    if (keep > 0 && keep < e.length && t.stride >= keep) {
      throw new RangeError(`truncation: stride ${t.stride} must be smaller than the ${keep} tokens of the ${which} sequence that fit in a window ` +
        `(max_length ${t.maxLength}, ${added} special tokens${b === null ? '' : `, ${total - e.length} tokens of the other sequence`})`);
    }
    e.truncate(keep, t.direction, t.stride);
  };
  if (t.strategy === 'longest_first') {
    if (b === null) { cut(a, max, 'first'); return; }
    let n1 = a.length;
    let n2 = b.length;
    const swap = n1 > n2; // make n1 the shorter
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > max ? n1 : Math.max(n1, max - n1);
    if (n1 + n2 > max) { n1 = Math.floor(max / 2); n2 = n1 + (max % 2); }
    if (swap) [n1, n2] = [n2, n1];
    cut(a, n1, 'first');
    cut(b, n2, 'second');
    return;
  }
  const target = t.strategy === 'only_first' ? a : b;
  const which = t.strategy === 'only_first' ? 'first' : 'second';
  if (target === null) throw new RangeError(`truncation: strategy 'only_second' needs a pair of sequences`);
  if (target.length <= toRemove) {
    throw new RangeError(`truncation: cannot fit max_length ${t.maxLength} by truncating only the ${which} sequence (${target.length} tokens, ${toRemove} to remove)`);
  }
  cut(target, target.length - toRemove, which);
}

/**
 * The windows of a truncated input as (first, second) pairs, in HF's order: the head windows
 * together, then each later window of the first sequence with every window of the second, then
 * the first head with each later window of the second (Encoding::merge_with's order; transformers
 * reads the first level of it). Without overflow this is just [[a, b]].
 */
export function windowPairs(a: Encoding, b: Encoding | null): [Encoding, Encoding | null][] {
  const firsts = [a, ...a.overflowing];
  const seconds = b === null ? [null] : [b, ...b.overflowing];
  const pairs: [Encoding, Encoding | null][] = [[a, b]];
  for (const x of firsts.slice(1)) for (const y of seconds) pairs.push([x, y]);
  for (const y of seconds.slice(1)) pairs.push([a, y]);
  return pairs;
}

/**
 * Pads every encoding to the batch's longest (or the fixed length), rounded up to a multiple;
 * overflowing windows are padded to the same length (HF: the longest counts main encodings only).
 */
export function padBatch(encs: Encoding[], p: Padding): void {
  let target = p.strategy === 'max_length' ? p.length! : Math.max(0, ...encs.map((e) => e.length));
  if (p.padToMultipleOf !== null && p.padToMultipleOf > 0 && target % p.padToMultipleOf !== 0) {
    target += p.padToMultipleOf - (target % p.padToMultipleOf);
  }
  for (const e of encs) e.pad(target, p);
}

// ---- tokenizer.json ---------------------------------------------------------------------------

const STRATEGIES: Record<string, Truncation['strategy']> = { LongestFirst: 'longest_first', OnlyFirst: 'only_first', OnlySecond: 'only_second' };
const capital = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

function direction(d: string, path: string): 'right' | 'left' {
  if (d !== 'Right' && d !== 'Left') fail(path, `expected "Right" or "Left", got ${JSON.stringify(d)}`);
  return d === 'Right' ? 'right' : 'left';
}

export function truncationToJSON(t: Truncation | null): JsonObject | null {
  if (t === null) return null;
  const strategy = Object.keys(STRATEGIES).find((k) => STRATEGIES[k] === t.strategy)!;
  return { direction: capital(t.direction), max_length: t.maxLength, strategy, stride: t.stride };
}

export function truncationFromJSON(json: unknown): Truncation | null {
  if (json === null || json === undefined) return null;
  const t = asObject(json, 'truncation');
  const strategy = getString(t, 'strategy', 'truncation', 'LongestFirst');
  if (STRATEGIES[strategy] === undefined) fail('truncation.strategy', `unknown strategy '${strategy}' (supported: ${Object.keys(STRATEGIES).join(', ')})`);
  return truncationConfig({
    maxLength: getInt(t, 'max_length', 'truncation'), strategy: STRATEGIES[strategy], stride: getInt(t, 'stride', 'truncation', 0),
    direction: direction(getString(t, 'direction', 'truncation', 'Right'), 'truncation.direction'),
  });
}

export function paddingToJSON(p: Padding | null): JsonObject | null {
  if (p === null) return null;
  return {
    strategy: p.strategy === 'longest' ? 'BatchLongest' : { Fixed: p.length }, direction: capital(p.direction),
    pad_to_multiple_of: p.padToMultipleOf, pad_id: p.padId, pad_type_id: p.padTypeId, pad_token: p.padToken,
  };
}

export function paddingFromJSON(json: unknown): Padding | null {
  if (json === null || json === undefined) return null;
  const p = asObject(json, 'padding');
  const length = p.strategy === 'BatchLongest' ? undefined : getInt(asObject(p.strategy, 'padding.strategy'), 'Fixed', 'padding.strategy');
  return paddingConfig({
    strategy: length === undefined ? 'longest' : 'max_length', length, direction: direction(getString(p, 'direction', 'padding', 'Right'), 'padding.direction'),
    padToMultipleOf: p.pad_to_multiple_of === null || p.pad_to_multiple_of === undefined ? null : getInt(p, 'pad_to_multiple_of', 'padding'),
    padId: getInt(p, 'pad_id', 'padding', 0), padTypeId: getInt(p, 'pad_type_id', 'padding', 0), padToken: getString(p, 'pad_token', 'padding', '[PAD]'),
  }, () => undefined);
}

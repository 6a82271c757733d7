// Cutting text at delimiter spans, keeping the delimiters as HF's SplitDelimiterBehavior says.
// Shared by the pre-tokenizers (Split, Punctuation, Metaspace, …).

import type { AlignedText } from './aligned.js';

/** How a delimiter found in the text is kept (HF SplitDelimiterBehavior). */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
export const BEHAVIORS: readonly SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/**
 * Cuts `text` at the delimiter spans `matches` (flat [start, end) pairs, sorted, disjoint) and
 * returns the non-empty pieces, with delimiters kept as `behavior` says.
 */
export function splitAt(text: AlignedText, matches: number[], behavior: SplitBehavior): AlignedText[] {
  // Merge adjacent delimiters first when they are to be kept as one.
  if (behavior === 'Contiguous') {
    const merged: number[] = [];
    for (let k = 0; k < matches.length; k += 2) {
      if (merged.length > 0 && merged[merged.length - 1] === matches[k]) merged[merged.length - 1] = matches[k + 1]!;
      else merged.push(matches[k]!, matches[k + 1]!);
    }
    matches = merged;
  }
  // Boundaries as [start, end, isDelimiter] spans covering the text.
  const spans: [number, number, boolean][] = [];
  let last = 0;
  for (let k = 0; k < matches.length; k += 2) {
    if (matches[k]! > last) spans.push([last, matches[k]!, false]);
    spans.push([matches[k]!, matches[k + 1]!, true]);
    last = matches[k + 1]!;
  }
  if (last < text.length) spans.push([last, text.length, false]);
  const out: [number, number][] = [];
  for (let k = 0; k < spans.length; k++) {
    const [a, b, delim] = spans[k]!;
    if (!delim) { out.push([a, b]); continue; }
    switch (behavior) {
      case 'Removed': break;
      case 'Isolated': case 'Contiguous': out.push([a, b]); break;
      case 'MergedWithPrevious':
        if (out.length > 0 && k > 0 && !spans[k - 1]![2]) out[out.length - 1]![1] = b;
        else out.push([a, b]);
        break;
      case 'MergedWithNext': {
        const next = spans[k + 1];
        if (next !== undefined && !next[2]) { out.push([a, next[1]]); k++; } else out.push([a, b]);
        break;
      }
    }
  }
  return out.filter(([a, b]) => b > a).map(([a, b]) => text.slice(a, b));
}

/** Delimiter spans of a global regex over `s` (empty matches are skipped). */
export function regexMatches(re: RegExp, s: string): number[] {
  const out: number[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    if (m[0].length === 0) { re.lastIndex++; continue; }
    out.push(m.index, m.index + m[0].length);
  }
  return out;
}

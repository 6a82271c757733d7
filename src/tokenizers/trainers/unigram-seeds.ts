// The Unigram trainer's starting vocabulary, as HF (and SentencePiece) make it: every character,
// then the substrings that repeat, found as the internal nodes of the suffix tree of all words
// joined with '\0' (each node is a substring followed by at least two different characters; its
// frequency is how many times it occurs). Substrings score frequency × length; the best
// `seedSize` are kept, and scores become log-probabilities.

/** Suffix array of `s` by prefix doubling (O(n log² n): training corpora here are word lists). */
export function suffixArray(s: Int32Array): Int32Array {
  const n = s.length;
  const sa = Int32Array.from({ length: n }, (_, i) => i);
  let rank = Int32Array.from(s);
  const next = new Int32Array(n);
  for (let k = 1; ; k *= 2) {
    const key = (i: number): number => (i + k < n ? rank[i + k]! : -1);
    sa.sort((a, b) => rank[a]! - rank[b]! || key(a) - key(b));
    next[sa[0]!] = 0;
    for (let i = 1; i < n; i++) {
      const a = sa[i - 1]!;
      const b = sa[i]!;
      next[b] = next[a]! + (rank[a] !== rank[b] || key(a) !== key(b) ? 1 : 0);
    }
    rank = Int32Array.from(next);
    if (n === 0 || rank[sa[n - 1]!] === n - 1) return sa;
  }
}

/** lcp[i] = longest common prefix of suffixes sa[i-1] and sa[i] (Kasai et al.); lcp[0] = 0. */
export function lcpArray(s: Int32Array, sa: Int32Array): Int32Array {
  const n = s.length;
  const rankOf = new Int32Array(n);
  for (let i = 0; i < n; i++) rankOf[sa[i]!] = i;
  const lcp = new Int32Array(n);
  let h = 0;
  for (let i = 0; i < n; i++) {
    if (rankOf[i]! > 0) {
      const j = sa[rankOf[i]! - 1]!;
      while (i + h < n && j + h < n && s[i + h] === s[j + h]) h++;
      lcp[rankOf[i]!] = h;
      if (h > 0) h--;
    } else h = 0;
  }
  return lcp;
}

/**
 * Internal nodes of the suffix tree as (first suffix-array row, row count, depth): the LCP
 * intervals holding two or more suffixes, found with a stack in one pass.
 */
export function repeatedSubstrings(s: Int32Array): { start: number; freq: number; depth: number }[] {
  const sa = suffixArray(s);
  const lcp = lcpArray(s, sa);
  const n = s.length;
  const out: { start: number; freq: number; depth: number }[] = [];
  const stack: [number, number][] = [[-1, -1]]; // (left row, depth)
  for (let i = 0; i <= n; i++) {
    let left = i;
    const h = i === n ? -1 : lcp[i]!;
    while (stack[stack.length - 1]![1] > h) {
      const [l, d] = stack.pop()!;
      if (i - l > 1) out.push({ start: sa[l]!, freq: i - l, depth: d });
      left = l;
    }
    if (stack[stack.length - 1]![1] < h) stack.push([left, h]);
    if (i < n) stack.push([i, n - sa[i]! + 1]); // the leaf, deeper than any interval
  }
  return out;
}

/** Lexicographic comparison of code point arrays. */
function compareCodes(a: number[], b: number[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The seed pieces with log-probability scores (characters first). */
export function seedPieces(words: [string, number][], maxPieceLength: number, seedSize: number): [string, number][] {
  const codes: number[] = [];
  const charCounts = new Map<number, number>();
  for (const [word, count] of words) {
    if (word.length === 0) continue;
    for (const ch of word) {
      const cp = ch.codePointAt(0)!;
      codes.push(cp);
      if (cp !== 0) charCounts.set(cp, (charCounts.get(cp) ?? 0) + count);
    }
    codes.push(0);
  }
  const text = Int32Array.from(codes);
  // Characters by count, then by code point, both descending (HF sorts (count, char) reversed).
  const seeds: [string, number][] = [...charCounts].sort((x, y) => y[1] - x[1] || y[0] - x[0]).map(([cp, c]) => [String.fromCodePoint(cp), c]);
  const subs: { score: number; cps: number[] }[] = [];
  for (const { start, freq, depth } of repeatedSubstrings(text)) {
    if (depth <= 1 || depth > maxPieceLength) continue;
    const cps = Array.from(text.subarray(start, start + depth));
    if (cps.includes(0)) continue;
    subs.push({ score: freq * depth, cps });
  }
  subs.sort((x, y) => y.score - x.score || compareCodes(y.cps, x.cps));
  for (const { score, cps } of subs) {
    seeds.push([String.fromCodePoint(...cps), score]);
    if (seeds.length >= seedSize) break;
  }
  const logSum = Math.log(seeds.reduce((a, [, s]) => a + s, 0));
  return seeds.map(([p, s]) => [p, Math.log(s) - logSum]);
}

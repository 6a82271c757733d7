// The statistical baseline: an interpolated Kneser–Ney n-gram model over token ids, trained and
// scored with the same tokenizer as the neural LM so that their perplexities compare directly.
//
// P(w | h) = max(c(h w) − D, 0) / c(h) + D · N1+(h •) / c(h) · P(w | h')   (h' = h minus its first token)
// The highest order counts tokens; lower orders count continuations (in how many distinct contexts
// a suffix appears), which is what makes Kneser–Ney better than absolute discounting. The lowest
// order interpolates with the uniform distribution, so unseen tokens get probability > 0.

interface Counts {
  /** context key → (next token → count) */
  next: Map<string, Map<number, number>>;
  /** context key → total count */
  total: Map<string, number>;
  discount: number;
}

export class KneserNeyLM {
  private orders: Counts[] = [];
  private vocabSize = 0;

  constructor(readonly order = 3) {
    if (order < 1) throw new Error(`KneserNeyLM: order must be >= 1, got ${order}`);
  }

  /**
   * Roughly the heap bytes fit() needs for `tokens` training tokens: per order k, at most
   * min(tokens, V^(k-1)) contexts (a string key and a Map each) and min(tokens, V^k) entries, plus
   * the continuation-count sets of the lower orders. An upper estimate, for refusing early.
   */
  static estimateBytes(order: number, tokens: number, vocabSize: number): number {
    let bytes = 0;
    for (let k = 1; k <= order; k++) {
      const contexts = Math.min(tokens, vocabSize ** (k - 1));
      const entries = Math.min(tokens, vocabSize ** k);
      bytes += contexts * (200 + 6 * k) + entries * 60 + (k < order ? entries * (60 + 6 * k) : 0);
    }
    return bytes;
  }

  fit(ids: ArrayLike<number>, vocabSize: number): this {
    this.vocabSize = vocabSize;
    const n = this.order;
    // Raw counts of the highest order; continuation counts below it.
    const raw = new Map<string, Map<number, number>>();
    const seenLower: Set<string>[] = Array.from({ length: n }, () => new Set());
    const lower: Map<string, Map<number, number>>[] = Array.from({ length: n }, () => new Map());
    for (let i = 0; i < ids.length; i++) {
      const w = ids[i]!;
      if (i >= n - 1) bump(raw, key(ids, i - n + 1, i), w);
      // Continuation counts for order k (context length k-1): count distinct left extensions.
      for (let k = 1; k < n; k++) {
        if (i < k) continue; // needs one token of left context to extend
        const ext = key(ids, i - k, i) + '|' + w;
        if (seenLower[k]!.has(ext)) continue;
        seenLower[k]!.add(ext);
        bump(lower[k]!, key(ids, i - k + 1, i), w);
      }
    }
    this.orders = [];
    for (let k = 1; k <= n; k++) {
      const next = k === n ? raw : lower[k]!;
      this.orders.push({ next, total: totals(next), discount: discountOf(next) });
    }
    return this;
  }

  /** log P(w | context), context = the preceding tokens (only the last order−1 are used). */
  logProb(context: ArrayLike<number>, w: number): number {
    return Math.log(this.prob(context, context.length, w));
  }

  private prob(ids: ArrayLike<number>, end: number, w: number): number {
    let p = 1 / this.vocabSize;
    for (let k = 1; k <= this.order; k++) {
      const ctxLen = k - 1;
      if (end < ctxLen) break;
      const counts = this.orders[k - 1]!;
      const h = key(ids, end - ctxLen, end);
      const total = counts.total.get(h);
      if (total === undefined) continue; // unseen context: keep the lower-order estimate
      const row = counts.next.get(h)!;
      const c = row.get(w) ?? 0;
      const D = counts.discount;
      p = Math.max(c - D, 0) / total + (D * row.size / total) * p;
    }
    return p;
  }

  /** Mean negative log-likelihood (nats/token) of ids[start..] given their preceding tokens. */
  crossEntropy(ids: ArrayLike<number>, start = 1): number {
    let nll = 0, count = 0;
    for (let i = Math.max(start, 0); i < ids.length; i++) {
      nll -= Math.log(this.prob(ids, i, ids[i]!));
      count++;
    }
    return nll / Math.max(count, 1);
  }

  perplexity(ids: ArrayLike<number>): number {
    return Math.exp(this.crossEntropy(ids));
  }
}

function key(ids: ArrayLike<number>, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += (i > start ? ',' : '') + ids[i];
  return s;
}

function bump(m: Map<string, Map<number, number>>, h: string, w: number): void {
  let row = m.get(h);
  if (row === undefined) m.set(h, (row = new Map()));
  row.set(w, (row.get(w) ?? 0) + 1);
}

function totals(m: Map<string, Map<number, number>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [h, row] of m) { let t = 0; for (const c of row.values()) t += c; out.set(h, t); }
  return out;
}

/** D = n1 / (n1 + 2·n2) from the counts of counts (Ney et al.). */
function discountOf(m: Map<string, Map<number, number>>): number {
  let n1 = 0, n2 = 0;
  for (const row of m.values()) for (const c of row.values()) { if (c === 1) n1++; else if (c === 2) n2++; }
  return n1 + n2 === 0 ? 0.75 : Math.min(Math.max(n1 / (n1 + 2 * n2), 0.1), 0.95);
}

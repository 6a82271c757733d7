// The BPE trainer, following HF tokenizers' BpeTrainer step for step so that the same words give
// the same merges:
//   1. special tokens get the first ids, then the alphabet (every character seen, plus the
//      initial alphabet, optionally cut to the most frequent `limitAlphabet`), sorted by code point;
//   2. each word becomes a list of symbols, with `continuingSubwordPrefix` on non-initial ones;
//   3. pair counts (weighted by word frequency) go into a max-heap ordered by count, then by the
//      pair's ids (smaller first), each entry remembering which words held the pair;
//   4. pop the best pair: if its count is stale, push it back with the current count; otherwise
//      add the merged token, merge it in the entry's words, and apply the count changes those
//      merges cause — incrementally, never recounting — pushing the newly formed pairs.
// Words are visited in first-seen order, so training is deterministic (HF visits them in hash
// order, which only matters for the ids of prefixed alphabet symbols in WordPiece training).

import { BPE } from '../models/bpe.js';
import type { TokenModel } from '../models/model.js';
import type { Trainer, TrainProgress } from './trainer.js';

export interface BpeTrainerOptions {
  /** Final vocabulary size, special tokens and alphabet included. Default 30000. */
  vocabSize?: number;
  /** Pairs seen fewer times are never merged. Default 0. */
  minFrequency?: number;
  specialTokens?: string[];
  /** Keep at most this many alphabet characters (the most frequent). */
  limitAlphabet?: number | null;
  /** Characters always in the alphabet (byte-level training passes all 256 byte characters). */
  initialAlphabet?: string[];
  continuingSubwordPrefix?: string | null;
  endOfWordSuffix?: string | null;
  /** Longest token, in characters. */
  maxTokenLength?: number | null;
  /** The trained model's unknown token (must be one of the special tokens). */
  unkToken?: string | null;
  onProgress?: (p: TrainProgress) => void;
}

export interface BpeTrainResult {
  /** Tokens by id. */
  vocab: string[];
  merges: [string, string][];
}

/** Max-heap entry: a pair, its count when pushed, and the words it was seen in. */
interface QueueItem { a: number; b: number; count: number; words: number[] }

export class BpeTrainer implements Trainer {
  readonly opts: Required<Omit<BpeTrainerOptions, 'onProgress'>> & Pick<BpeTrainerOptions, 'onProgress'>;

  constructor(opts: BpeTrainerOptions = {}) {
    this.opts = {
      vocabSize: opts.vocabSize ?? 30000, minFrequency: opts.minFrequency ?? 0, specialTokens: opts.specialTokens ?? [],
      limitAlphabet: opts.limitAlphabet ?? null, initialAlphabet: opts.initialAlphabet ?? [],
      continuingSubwordPrefix: opts.continuingSubwordPrefix ?? null, endOfWordSuffix: opts.endOfWordSuffix ?? null,
      maxTokenLength: opts.maxTokenLength ?? null, unkToken: opts.unkToken ?? null, onProgress: opts.onProgress,
    };
    if (!Number.isInteger(this.opts.vocabSize) || this.opts.vocabSize <= 0) throw new RangeError(`BpeTrainer: vocabSize must be a positive integer, got ${opts.vocabSize}`);
    if (this.opts.unkToken !== null && !this.opts.specialTokens.includes(this.opts.unkToken)) {
      throw new RangeError(`BpeTrainer: unkToken '${this.opts.unkToken}' must be one of the special tokens`);
    }
  }

  train(wordCounts: Map<string, number>): { model: TokenModel; specialTokens: string[] } {
    const { vocab, merges } = this.trainMerges(wordCounts);
    const model = new BPE(new Map(vocab.map((t, id) => [t, id])), merges, {
      unkToken: this.opts.unkToken, continuingSubwordPrefix: this.opts.continuingSubwordPrefix, endOfWordSuffix: this.opts.endOfWordSuffix,
    });
    return { model, specialTokens: this.opts.specialTokens };
  }

  trainMerges(wordCounts: Map<string, number>): BpeTrainResult {
    const { vocabSize, minFrequency, continuingSubwordPrefix: prefix, endOfWordSuffix: suffix, onProgress } = this.opts;
    const maxLength = this.opts.maxTokenLength ?? Number.MAX_SAFE_INTEGER;
    const idToWord: string[] = [];
    const wordToId = new Map<string, number>();
    /** Characters of the original word each token covers (prefix and suffix not counted). */
    let spans = new Int32Array(Math.max(1024, vocabSize * 2));
    const addToken = (t: string, span: number): number => {
      let id = wordToId.get(t);
      if (id !== undefined) return id;
      id = idToWord.length;
      idToWord.push(t);
      wordToId.set(t, id);
      if (id >= spans.length) { const s = new Int32Array(spans.length * 2); s.set(spans); spans = s; }
      spans[id] = span;
      return id;
    };

    // 1. Special tokens, then the alphabet.
    for (const t of this.opts.specialTokens) addToken(t, 1);
    onProgress?.({ stage: 'alphabet', done: 0, total: wordCounts.size });
    const alphabet = new Map<string, number>();
    for (const [word, count] of wordCounts) for (const ch of word) alphabet.set(ch, (alphabet.get(ch) ?? 0) + count);
    for (const ch of this.opts.initialAlphabet) alphabet.set(ch, Infinity);
    let kept = [...alphabet.entries()];
    const limit = this.opts.limitAlphabet;
    if (limit !== null && kept.length > limit) {
      kept.sort((x, y) => x[1] - y[1] || x[0].codePointAt(0)! - y[0].codePointAt(0)!);
      kept = kept.slice(kept.length - limit);
    }
    kept.sort((x, y) => x[0].codePointAt(0)! - y[0].codePointAt(0)!);
    for (const [ch] of kept) addToken(ch, 1);

    // 2. Words as symbol ids.
    const words: Int32Array[] = [];
    const lengths: number[] = [];
    const counts: number[] = [];
    for (const [word, count] of wordCounts) {
      const chars = Array.from(word);
      const syms: number[] = [];
      chars.forEach((ch, i) => {
        if (!wordToId.has(ch)) return; // outside the (limited) alphabet
        let s = ch;
        if (i > 0 && prefix !== null) s = prefix + s;
        if (i === chars.length - 1 && suffix !== null) s += suffix;
        syms.push(addToken(s, 1));
      });
      words.push(Int32Array.from(syms));
      lengths.push(syms.length);
      counts.push(count);
    }

    // 3. Pair counts and the queue.
    const pairCounts = new PairCounts();
    const initial = new PairLists();
    for (let w = 0; w < words.length; w++) {
      const s = words[w]!;
      for (let i = 0; i + 1 < lengths[w]!; i++) {
        pairCounts.add(s[i]!, s[i + 1]!, counts[w]!);
        initial.add(s[i]!, s[i + 1]!, w);
      }
    }
    const queue = new MergeQueue();
    initial.forEach((a, b, ws) => { const c = pairCounts.get(a, b); if (c > 0) queue.push({ a, b, count: c, words: ws }); });
    onProgress?.({ stage: 'pairs', done: words.length, total: words.length });

    // 4. Merges.
    const merges: [string, string][] = [];
    const target = vocabSize - idToWord.length;
    const changes: number[] = []; // (a, b, delta) triples from one word
    while (idToWord.length < vocabSize && queue.size > 0) {
      const top = queue.pop();
      const current = pairCounts.get(top.a, top.b);
      if (top.count !== current) { top.count = current; queue.push(top); continue; }
      if (top.count < 1 || minFrequency > top.count) break;

      const partA = idToWord[top.a]!;
      let partB = idToWord[top.b]!;
      if (prefix !== null && partB.startsWith(prefix)) partB = partB.slice(prefix.length);
      const newId = addToken(partA + partB, spans[top.a]! + spans[top.b]!);
      merges.push([partA, idToWord[top.b]!]);

      const formed = new PairLists();
      for (const w of top.words) {
        changes.length = 0;
        lengths[w] = mergeInWord(words[w]!, lengths[w]!, top.a, top.b, newId, spans, maxLength, changes);
        for (let k = 0; k < changes.length; k += 3) {
          const delta = changes[k + 2]!;
          pairCounts.add(changes[k]!, changes[k + 1]!, delta * counts[w]!);
          if (delta > 0) formed.add(changes[k]!, changes[k + 1]!, w);
        }
      }
      formed.forEach((a, b, ws) => { const c = pairCounts.get(a, b); if (c > 0) queue.push({ a, b, count: c, words: ws }); });
      if (onProgress !== undefined && merges.length % 100 === 0) onProgress({ stage: 'merges', done: merges.length, total: target });
    }
    onProgress?.({ stage: 'done', done: merges.length, total: target });
    return { vocab: idToWord, merges };
  }
}

/**
 * Merges every (a, b) in word s[0, n) into `merged` (left to right, like HF's Word::merge) and
 * records the pair-count changes as (left, right, ±1) triples. Returns the new length.
 */
function mergeInWord(s: Int32Array, n: number, a: number, b: number, merged: number, spans: Int32Array, maxLength: number, changes: number[]): number {
  for (let i = 0; i < n; i++) {
    if (s[i] !== a || i + 1 >= n || s[i + 1] !== b) continue;
    const len = spans[merged]!;
    if (i > 0) {
      changes.push(s[i - 1]!, a, -1);
      if (spans[s[i - 1]!]! + len < maxLength) changes.push(s[i - 1]!, merged, 1);
    }
    s[i] = merged;
    s.copyWithin(i + 1, i + 2, n);
    n--;
    if (i < n - 1) {
      changes.push(b, s[i + 1]!, -1);
      if (spans[s[i + 1]!]! + len < maxLength) changes.push(merged, s[i + 1]!, 1);
    }
  }
  return n;
}

/** Open-addressing table of pair → count. */
class PairCounts {
  private left = new Int32Array(1 << 12).fill(-1);
  private right = new Int32Array(1 << 12);
  private counts = new Float64Array(1 << 12);
  private used = 0;

  private slot(a: number, b: number): number {
    const mask = this.left.length - 1;
    let s = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x632be5ab, 0x85ebca6b));
    s = (s ^ (s >>> 16)) & mask;
    while (this.left[s] !== -1 && (this.left[s] !== a || this.right[s] !== b)) s = (s + 1) & mask;
    return s;
  }

  get(a: number, b: number): number {
    const s = this.slot(a, b);
    return this.left[s] === -1 ? 0 : this.counts[s]!;
  }

  add(a: number, b: number, delta: number): void {
    let s = this.slot(a, b);
    if (this.left[s] === -1) {
      if ((this.used + 1) * 2 > this.left.length) { this.grow(); s = this.slot(a, b); }
      this.left[s] = a; this.right[s] = b; this.counts[s] = 0; this.used++;
    }
    this.counts[s] = this.counts[s]! + delta;
  }

  private grow(): void {
    const { left, right, counts } = this;
    this.left = new Int32Array(left.length * 2).fill(-1);
    this.right = new Int32Array(left.length * 2);
    this.counts = new Float64Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      if (left[i] === -1) continue;
      const s = this.slot(left[i]!, right[i]!);
      this.left[s] = left[i]!; this.right[s] = right[i]!; this.counts[s] = counts[i]!;
    }
  }
}

/** pair → list of word indices (each word once), in insertion order of pairs. */
class PairLists {
  private index = new Map<number, number>();
  private pairs: number[] = [];
  private lists: number[][] = [];

  add(a: number, b: number, w: number): void {
    // a, b < 2^26 keeps the key an exact integer.
    const key = a * 67108864 + b;
    let k = this.index.get(key);
    if (k === undefined) { k = this.lists.length; this.index.set(key, k); this.pairs.push(a, b); this.lists.push([]); }
    const list = this.lists[k]!;
    if (list[list.length - 1] !== w) list.push(w); // words arrive in order, so repeats are adjacent
  }

  forEach(fn: (a: number, b: number, words: number[]) => void): void {
    for (let k = 0; k < this.lists.length; k++) fn(this.pairs[2 * k]!, this.pairs[2 * k + 1]!, this.lists[k]!);
  }
}

/** Max-heap by count, ties going to the smaller pair (a, then b), as in HF. */
class MergeQueue {
  private items: QueueItem[] = [];
  get size(): number { return this.items.length; }

  private static before(x: QueueItem, y: QueueItem): boolean {
    if (x.count !== y.count) return x.count > y.count;
    return x.a !== y.a ? x.a < y.a : x.b < y.b;
  }

  push(item: QueueItem): void {
    const h = this.items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!MergeQueue.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): QueueItem {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && MergeQueue.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && MergeQueue.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

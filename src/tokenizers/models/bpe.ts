// Byte-pair encoding (HF model type "BPE"): a word starts as one symbol per character, then the
// adjacent pair with the lowest merge rank is merged, leftmost first, until no pair is a merge.
//
// Two entry points share the merge loop:
// - tokenize(word): the generic path, for any BPE (characters, continuing-subword prefixes,
//   end-of-word suffixes, unknown tokens, byte fallback);
// - encodeBytes(text, s, e): the byte-level fast path used with GPT-2's pre-tokenizer. It reads
//   the raw piece of input straight into byte symbols (no byte-level string is built) and caches
//   ids by the raw piece.

import { asArray, asInt, asObject, fail, getBool, getOptString, type JsonObject } from '../json.js';
import { BYTE_TO_CHAR, utf8Encode } from '../byte-level.js';
import { vocabToJSON, type TokenModel, type TokenSink } from './model.js';
import { PairTable } from './pair-table.js';
import { PieceCache } from './piece-cache.js';

export interface BpeOptions {
  unkToken?: string | null;
  continuingSubwordPrefix?: string | null;
  endOfWordSuffix?: string | null;
  fuseUnk?: boolean;
  byteFallback?: boolean;
  /** Emit a word that is itself in the vocabulary as one token without merging. */
  ignoreMerges?: boolean;
  /** Most words kept in the word → tokens cache (0 disables it). Default 131072. */
  cacheCapacity?: number;
}

// Scratch buffers for the merge loop: symbol ids, their [start, end) in the word, and (for long
// words) a linked list and a heap. Grown on demand, shared by all BPE instances (single thread).
let symIds = new Int32Array(256);
let symStarts = new Int32Array(256);
let symEnds = new Int32Array(256);
let pairRank = new Int32Array(256);
let pairSlot = new Int32Array(256);
let bytes = new Int32Array(768);

function ensureSymbols(n: number): void {
  if (symIds.length >= n) return;
  const cap = Math.max(n, symIds.length * 2);
  const grow = (a: Int32Array): Int32Array<ArrayBuffer> => { const b = new Int32Array(cap); b.set(a); return b; };
  symIds = grow(symIds); symStarts = grow(symStarts); symEnds = grow(symEnds);
  pairRank = new Int32Array(cap); pairSlot = new Int32Array(cap);
}

const NO_MERGE = 0x7fffffff;
/** Words longer than this merge with a heap (n log n) instead of rescanning (n²). */
const SCAN_LIMIT = 48;

export class BPE implements TokenModel {
  readonly type = 'BPE' as const;
  readonly vocab: Map<string, number>;
  readonly merges: [string, string][];
  readonly options: Required<Omit<BpeOptions, 'cacheCapacity'>>;
  private readonly idToTokenArr: (string | undefined)[];
  private readonly table: PairTable;
  private readonly unkId: number;
  /** Id of each byte's character when all 256 are in the vocabulary (the fast path), else null. */
  private readonly byteIds: Int32Array | null;
  private readonly cache: PieceCache;
  private readonly byteCache: PieceCache;

  constructor(vocab: Map<string, number>, merges: [string, string][], options: BpeOptions = {}, path = 'model') {
    this.vocab = vocab;
    this.merges = merges;
    this.options = {
      unkToken: options.unkToken ?? null, continuingSubwordPrefix: options.continuingSubwordPrefix ?? null,
      endOfWordSuffix: options.endOfWordSuffix ?? null, fuseUnk: options.fuseUnk ?? false,
      byteFallback: options.byteFallback ?? false, ignoreMerges: options.ignoreMerges ?? false,
    };
    this.cache = new PieceCache(options.cacheCapacity ?? 1 << 17);
    this.byteCache = new PieceCache(options.cacheCapacity ?? 1 << 17);
    this.idToTokenArr = [];
    for (const [t, id] of vocab) this.idToTokenArr[id] = t;
    const unk = this.options.unkToken;
    this.unkId = unk === null ? -1 : vocab.get(unk) ?? -1;
    if (unk !== null && this.unkId < 0) fail(`${path}.unk_token`, `'${unk}' is not in the vocabulary`);

    const prefixLen = this.options.continuingSubwordPrefix?.length ?? 0;
    this.table = new PairTable(merges.length);
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      if (ia === undefined || ib === undefined) fail(`${path}.merges[${rank}]`, `'${ia === undefined ? a : b}' is not in the vocabulary`);
      const joined = a + (prefixLen > 0 && b.startsWith(this.options.continuingSubwordPrefix!) ? b.slice(prefixLen) : b);
      const merged = vocab.get(joined);
      if (merged === undefined) fail(`${path}.merges[${rank}]`, `the merge of '${a}' and '${b}' gives '${joined}', which is not in the vocabulary`);
      this.table.set(ia, ib, rank, merged);
    });

    let ids: Int32Array | null = new Int32Array(256);
    for (let b = 0; b < 256 && ids !== null; b++) {
      const id = vocab.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) ids = null; else ids[b] = id;
    }
    this.byteIds = this.options.continuingSubwordPrefix === null && this.options.endOfWordSuffix === null ? ids : null;
  }

  get vocabSize(): number { return this.vocab.size; }
  tokenToId(token: string): number | undefined { return this.vocab.get(token); }
  idToToken(id: number): string | undefined { return this.idToTokenArr[id]; }
  getVocab(): Map<string, number> { return new Map(this.vocab); }
  clearCache(): void { this.cache.clear(); this.byteCache.clear(); }

  /** Whether encodeBytes can be used: every byte has a token and no prefix/suffix is configured. */
  get supportsBytes(): boolean { return this.byteIds !== null; }

  // ---- the merge loop -------------------------------------------------------------------------

  /** Merges symIds/symStarts/symEnds[0, n) in place and returns the new symbol count. */
  private merge(n: number): number {
    if (n < 2 || this.table.size === 0) return n;
    return n <= SCAN_LIMIT ? this.mergeByScan(n) : this.mergeByHeap(n);
  }

  private rankPair(i: number): void {
    const slot = this.table.find(symIds[i]!, symIds[i + 1]!);
    pairSlot[i] = slot;
    pairRank[i] = slot < 0 ? NO_MERGE : this.table.rankAt(slot);
  }

  /** Short words: keep the rank of every adjacent pair and rescan for the minimum. */
  private mergeByScan(n: number): number {
    for (let i = 0; i < n - 1; i++) this.rankPair(i);
    for (;;) {
      let best = NO_MERGE;
      let at = -1;
      for (let i = 0; i < n - 1; i++) if (pairRank[i]! < best) { best = pairRank[i]!; at = i; }
      if (at < 0) return n;
      symIds[at] = this.table.mergedAt(pairSlot[at]!);
      symEnds[at] = symEnds[at + 1]!;
      n--;
      symIds.copyWithin(at + 1, at + 2, n + 1);
      symStarts.copyWithin(at + 1, at + 2, n + 1);
      symEnds.copyWithin(at + 1, at + 2, n + 1);
      pairRank.copyWithin(at + 1, at + 2, n);
      pairSlot.copyWithin(at + 1, at + 2, n);
      if (at > 0) this.rankPair(at - 1);
      if (at < n - 1) this.rankPair(at); else pairRank[at] = NO_MERGE;
    }
  }

  /**
   * Long words: symbols in a linked list, candidate merges in a binary heap ordered by
   * (rank, position). A popped entry is stale when its pair has since changed; a live one is
   * always the lowest-rank, leftmost pair, as in the scan.
   */
  private mergeByHeap(n: number): number {
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
    const heap = new MergeHeap(n);
    for (let i = 0; i < n - 1; i++) {
      const slot = this.table.find(symIds[i]!, symIds[i + 1]!);
      if (slot >= 0) heap.push(this.table.rankAt(slot), i);
    }
    while (heap.size > 0) {
      const rank = heap.topRank();
      const i = heap.pop();
      const j = next[i]!;
      if (!alive[i] || j < 0) continue;
      const slot = this.table.find(symIds[i]!, symIds[j]!);
      if (slot < 0 || this.table.rankAt(slot) !== rank) continue; // stale
      symIds[i] = this.table.mergedAt(slot);
      symEnds[i] = symEnds[j]!;
      alive[j] = 0;
      next[i] = next[j]!;
      if (next[i]! >= 0) prev[next[i]!] = i;
      const p = prev[i]!;
      if (p >= 0) {
        const s = this.table.find(symIds[p]!, symIds[i]!);
        if (s >= 0) heap.push(this.table.rankAt(s), p);
      }
      if (next[i]! >= 0) {
        const s = this.table.find(symIds[i]!, symIds[next[i]!]!);
        if (s >= 0) heap.push(this.table.rankAt(s), i);
      }
    }
    let m = 0;
    for (let i = 0; i >= 0; i = next[i]!) {
      symIds[m] = symIds[i]!; symStarts[m] = symStarts[i]!; symEnds[m] = symEnds[i]!;
      m++;
    }
    return m;
  }

  // ---- generic path ---------------------------------------------------------------------------

  tokenize(word: string, out: TokenSink): void {
    if (word.length === 0) return;
    const h = PieceCache.hash(word, 0, word.length);
    const hit = this.cache.find(word, 0, word.length, h);
    if (hit >= 0) {
      const v = this.cache.values();
      const end = this.cache.valueStart(hit) + this.cache.valueLength(hit);
      for (let k = this.cache.valueStart(hit); k < end; k += 3) { out.ids.push(v[k]!); out.starts.push(v[k + 1]!); out.ends.push(v[k + 2]!); }
      return;
    }
    const n = this.merge(this.wordSymbols(word));
    const packed = new Int32Array(n * 3);
    for (let i = 0; i < n; i++) {
      out.ids.push(symIds[i]!); out.starts.push(symStarts[i]!); out.ends.push(symEnds[i]!);
      packed[3 * i] = symIds[i]!; packed[3 * i + 1] = symStarts[i]!; packed[3 * i + 2] = symEnds[i]!;
    }
    this.cache.add(word, 0, word.length, h, packed, packed.length);
  }

  /** Fills the symbol buffers with the initial symbols of `word`; returns their count. */
  private wordSymbols(word: string): number {
    const { continuingSubwordPrefix: prefix, endOfWordSuffix: suffix, byteFallback, fuseUnk, ignoreMerges } = this.options;
    ensureSymbols(word.length * 4 + 1);
    if (ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) { symIds[0] = whole; symStarts[0] = 0; symEnds[0] = word.length; return 1; }
    }
    let n = 0;
    for (let i = 0; i < word.length;) {
      const cp = word.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      let piece = w === 1 ? word[i]! : word.slice(i, i + 2);
      if (prefix !== null && i > 0) piece = prefix + piece;
      if (suffix !== null && i + w === word.length) piece += suffix;
      const id = this.vocab.get(piece);
      if (id !== undefined) {
        symIds[n] = id; symStarts[n] = i; symEnds[n] = i + w; n++;
      } else if (byteFallback && this.pushByteFallback(word, i, w, n)) {
        n += utf8Encode(word, i, i + w, bytes); // one symbol per byte was written
      } else if (this.unkId >= 0) {
        if (fuseUnk && n > 0 && symIds[n - 1] === this.unkId && symEnds[n - 1] === i) symEnds[n - 1] = i + w;
        else { symIds[n] = this.unkId; symStarts[n] = i; symEnds[n] = i + w; n++; }
      } // else: like HF, a character with no token and no unk_token is dropped
      i += w;
    }
    return n;
  }

  /** Writes <0xXX> tokens for each UTF-8 byte of word[i, i+w) at symbol n, if all exist. */
  private pushByteFallback(word: string, i: number, w: number, n: number): boolean {
    const count = utf8Encode(word, i, i + w, bytes);
    for (let k = 0; k < count; k++) {
      const id = this.vocab.get(`<0x${bytes[k]!.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id === undefined) return false;
      symIds[n + k] = id; symStarts[n + k] = i; symEnds[n + k] = i + w;
    }
    return true;
  }

  // ---- byte-level fast path -------------------------------------------------------------------

  /**
   * Appends the ids of raw input piece text[s, e), as if it had been respelled in the byte-level
   * alphabet and passed to tokenize(). Requires supportsBytes. `tokenBytes`, when given, receives
   * each token's length in bytes (for offsets).
   */
  encodeBytes(text: string, s: number, e: number, ids: number[], tokenBytes?: number[]): void {
    const cache = this.byteCache;
    const h = PieceCache.hash(text, s, e);
    const hit = cache.find(text, s, e, h);
    if (hit >= 0) {
      const v = cache.values();
      const start = cache.valueStart(hit);
      const end = start + cache.valueLength(hit);
      if (tokenBytes === undefined) {
        for (let k = start; k < end; k += 2) ids.push(v[k]!);
      } else {
        for (let k = start; k < end; k += 2) { ids.push(v[k]!); tokenBytes.push(v[k + 1]!); }
      }
      return;
    }
    if (bytes.length < (e - s) * 3) bytes = new Int32Array((e - s) * 3);
    const nb = utf8Encode(text, s, e, bytes);
    ensureSymbols(nb + 1);
    let n: number;
    const whole = this.options.ignoreMerges ? this.vocab.get(byteString(nb)) : undefined;
    if (whole !== undefined) {
      symIds[0] = whole; symStarts[0] = 0; symEnds[0] = nb; n = 1;
    } else {
      const byteIds = this.byteIds!;
      for (let k = 0; k < nb; k++) { symIds[k] = byteIds[bytes[k]!]!; symStarts[k] = k; symEnds[k] = k + 1; }
      n = this.merge(nb);
    }
    const packed = new Int32Array(n * 2);
    for (let i = 0; i < n; i++) {
      packed[2 * i] = symIds[i]!;
      packed[2 * i + 1] = symEnds[i]! - symStarts[i]!;
      ids.push(symIds[i]!);
      if (tokenBytes !== undefined) tokenBytes.push(packed[2 * i + 1]!);
    }
    cache.add(text, s, e, h, packed, packed.length);
  }

  // ---- serialisation --------------------------------------------------------------------------

  toJSON(): JsonObject {
    const o = this.options;
    return {
      type: 'BPE', dropout: null, unk_token: o.unkToken, continuing_subword_prefix: o.continuingSubwordPrefix,
      end_of_word_suffix: o.endOfWordSuffix, fuse_unk: o.fuseUnk, byte_fallback: o.byteFallback, ignore_merges: o.ignoreMerges,
      vocab: vocabToJSON(this.idToTokenArr), merges: this.merges.map(([a, b]) => [a, b]),
    };
  }

  static fromJSON(o: JsonObject, path = 'model'): BPE {
    if (o.dropout !== undefined && o.dropout !== null && o.dropout !== 0) {
      fail(`${path}.dropout`, `BPE dropout (${String(o.dropout)}) is a training-time option and is not supported; set it to null`);
    }
    const vocab = vocabFromJSON(o.vocab, `${path}.vocab`);
    const merges = asArray(o.merges ?? [], `${path}.merges`).map((m, i): [string, string] => {
      if (typeof m === 'string') {
        const parts = m.split(' ');
        if (parts.length !== 2) fail(`${path}.merges[${i}]`, `expected "left right" (two tokens separated by one space), got ${JSON.stringify(m)}`);
        return [parts[0]!, parts[1]!];
      }
      if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
      fail(`${path}.merges[${i}]`, `expected ["left", "right"] or "left right", got ${JSON.stringify(m)}`);
    });
    return new BPE(vocab, merges, {
      unkToken: getOptString(o, 'unk_token', path), continuingSubwordPrefix: getOptString(o, 'continuing_subword_prefix', path),
      endOfWordSuffix: getOptString(o, 'end_of_word_suffix', path), fuseUnk: getBool(o, 'fuse_unk', path, false),
      byteFallback: getBool(o, 'byte_fallback', path, false), ignoreMerges: getBool(o, 'ignore_merges', path, false),
    }, path);
  }
}

/** The byte-level spelling of bytes[0, n). */
function byteString(n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += BYTE_TO_CHAR[bytes[k]!];
  return s;
}

/** Reads a { token: id } object into a Map, checking ids. */
export function vocabFromJSON(v: unknown, path: string): Map<string, number> {
  const o = asObject(v, path);
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(o)) vocab.set(token, asInt(id, `${path}[${JSON.stringify(token)}]`));
  return vocab;
}

/** A binary min-heap of (rank, position) pairs, position breaking ties (leftmost first). */
class MergeHeap {
  private ranks: Int32Array;
  private pos: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.ranks = new Int32Array(Math.max(16, capacity * 2));
    this.pos = new Int32Array(Math.max(16, capacity * 2));
  }
  private less(a: number, b: number): boolean {
    const ra = this.ranks[a]!;
    const rb = this.ranks[b]!;
    return ra < rb || (ra === rb && this.pos[a]! < this.pos[b]!);
  }
  private swap(a: number, b: number): void {
    const r = this.ranks[a]!; this.ranks[a] = this.ranks[b]!; this.ranks[b] = r;
    const p = this.pos[a]!; this.pos[a] = this.pos[b]!; this.pos[b] = p;
  }
  push(rank: number, position: number): void {
    if (this.size === this.ranks.length) {
      const r = new Int32Array(this.size * 2); r.set(this.ranks); this.ranks = r;
      const p = new Int32Array(this.size * 2); p.set(this.pos); this.pos = p;
    }
    let i = this.size++;
    this.ranks[i] = rank; this.pos[i] = position;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent); i = parent;
    }
  }
  topRank(): number { return this.ranks[0]!; }
  /** Removes the minimum and returns its position. */
  pop(): number {
    const top = this.pos[0]!;
    this.size--;
    if (this.size > 0) {
      this.ranks[0] = this.ranks[this.size]!; this.pos[0] = this.pos[this.size]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.size && this.less(l, m)) m = l;
        if (r < this.size && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m); i = m;
      }
    }
    return top;
  }
}

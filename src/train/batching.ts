// Batches of examples for fine-tuning: epochs over a dataset in a shuffled order, with examples of
// similar length grouped together (HF's group_by_length: less padding, same randomness), and the
// collator that pads a batch to its longest row (dynamic padding) with an attention mask.

import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { InputError } from '../errors.js';

/** A tokenized example: token ids, optional segment ids, and whatever labels its task has. */
export interface TokenizedRow {
  ids: readonly number[];
  typeIds?: readonly number[];
}

export interface PaddedBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  tokenTypeIds: Tensor;
}

/** Pads rows on the right to the longest (or to `length`): ids with padId, mask 0, type ids 0. */
export function padRows(rows: readonly TokenizedRow[], padId: number, length?: number): PaddedBatch {
  if (rows.length === 0) throw new Error('padRows: an empty batch');
  const T = length ?? Math.max(...rows.map((r) => r.ids.length));
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(padId), mask = new Int32Array(B * T), types = new Int32Array(B * T);
  rows.forEach((r, b) => {
    if (r.ids.length > T) throw new Error(`padRows: row ${b} has ${r.ids.length} tokens, more than ${T}`);
    ids.set(r.ids, b * T);
    mask.fill(1, b * T, b * T + r.ids.length);
    if (r.typeIds) types.set(r.typeIds, b * T);
  });
  return { inputIds: tensor(ids, { shape: [B, T] }), attentionMask: tensor(mask, { shape: [B, T] }), tokenTypeIds: tensor(types, { shape: [B, T] }) };
}

/** Where an epoch-based batcher is: which epoch, how many of its batches were served. */
export interface BatcherState { epoch: number; next: number }

/** Cuts an epoch's shuffled indices into batches; may use `shuffle` (seeded per epoch) again. */
export type BatchPlanner = (order: number[], shuffle: <T>(a: T[]) => T[]) => number[][];

/**
 * Serves batches of dataset indices, epoch after epoch. Each epoch's order comes from gen (the
 * trainer's data generator, whose state is checkpointed): two draws seed a small LCG that shuffles
 * the indices, and the planner cuts them into batches — by count (`bySize`, length-grouped as HF's
 * group_by_length) or by a token budget (`byTokens`, fairseq's --max-tokens).
 */
export class EpochBatcher {
  private order: number[][] = [];
  private state: BatcherState = { epoch: -1, next: 0 };
  /** The current epoch's seed, kept so a resumed run replays its order exactly. */
  private epochSeed: number[] | null = null;
  readonly batchesPerEpoch: number;

  constructor(readonly lengths: readonly number[], private readonly planner: BatchPlanner) {
    if (lengths.length === 0) throw new Error('EpochBatcher: the dataset is empty');
    this.batchesPerEpoch = this.plan([1, 2]).length;
  }

  /** Batches of batchSize; with groupByLength, sorted by length inside mega-batches of 50, then the batches shuffled. */
  static bySize(lengths: readonly number[], batchSize: number, groupByLength = true): EpochBatcher {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`EpochBatcher: batchSize must be a positive integer, got ${batchSize}`);
    return new EpochBatcher(lengths, (idx, shuffle) => {
      const chunks = (a: number[], n: number) => Array.from({ length: Math.ceil(a.length / n) }, (_, k) => a.slice(k * n, k * n + n));
      if (!groupByLength) return chunks(idx, batchSize);
      const mega = batchSize * 50;
      const batches = chunks(idx, mega).flatMap((c) => chunks(c.sort((a, b) => lengths[b]! - lengths[a]!), batchSize));
      return shuffle(batches);
    });
  }

  /** Batches of at most maxTokens tokens (rows × the longest), of similar lengths: sorted inside buckets of 4096, then shuffled. */
  static byTokens(lengths: readonly number[], maxTokens: number): EpochBatcher {
    const longest = Math.max(...lengths);
    if (longest > maxTokens) throw new InputError(`--max-tokens ${maxTokens} is smaller than the longest pair (${longest} tokens)`);
    return new EpochBatcher(lengths, (idx, shuffle) => {
      const batches: number[][] = [];
      for (let m = 0; m < idx.length; m += 4096) {
        let cur: number[] = [], top = 0;
        for (const i of idx.slice(m, m + 4096).sort((a, b) => lengths[a]! - lengths[b]!)) {
          if (cur.length > 0 && Math.max(top, lengths[i]!) * (cur.length + 1) > maxTokens) { batches.push(cur); cur = []; top = 0; }
          cur.push(i);
          top = Math.max(top, lengths[i]!);
        }
        if (cur.length) batches.push(cur);
      }
      return shuffle(batches);
    });
  }

  get epoch(): number { return Math.max(0, this.state.epoch); }

  next(gen: Generator): number[] {
    if (this.state.epoch < 0 || this.state.next >= this.order.length) {
      this.epochSeed = [Math.floor(gen.uniform() * 2 ** 31), Math.floor(gen.uniform() * 2 ** 31)];
      this.order = this.plan(this.epochSeed);
      this.state = { epoch: this.state.epoch + 1, next: 0 };
    }
    return this.order[this.state.next++]!;
  }

  private plan(seed: number[]): number[][] {
    let s = (seed[0]! ^ (seed[1]! << 7)) >>> 0 || 1;
    const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
    const shuffle = <T>(a: T[]) => { for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; } return a; };
    return this.planner(shuffle(Array.from(this.lengths, (_, i) => i)), shuffle);
  }

  getState(): unknown { return { ...this.state, seed: this.epochSeed }; }

  setState(st: unknown): void {
    const x = st as BatcherState & { seed: number[] | null };
    if (x.seed) { this.epochSeed = x.seed; this.order = this.plan(x.seed); }
    this.state = { epoch: x.epoch, next: x.next };
  }
}

/** Fixed-order batches of indices for evaluation (sorted by length: less padding, same results). */
export function evalBatches(lengths: readonly number[], batchSize: number): number[][] {
  const idx = Array.from(lengths, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]!);
  return Array.from({ length: Math.ceil(idx.length / batchSize) }, (_, k) => idx.slice(k * batchSize, k * batchSize + batchSize));
}

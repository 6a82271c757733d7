// Batches of examples for fine-tuning: epochs over a dataset in a shuffled order, with examples of
// similar length grouped together (HF's group_by_length: less padding, same randomness), and the
// collator that pads a batch to its longest row (dynamic padding) with an attention mask.

import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';

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

/**
 * Serves batches of dataset indices, epoch after epoch. Each epoch's order comes from gen (the
 * trainer's data generator, whose state is checkpointed), drawn when the epoch starts; with
 * groupByLength, indices are sorted by length inside mega-batches of 50 batches and the batches
 * then shuffled, so a batch holds rows of similar length but the order stays random.
 */
export class EpochBatcher {
  private order: number[][] = [];
  private state: BatcherState = { epoch: -1, next: 0 };
  /** The order of the current epoch, kept so a resumed run replays it exactly. */
  private epochSeed: number[] | null = null;

  constructor(readonly lengths: readonly number[], readonly batchSize: number, readonly groupByLength = true) {
    if (lengths.length === 0) throw new Error('EpochBatcher: the dataset is empty');
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`EpochBatcher: batchSize must be a positive integer, got ${batchSize}`);
  }

  get batchesPerEpoch(): number { return Math.ceil(this.lengths.length / this.batchSize); }
  get epoch(): number { return Math.max(0, this.state.epoch); }

  next(gen: Generator): number[] {
    if (this.state.epoch < 0 || this.state.next >= this.order.length) this.startEpoch(gen);
    return this.order[this.state.next++]!;
  }

  private startEpoch(gen: Generator): void {
    const seed = [Math.floor(gen.uniform() * 2 ** 31), Math.floor(gen.uniform() * 2 ** 31)];
    this.epochSeed = seed;
    this.order = this.plan(seed);
    this.state = { epoch: this.state.epoch + 1, next: 0 };
  }

  /** The epoch's batches from its seed (a small LCG-driven Fisher–Yates, independent of gen's later draws). */
  private plan(seed: number[]): number[][] {
    let s = (seed[0]! ^ (seed[1]! << 7)) >>> 0 || 1;
    const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
    const shuffle = <T>(a: T[]) => { for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; } return a; };
    const idx = shuffle(Array.from(this.lengths, (_, i) => i));
    const B = this.batchSize;
    if (!this.groupByLength) return Array.from({ length: Math.ceil(idx.length / B) }, (_, k) => idx.slice(k * B, k * B + B));
    const mega = B * 50, batches: number[][] = [];
    for (let m = 0; m < idx.length; m += mega) {
      const chunk = idx.slice(m, m + mega).sort((a, b) => this.lengths[b]! - this.lengths[a]!);
      for (let k = 0; k < chunk.length; k += B) batches.push(chunk.slice(k, k + B));
    }
    return shuffle(batches);
  }

  getState(): unknown { return { ...this.state, seed: this.epochSeed }; }

  setState(st: unknown): void {
    const s = st as BatcherState & { seed: number[] | null };
    if (s.seed) { this.epochSeed = s.seed; this.order = this.plan(s.seed); }
    this.state = { epoch: s.epoch, next: s.next };
  }
}

/** Fixed-order batches of indices for evaluation (sorted by length: less padding, same results). */
export function evalBatches(lengths: readonly number[], batchSize: number): number[][] {
  const idx = Array.from(lengths, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]!);
  return Array.from({ length: Math.ceil(idx.length / batchSize) }, (_, k) => idx.slice(k * batchSize, k * batchSize + batchSize));
}

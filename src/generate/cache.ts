// The KV cache of a generation: per decoder layer, the keys and values [B, H, T, Dh] of every
// position seen so far (self-attention), and for seq2seq models the keys and values of the encoder
// memory (cross-attention: computed on the first step, then reused as they are). Beside the
// tensors it tracks each sequence's attention mask and next position id, so that left-padded rows
// of different lengths each see exactly their own tokens at their own positions.
//
// Ownership: the cache owns its tensors. update() disposes the layers it replaces (the model's
// presentKeyValues are new tensors that extend the old ones); dispose() frees the rest.

import { tensor, zeros } from '../tensor/ops/creation.js';
import { cat } from '../tensor/ops/indexing.js';
import { noGrad, tidy } from '../tensor/engine.js';
import type { KeyValue } from '../nn/attention.js';
import type { Tensor } from '../tensor/tensor.js';

export class KVCache {
  /** Self-attention keys/values per layer; null before the first step. */
  self: KeyValue[] | null = null;
  /** Cross-attention keys/values of the encoder memory per layer (seq2seq); null for decoder-only models. */
  cross: KeyValue[] | null = null;
  /** Per row: 1 for each cached position holding a token, 0 for left padding. */
  readonly mask: number[][];

  constructor(batchSize: number) {
    this.mask = Array.from({ length: batchSize }, () => []);
  }

  get batchSize(): number { return this.mask.length; }
  /** Cached positions (the T of the tensors, padding included). */
  get length(): number { return this.mask[0]?.length ?? 0; }
  /** Per row: the position id the next token gets (the count of real tokens so far). */
  nextPositions(): number[] { return this.mask.map((m) => m.reduce((a, v) => a + v, 0)); }
  /** True when some row has padding: the model then needs the mask and explicit positions. */
  get hasPadding(): boolean { return this.mask.some((m) => m.includes(0)); }

  /** Records that each row got `masks[r]` new positions (1 = token, 0 = padding). */
  extend(masks: readonly (readonly number[])[]): void {
    masks.forEach((m, r) => { for (const v of m) this.mask[r]!.push(v); });
  }

  /** The attention mask over cached + new positions, int32 [B, S] (1 = attend). */
  maskTensor(device?: string): Tensor {
    const B = this.batchSize, S = this.length;
    const flat = new Int32Array(B * S);
    this.mask.forEach((m, r) => flat.set(m, r * S));
    return tensor(flat, { shape: [B, S], device });
  }

  /** Takes the model's presentKeyValues for the self-attention (and the cross-attention memory once). */
  update(self: KeyValue[], cross?: KeyValue[] | null): void {
    disposeLayers(this.self, self);
    this.self = self;
    if (cross) {
      disposeLayers(this.cross, cross);
      this.cross = cross;
    }
  }

  /**
   * Keeps rows `rows` (in that order, repeats allowed): beam search's reordering of hypotheses.
   * sameMemory: every row keeps a row of its own input (beams of one input share the encoder
   * memory), so the cross-attention memory needs no reordering.
   */
  reorder(rows: readonly number[], opts: { sameMemory?: boolean } = {}): void {
    const same = rows.length === this.batchSize && rows.every((r, i) => r === i);
    if (same) return;
    const pick = (layers: KeyValue[] | null) => {
      if (layers === null) return null;
      const idx = tensor(Int32Array.from(rows), { device: layers[0]?.key.device });
      const out = noGrad(() => layers.map((kv) => ({ key: kv.key.indexSelect(0, idx), value: kv.value.indexSelect(0, idx) })));
      idx.dispose();
      return out;
    };
    const self = pick(this.self);
    disposeLayers(this.self, null);
    this.self = self;
    if (!opts.sameMemory) {
      const cross = pick(this.cross);
      disposeLayers(this.cross, null);
      this.cross = cross;
    }
    const masks = rows.map((r) => this.mask[r]!.slice());
    this.mask.length = 0;
    this.mask.push(...masks);
  }

  /**
   * Appends the rows of `other` (continuous batching: a new group of sequences joins the batch).
   * Rows stay right-aligned: whichever side is shorter gets zero keys/values on the left, masked
   * out. `other` is emptied (its tensors are consumed).
   */
  merge(other: KVCache): void {
    if (other.self === null) throw new Error('KVCache.merge: the joining cache is empty (run the prefill first)');
    if (this.self === null || this.batchSize === 0) {
      disposeLayers(this.self, null);
      this.self = other.self;
      this.mask.length = 0;
    } else {
      const S = this.length, s = other.length, T = Math.max(S, s);
      const self = noGrad(() => tidy(() => this.self!.map((kv, i) => {
        const o = other.self![i]!;
        return { key: cat([leftZeros(kv.key, T - S), leftZeros(o.key, T - s)], 0), value: cat([leftZeros(kv.value, T - S), leftZeros(o.value, T - s)], 0) };
      })));
      disposeLayers(this.self, null);
      disposeLayers(other.self, null);
      this.self = self;
      for (const m of this.mask) m.unshift(...new Array<number>(T - S).fill(0));
      for (const m of other.mask) m.unshift(...new Array<number>(T - s).fill(0));
    }
    this.mask.push(...other.mask.map((m) => m.slice()));
    other.self = null;
    other.mask.length = 0;
  }

  /** Drops the leading positions that are padding in every row (left after long rows leave). */
  trimPadding(): void {
    let t = 0;
    while (t < this.length && this.mask.every((m) => m[t] === 0)) t++;
    if (t === 0 || this.self === null) return;
    const S = this.length;
    const self = noGrad(() => tidy(() => this.self!.map((kv) => ({ key: kv.key.narrow(2, t, S - t).contiguous(), value: kv.value.narrow(2, t, S - t).contiguous() }))));
    disposeLayers(this.self, null);
    this.self = self;
    for (const m of this.mask) m.splice(0, t);
  }

  dispose(): void {
    disposeLayers(this.self, null);
    disposeLayers(this.cross, null);
    this.self = null;
    this.cross = null;
  }
}

/** x [B, H, S, D] with n zero positions in front (x itself when n is 0). */
function leftZeros(x: Tensor, n: number): Tensor {
  if (n === 0) return x;
  const [B, H, , D] = x.shape as [number, number, number, number];
  return cat([zeros([B, H, n, D], { device: x.device }), x], 2);
}

/** Disposes the tensors of `old` that `next` does not reuse. */
function disposeLayers(old: KeyValue[] | null, next: KeyValue[] | null): void {
  if (old === null) return;
  const keep = new Set<Tensor>();
  for (const kv of next ?? []) { keep.add(kv.key); keep.add(kv.value); }
  for (const kv of old) {
    if (!keep.has(kv.key)) kv.key.dispose();
    if (!keep.has(kv.value)) kv.value.dispose();
  }
}

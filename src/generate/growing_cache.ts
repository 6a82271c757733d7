// A KV cache that grows in place, for decoding many steps over one batch (the continuous-batching
// engine). Each layer's keys and values live in buffers [B, H, capacity, Dh] with room ahead; the
// model sees views of the filled part, and its attention layers append the step's keys/values into
// the room (KeyValue.append) instead of concatenating, which would copy the whole cache every step.
// Row changes (merge, reorder, trimPadding) are rare: they run as in KVCache on the views, and the
// result is copied into fresh buffers.

import { tensor, zeros } from '../tensor/ops/creation.js';
import { keep, noGrad } from '../tensor/engine.js';
import type { KeyValue } from '../nn/attention.js';
import type { Tensor } from '../tensor/tensor.js';
import { KVCache } from './cache.js';

export class GrowingKVCache extends KVCache {
  private buffers: KeyValue[] | null = null;
  /** Bumped whenever row operations remake the buffers: appends through older views are refused. */
  private epoch = 0;
  /** The views this cache handed out: presents made of them came from append(). */
  private readonly views = new WeakSet<Tensor>();

  /** Extra positions allocated whenever the buffers are (re)made. */
  constructor(batchSize: number, readonly headroom = 64) {
    super(batchSize);
  }

  override extend(masks: readonly (readonly number[])[]): void {
    super.extend(masks);
    // The positions just recorded are written by the next forward: make room before it starts.
    if (this.buffers !== null && this.length > this.capacity()) this.adopt(this.self!, this.filled());
  }

  override update(self: KeyValue[], cross?: KeyValue[] | null): void {
    if (this.buffers !== null && self.every((kv) => this.views.has(kv.key) && this.views.has(kv.value))) {
      // A step appended in place: swap the views (the buffers stay).
      this.self = swap(this.self, self);
      if (cross) this.cross = swap(this.cross, cross);
      return;
    }
    super.update(self, cross);
    if (self.length > 0) this.adopt(self, self[0]!.key.shape[2]!); // (a model without layers has nothing to grow)
  }

  override merge(other: KVCache): void {
    super.merge(other);
    this.adoptPlain();
  }

  override reorder(rows: readonly number[], opts: { sameMemory?: boolean } = {}): void {
    // (With a cross-attention memory, only reorders that keep each row with its own source take the fast path.)
    if (this.buffers === null || this.self === null || this.self.length === 0 || (this.cross !== null && opts.sameMemory !== true)) {
      super.reorder(rows, opts);
      this.adoptPlain();
      return;
    }
    if (rows.length === this.batchSize && rows.every((r, i) => r === i)) return;
    // Beam search reorders every step: pick the rows of the buffers themselves (one copy, room kept).
    const S = this.filled(), old = this.buffers;
    const idx = tensor(Int32Array.from(rows), { device: old[0]?.key.device });
    this.buffers = noGrad(() => old.map((kv) => ({ key: kv.key.indexSelect(0, idx), value: kv.value.indexSelect(0, idx) })));
    idx.dispose();
    for (const kv of [...old, ...this.self]) { kv.key.dispose(); kv.value.dispose(); }
    this.epoch++;
    this.self = this.buffers.map((_, i) => this.view(i, S));
    const masks = rows.map((r) => this.mask[r]!.slice());
    this.mask.length = 0;
    this.mask.push(...masks);
  }

  override trimPadding(): void {
    const before = this.self;
    super.trimPadding();
    if (this.self !== before) this.adoptPlain();
  }

  override dispose(): void {
    super.dispose();
    this.freeBuffers();
  }

  /** Positions every layer's buffers hold (a layer grown by append() may hold more). */
  private capacity(): number {
    return Math.min(...(this.buffers ?? []).map((kv) => kv.key.shape[2]!));
  }

  /** Positions filled in the buffers (the views' length). */
  private filled(): number { return this.self?.[0]?.key.shape[2] ?? 0; }

  /** After a KVCache operation replaced self with plain tensors (or views, if nothing changed). */
  private adoptPlain(): void {
    if (this.self === null || this.self.length === 0) { this.freeBuffers(); return; }
    if (this.views.has(this.self[0]!.key)) return; // untouched: still our views
    this.adopt(this.self, this.self[0]!.key.shape[2]!);
  }

  /** Copies the first S positions of `layers` into new buffers (room for the mask's length + headroom) and frees what they replace. */
  private adopt(layers: KeyValue[], S: number): void {
    const cap = Math.max(this.length, S) + this.headroom;
    const grown = (t: Tensor) => {
      const [B, H, , D] = t.shape as [number, number, number, number];
      // Zeros, not garbage: masked positions get weight 0, and 0 · NaN would still be NaN.
      const buf = zeros([B, H, cap, D], { device: t.device });
      if (S > 0) {
        const dst = buf.narrow(2, 0, S), src = t.narrow(2, 0, S);
        dst.copy_(src);
        dst.dispose();
        src.dispose();
      }
      return buf;
    };
    const buffers = noGrad(() => layers.map((kv) => ({ key: grown(kv.key), value: grown(kv.value) })));
    for (const kv of layers) { kv.key.dispose(); kv.value.dispose(); }
    this.freeBuffers();
    this.buffers = buffers;
    this.epoch++;
    this.self = buffers.map((_, i) => this.view(i, S));
  }

  /** Layer i's first S positions, appendable in place. */
  private view(i: number, S: number): KeyValue {
    const buf = this.buffers![i]!, epoch = this.epoch;
    const key = buf.key.narrow(2, 0, S), value = buf.value.narrow(2, 0, S);
    this.views.add(key);
    this.views.add(value);
    return {
      key, value,
      append: (k: Tensor, v: Tensor): KeyValue => {
        if (epoch !== this.epoch) throw new Error('GrowingKVCache: append on a layer the cache has replaced');
        const T = k.shape[2]!;
        // Callers that record no mask (an encoder-decoder's decoder) grow here, layer by layer.
        if (S + T > this.buffers![i]!.key.shape[2]!) this.growLayer(i, S, S + T);
        const now = this.buffers![i]!;
        noGrad(() => {
          const kd = now.key.narrow(2, S, T), vd = now.value.narrow(2, S, T);
          kd.copy_(k);
          vd.copy_(v);
          kd.dispose();
          vd.dispose();
        });
        return this.view(i, S + T);
      },
    };
  }

  /** Layer i's buffers remade with room for `need` positions plus headroom, keeping the first S. */
  private growLayer(i: number, S: number, need: number): void {
    const old = this.buffers![i]!, cap = Math.max(need + this.headroom, 2 * old.key.shape[2]!);
    const grown = (t: Tensor) => {
      const [B, H, , D] = t.shape as [number, number, number, number];
      const buf = keep(zeros([B, H, cap, D], { device: t.device })); // may run inside a forward's tidy scope
      const dst = buf.narrow(2, 0, S), src = t.narrow(2, 0, S);
      dst.copy_(src);
      dst.dispose();
      src.dispose();
      return buf;
    };
    this.buffers![i] = noGrad(() => ({ key: grown(old.key), value: grown(old.value) }));
    old.key.dispose(); // views of it (the layer's past) keep its storage until they are disposed
    old.value.dispose();
  }

  private freeBuffers(): void {
    for (const kv of this.buffers ?? []) { kv.key.dispose(); kv.value.dispose(); }
    this.buffers = null;
  }
}

/** Takes `next` in place of `old`, disposing the tensors of `old` that `next` does not hold. */
function swap(old: KeyValue[] | null, next: KeyValue[]): KeyValue[] {
  const keep = new Set(next.flatMap((kv) => [kv.key, kv.value]));
  for (const kv of old ?? []) for (const t of [kv.key, kv.value]) if (!keep.has(t)) t.dispose();
  return next;
}

// A KV cache that grows in place, for decoding many steps over one batch (the continuous-batching
// engine). Each layer's keys and values live in buffers [B, H, capacity, Dh] with room ahead; the
// model sees views of the filled part, and its attention layers append the step's keys/values into
// the room (KeyValue.append) instead of concatenating, which would copy the whole cache every step.
// Row changes (merge, reorder, trimPadding) are rare: they run as in KVCache on the views, and the
// result is copied into fresh buffers.

import { tensor, zeros } from '../tensor/ops/creation.js';
import { noGrad } from '../tensor/engine.js';
import type { KeyValue } from '../nn/attention.js';
import type { Tensor } from '../tensor/tensor.js';
import { KVCache } from './cache.js';

export class GrowingKVCache extends KVCache {
  private buffers: KeyValue[] | null = null;
  private capacity = 0;
  /** The views this cache handed out: presents made of them came from append(). */
  private readonly views = new WeakSet<Tensor>();

  /** Extra positions allocated whenever the buffers are (re)made. */
  constructor(batchSize: number, readonly headroom = 64) {
    super(batchSize);
  }

  override extend(masks: readonly (readonly number[])[]): void {
    super.extend(masks);
    // The positions just recorded are written by the next forward: make room before it starts.
    if (this.buffers !== null && this.length > this.capacity) this.adopt(this.self!, this.filled());
  }

  override update(self: KeyValue[], cross?: KeyValue[] | null): void {
    if (this.buffers !== null && self.every((kv) => this.views.has(kv.key) && this.views.has(kv.value))) {
      // A step appended in place: swap the views (the buffers stay).
      const keep = new Set(self.flatMap((kv) => [kv.key, kv.value]));
      for (const kv of this.self ?? []) for (const t of [kv.key, kv.value]) if (!keep.has(t)) t.dispose();
      this.self = self;
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
    if (this.buffers === null || this.self === null || this.self.length === 0 || opts.sameMemory === false || this.cross !== null) {
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
    this.capacity = cap;
    this.self = buffers.map((_, i) => this.view(i, S));
  }

  /** Layer i's first S positions, appendable in place. */
  private view(i: number, S: number): KeyValue {
    const buf = this.buffers![i]!;
    const key = buf.key.narrow(2, 0, S), value = buf.value.narrow(2, 0, S);
    this.views.add(key);
    this.views.add(value);
    return {
      key, value,
      append: (k: Tensor, v: Tensor): KeyValue => {
        const T = k.shape[2]!;
        if (buf !== this.buffers?.[i]) throw new Error('GrowingKVCache: append on a layer the cache has replaced');
        if (S + T > this.capacity) throw new Error(`GrowingKVCache: ${S + T} positions exceed the capacity ${this.capacity} (extend() the mask before the forward)`);
        noGrad(() => {
          const kd = buf.key.narrow(2, S, T), vd = buf.value.narrow(2, S, T);
          kd.copy_(k);
          vd.copy_(v);
          kd.dispose();
          vd.dispose();
        });
        return this.view(i, S + T);
      },
    };
  }

  private freeBuffers(): void {
    for (const kv of this.buffers ?? []) { kv.key.dispose(); kv.value.dispose(); }
    this.buffers = null;
    this.capacity = 0;
  }
}

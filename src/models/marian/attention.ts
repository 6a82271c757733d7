// MarianMT's attention (HF's MarianAttention = BartAttention) and its sinusoidal positions.
//
// Attention: separate q/k/v/out projections with biases, softmax(q kᵀ / √Dh + mask) v. HF scales q
// before the product; scaling the scores after it is the same up to rounding. Self-attention keys
// and values extend a cache; cross-attention ones are computed from the encoder's output once.
//
// Grouped cross-attention: in beam search every source has k beams that all read the same encoder
// output. The decoder takes that output once per source ([B, S, d]) for B·k rows; the k rows of a
// source are folded into extra query positions of one batch entry (cross-attention has no causal
// mask, so queries are independent), and its keys and values are computed and cached once.

import { tensor } from '../../tensor/ops/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { attend, extendKeyValue, type KeyValue } from '../../nn/attention.js';

export interface AttentionInputs {
  /** Additive float mask broadcasting to [B, H, L, S] (0 = attend, finite minimum = masked), or null. */
  mask?: Tensor | null;
  /** Causal self-attention (queries at the end of the keys). */
  isCausal?: boolean;
  /** Self-attention: earlier positions' keys and values [B, H, past, Dh]. */
  pastKeyValue?: KeyValue | null;
  /** Cross-attention: the encoder output's keys and values, computed on an earlier step. */
  staticKeyValue?: KeyValue | null;
}

export class MarianAttention extends Module {
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly q_proj: Linear;
  readonly out_proj: Linear;
  readonly headDim: number;

  constructor(readonly embedDim: number, readonly numHeads: number, readonly dropout: number) {
    super();
    this.headDim = embedDim / numHeads;
    // HF's registration order: k, v, q, out.
    this.k_proj = this.registerModule('k_proj', new Linear(embedDim, embedDim));
    this.v_proj = this.registerModule('v_proj', new Linear(embedDim, embedDim));
    this.q_proj = this.registerModule('q_proj', new Linear(embedDim, embedDim));
    this.out_proj = this.registerModule('out_proj', new Linear(embedDim, embedDim));
  }

  /** [B, T, E] → [B, H, T, Dh] */
  private heads(x: Tensor): Tensor {
    const [B, T] = x.shape as [number, number];
    return x.reshape(B, T, this.numHeads, this.headDim).transpose(1, 2);
  }

  /** Keys and values of states [B, S, E] (the encoder output, for cross-attention). */
  keyValue(states: Tensor): KeyValue {
    return { key: this.heads(this.k_proj.forward(states)), value: this.heads(this.v_proj.forward(states)) };
  }

  /**
   * x [Bq, L, E] attends to itself (keyStates null) or to keyStates [Bk, S, E] (cross-attention,
   * Bq = Bk·k: grouped). Returns the output [Bq, L, E] and the keys/values to cache.
   */
  forward(x: Tensor, keyStates: Tensor | null, o: AttentionInputs = {}): { output: Tensor; present: KeyValue } {
    const [Bq, L, E] = x.shape as [number, number, number];
    if (E !== this.embedDim) throw new Error(`MarianAttention: input has ${E} features, expected d_model ${this.embedDim}`);
    const q = this.heads(this.q_proj.forward(x));
    let kv: KeyValue;
    if (keyStates === null) {
      kv = this.keyValue(x);
      if (o.pastKeyValue) kv = extendKeyValue(o.pastKeyValue, kv.key, kv.value);
    } else {
      kv = o.staticKeyValue ?? this.keyValue(keyStates);
    }
    const Bk = kv.key.shape[0]!;
    if (Bq % Bk !== 0) throw new Error(`MarianAttention: ${Bq} query rows cannot share the keys of ${Bk} sources (rows must be a multiple of sources)`);
    const group = Bq / Bk;
    const H = this.numHeads, Dh = this.headDim;
    const opts = { mask: o.mask ?? null, isCausal: o.isCausal ?? false, dropoutP: this.dropout, training: this.training };
    let ctx: Tensor;
    if (group === 1) {
      ctx = attend(q, kv.key, kv.value, opts).output;
    } else {
      if (o.isCausal) throw new Error('MarianAttention: grouped rows are for cross-attention, which is not causal');
      // [Bk·g, H, L, Dh] → [Bk, H, g·L, Dh]: the group's queries side by side over the source's keys.
      const folded = q.reshape(Bk, group, H, L, Dh).transpose(1, 2).reshape(Bk, H, group * L, Dh);
      const out = attend(folded, kv.key, kv.value, opts).output;
      ctx = out.reshape(Bk, H, group, L, Dh).transpose(1, 2).reshape(Bq, H, L, Dh);
    }
    const output = this.out_proj.forward(ctx.transpose(1, 2).reshape(Bq, L, E));
    return { output, present: kv };
  }
}

/**
 * The sinusoid table of HF's MarianSinusoidalPositionalEmbedding, [nPos, dim]: angle(pos, i) =
 * pos / 10000^(2i/dim); sines in columns 0..⌈dim/2⌉-1, cosines after them (not interleaved).
 * Computed in float64, then stored as float32, as HF does with numpy.
 */
export function marianSinusoids(nPos: number, dim: number): Float32Array {
  const out = new Float32Array(nPos * dim);
  const sinCols = Math.ceil(dim / 2), cosCols = Math.floor(dim / 2);
  for (let pos = 0; pos < nPos; pos++) {
    const row = out.subarray(pos * dim, (pos + 1) * dim);
    for (let i = 0; i < sinCols; i++) row[i] = Math.sin(pos / Math.pow(10000, (2 * i) / dim));
    for (let i = 0; i < cosCols; i++) row[sinCols + i] = Math.cos(pos / Math.pow(10000, (2 * i) / dim));
  }
  return out;
}

/** Marian's positions: a fixed table (a buffer named weight, saved in checkpoints), rows past..past+T-1. */
export class MarianSinusoidalPositionalEmbedding extends Module {
  constructor(readonly numPositions: number, readonly dim: number) {
    super();
    this.registerBuffer('weight', tensor(marianSinusoids(numPositions, dim), { shape: [numPositions, dim] }));
  }

  get weight(): Tensor { return this.getBuffer('weight'); }

  /** Positions past..past+T-1 as [T, dim] (added to every row of a batch). */
  forward(T: number, past = 0): Tensor {
    if (past + T > this.numPositions) {
      throw new Error(`Marian: position ${past + T - 1} is beyond max_position_embeddings ${this.numPositions}; shorten the input`);
    }
    return this.weight.narrow(0, past, T);
  }
}

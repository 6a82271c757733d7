// Positional encodings. Two kinds, by where they act:
//  - on the embeddings: sinusoidal (added, or concatenated) and learned absolute;
//  - inside attention: RoPE rotates queries and keys, ALiBi and relative positions (Shaw et al.)
//    add a bias to the attention scores.
// models/positions.ts turns a config's position_embedding_type into these pieces, for every family.

import { tensor, zeros } from '../tensor/ops/creation.js';
import { cat } from '../tensor/ops/indexing.js';
import { rotaryEmbedding } from '../tensor/ops/fused.js';
import { keep } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Embedding } from './embedding.js';
import { normal_ } from './init.js';
import { Module } from './module.js';
import { ropeInverseFrequencies, type RopeScaling } from './rope_scaling.js';

/** Positions as int32 [B|1, T]: given ones, or offset..offset+T-1. */
function positionsOr(positionIds: Tensor | null | undefined, T: number, offset: number, device?: string): Tensor {
  if (positionIds) {
    if (positionIds.dtype !== 'int32') throw new Error(`positionIds must be int32, got ${positionIds.dtype}`);
    if (positionIds.shape[positionIds.ndim - 1] !== T) throw new Error(`positionIds [${positionIds.shape.join(',')}] do not cover ${T} positions`);
    return positionIds.ndim === 1 ? positionIds.unsqueeze(0) : positionIds;
  }
  const ids = new Int32Array(T);
  for (let i = 0; i < T; i++) ids[i] = offset + i;
  return tensor(ids, { shape: [1, T], device });
}

/** Rows of table [maxLen, D] at positions [B, T] → [B, T, D], with a clear error past maxLen. */
function rowsAt(table: Tensor, pos: Tensor, what: string): Tensor {
  const max = table.shape[0]!;
  const flat = pos.reshape(-1);
  const hi = pos.device === 'cpu' ? flat.max().item() : 0; // cheap on cpu; elsewhere the kernel bounds-checks
  if (hi >= max) throw new Error(`${what}: position ${hi} is past the table's ${max} positions (maxLen / max_position_embeddings)`);
  return table.indexSelect(0, flat).reshape(pos.shape[0]!, pos.shape[1]!, table.shape[1]!);
}

/** "Attention is all you need": PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(...). */
export function sinusoidalTable(maxLen: number, dim: number, base = 10000): Float32Array {
  const pe = new Float32Array(maxLen * dim);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = p / Math.pow(base, i / dim);
      pe[p * dim + i] = Math.sin(angle);
      if (i + 1 < dim) pe[p * dim + i + 1] = Math.cos(angle);
    }
  }
  return pe;
}

export interface SinusoidalOptions {
  /** Width of the encoding: the model width when added, the extra width when concatenated. */
  dim: number;
  maxLen?: number;
  /** 'add' (the paper) or 'concat': [x; PE], widening x by dim. */
  mode?: 'add' | 'concat';
}

export class SinusoidalPositionalEncoding extends Module {
  readonly dim: number;
  readonly mode: 'add' | 'concat';
  readonly maxLen: number;
  constructor(opts: SinusoidalOptions) {
    super();
    this.dim = opts.dim;
    this.mode = opts.mode ?? 'add';
    this.maxLen = opts.maxLen ?? 5000;
    // Not persistent: a function of the config, so checkpoints need not carry it.
    this.registerBuffer('pe', tensor(sinusoidalTable(this.maxLen, this.dim), { shape: [this.maxLen, this.dim] }), false);
  }
  /** x [B, T, D] → x + PE (or [x; PE]) at positionIds [B, T] (default offset..offset+T-1). */
  forward(x: Tensor, positionIds?: Tensor | null, offset = 0): Tensor {
    const [B, T] = x.shape as [number, number];
    const pe = this.getBuffer('pe');
    const rows = positionIds ? rowsAt(pe, positionsOr(positionIds, T, offset, x.device), 'SinusoidalPositionalEncoding')
      : checkedNarrow(pe, offset, T, 'SinusoidalPositionalEncoding').unsqueeze(0);
    if (this.mode === 'add') return x.add(rows);
    return cat([x, rows.expand(B, T, this.dim)], -1);
  }
}

function checkedNarrow(table: Tensor, offset: number, T: number, what: string): Tensor {
  if (offset + T > table.shape[0]!) throw new Error(`${what}: ${offset + T} positions exceed the table's ${table.shape[0]} (maxLen / max_position_embeddings)`);
  return table.narrow(0, offset, T);
}

/** Learned absolute positions: x + E[p], E an Embedding (key: weight). */
export class LearnedPositionalEmbedding extends Embedding {
  constructor(maxLen: number, dim: number) {
    super(maxLen, dim);
  }
  /** x [B, T, D] plus the embedding of each position. */
  add(x: Tensor, positionIds?: Tensor | null, offset = 0): Tensor {
    const T = x.shape[1]!;
    const rows = positionIds ? rowsAt(this.weight, positionsOr(positionIds, T, offset, x.device), 'LearnedPositionalEmbedding')
      : checkedNarrow(this.weight, offset, T, 'LearnedPositionalEmbedding').unsqueeze(0);
    return x.add(rows);
  }
}

/**
 * Something that adds to attention scores: [B|1, H|1, L, S] for queries q [B, H, L, Dh] at qOffset..
 * and S keys. The first `positionless` keys (a prefix in an encoder) carry no position: their bias is
 * 0, and the real keys after them are at positions 0.. .
 */
export interface ScoreBias {
  scoreBias(q: Tensor, qOffset: number, S: number, positionless?: number): Tensor;
}

/** One cached tensor keyed by a string, kept out of tidy scopes and freed when replaced. */
class Cache {
  private key = '';
  private value: Tensor | null = null;
  get(key: string, make: () => Tensor): Tensor {
    if (this.value === null || this.key !== key || this.value.isDisposed) {
      this.value?.dispose();
      this.value = keep(make());
      this.key = key;
    }
    return this.value;
  }
}

/**
 * Rotary position embedding (RoPE, Su et al.), rotate-half layout as GPT-NeoX / Llama: pairs
 * (x_i, x_{i+d/2}) turn by angle p·θ_i, θ_i = base^(-2i/d) (or rescaled: see rope_scaling.ts).
 * Applied to queries and keys before the cache, so cached keys are already rotated.
 */
export class RotaryEmbedding extends Module {
  readonly dim: number;
  readonly base: number;
  /** The dim/2 frequencies θ_i. */
  readonly invFreq: Float64Array;
  private maxLen = 0;
  constructor(opts: { dim: number; maxLen?: number; base?: number; scaling?: RopeScaling | null }) {
    super();
    if (opts.dim % 2 !== 0) throw new Error(`RotaryEmbedding: dim ${opts.dim} must be even`);
    this.dim = opts.dim;
    this.base = opts.base ?? 10000;
    this.invFreq = ropeInverseFrequencies(this.dim, this.base, opts.scaling);
    this.buildTables(opts.maxLen ?? 2048);
  }

  private buildTables(maxLen: number): void {
    const d = this.dim, half = d / 2;
    const cos = new Float32Array(maxLen * d), sin = new Float32Array(maxLen * d);
    for (let p = 0; p < maxLen; p++) {
      for (let i = 0; i < half; i++) {
        const a = p * this.invFreq[i]!;
        cos[p * d + i] = cos[p * d + i + half] = Math.cos(a);
        sin[p * d + i] = sin[p * d + i + half] = Math.sin(a);
      }
    }
    this._buffers.get('cos')?.dispose();
    this._buffers.get('sin')?.dispose();
    this.registerBuffer('cos', tensor(cos, { shape: [maxLen, d] }), false);
    this.registerBuffer('sin', tensor(sin, { shape: [maxLen, d] }), false);
    this.maxLen = maxLen;
  }

  /**
   * cos and sin [B|1, 1, T, dim] of positions [B, T] (default offset..offset+T-1), broadcasting over
   * heads: computed once per forward and shared by every layer (as HF's position_embeddings).
   */
  angles(T: number, positionIds?: Tensor | null, offset = 0, device?: string): { cos: Tensor; sin: Tensor } {
    const pos = positionsOr(positionIds, T, offset, device);
    const need = Math.max(offset + T, positionIds && pos.device === 'cpu' ? pos.max().item() + 1 : 0);
    if (need > this.maxLen) this.buildTables(Math.max(need, 2 * this.maxLen));
    return {
      cos: rowsAt(this.getBuffer('cos'), pos, 'RotaryEmbedding').unsqueeze(1),
      sin: rowsAt(this.getBuffer('sin'), pos, 'RotaryEmbedding').unsqueeze(1),
    };
  }

  /** x [B, H, T, dim] rotated by angles() of its positions: x·cos + rotate_half(x)·sin. */
  rotate(x: Tensor, a: { cos: Tensor; sin: Tensor }): Tensor {
    if (x.shape[x.ndim - 1] !== this.dim) throw new Error(`RotaryEmbedding: x's last dim ${x.shape[x.ndim - 1]} is not ${this.dim}`);
    return rotaryEmbedding(x, a.cos, a.sin);
  }

  /** x [B, H, T, dim] rotated to positions [B, T] (default offset..offset+T-1). */
  forward(x: Tensor, positionIds?: Tensor | null, offset = 0): Tensor {
    return this.rotate(x, this.angles(x.shape[x.ndim - 2]!, positionIds, offset, x.device));
  }
}

/** ALiBi slopes (Press et al.): a geometric sequence per head, interpolated when heads are not a power of 2. */
export function alibiSlopes(numHeads: number): number[] {
  const pow2 = (n: number) => { const start = Math.pow(2, -Math.pow(2, -(Math.log2(n) - 3))); return Array.from({ length: n }, (_, i) => Math.pow(start, i + 1)); };
  if (Number.isInteger(Math.log2(numHeads))) return pow2(numHeads);
  const closest = Math.pow(2, Math.floor(Math.log2(numHeads)));
  return [...pow2(closest), ...pow2(2 * closest).filter((_, i) => i % 2 === 0).slice(0, numHeads - closest)];
}

/** ALiBi: score bias −slope_h·|i − j|; no parameters, and works past any trained length. */
export class ALiBi extends Module implements ScoreBias {
  readonly numHeads: number;
  readonly slopes: number[];
  private cache = new Cache();
  constructor(opts: { numHeads: number }) {
    super();
    this.numHeads = opts.numHeads;
    this.slopes = alibiSlopes(opts.numHeads);
  }
  scoreBias(q: Tensor, qOffset: number, S: number, positionless = 0): Tensor {
    const L = q.shape[q.ndim - 2]!, H = this.numHeads, P = positionless;
    // Computed once per shape and shared by every layer (positionless columns stay 0).
    return this.cache.get(`${L},${S},${qOffset},${P},${q.device}`, () => {
      const b = new Float32Array(H * L * S);
      for (let h = 0; h < H; h++) {
        const s = this.slopes[h]!;
        for (let i = 0; i < L; i++) for (let j = P; j < S; j++) b[(h * L + i) * S + j] = -s * Math.abs(i + qOffset - (j - P));
      }
      return tensor(b, { shape: [1, H, L, S], device: q.device });
    });
  }
}

/**
 * Relative positions (Shaw et al. 2018): learned vectors a_d for clipped distances d = clip(j − i, −k, k),
 * shared by the heads; the score of query i and key j gains q_i · a_{j−i} / √Dh. Keys: weight [2k+1, Dh].
 */
export class RelativePositionBias extends Module implements ScoreBias {
  readonly maxRelativePosition: number;
  readonly headDim: number;
  weight: Tensor;
  private cache = new Cache();
  constructor(opts: { headDim: number; maxRelativePosition: number }) {
    super();
    const k = opts.maxRelativePosition;
    if (!(k >= 0)) throw new Error(`RelativePositionBias: maxRelativePosition must be ≥ 0, got ${k}`);
    this.maxRelativePosition = k;
    this.headDim = opts.headDim;
    this.weight = this.registerParameter('weight', normal_(tensor(new Float32Array((2 * k + 1) * opts.headDim), { shape: [2 * k + 1, opts.headDim] }), 0, 0.02))!;
  }
  scoreBias(q: Tensor, qOffset: number, S: number, positionless = 0): Tensor {
    const [B, H, L] = q.shape as [number, number, number];
    const k = this.maxRelativePosition, P = positionless;
    // [B, H, L, 2k+1]: each query against every distance vector, then picked per key. Positionless keys
    // pick column 2k+1, a zero distance vector's: one row more in the small table, not a column
    // more copied into the large product.
    const table = P > 0 ? cat([this.weight, this.cache.get(`zero,${q.device}`, () => zeros([1, this.headDim], { device: q.device }))], 0) : this.weight;
    const rel = q.matmul(table.mT).mul(1 / Math.sqrt(this.headDim));
    const idx = this.cache.get(`${B},${H},${L},${S},${qOffset},${P},${q.device}`, () => {
      // gather wants an index of the output's full shape: the [L, S] pattern repeated B·H times.
      const m = new Int32Array(B * H * L * S);
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < S; j++) m[i * S + j] = j < P ? 2 * k + 1 : Math.min(Math.max(j - P - (i + qOffset), -k), k) + k;
      }
      for (let r = 1; r < B * H; r++) m.copyWithin(r * L * S, 0, L * S);
      return tensor(m, { shape: [B, H, L, S], device: q.device });
    });
    return rel.gather(-1, idx);
  }
  override setParameter(name: string, t: Tensor): void {
    super.setParameter(name, t);
    if (name === 'weight') this.weight = t;
  }
}

export type PositionType = 'learned' | 'absolute' | 'sinusoidal' | 'sinusoidal_concat' | 'relative' | 'rope' | 'alibi' | 'none';

export const POSITION_TYPES: readonly PositionType[] = ['learned', 'absolute', 'sinusoidal', 'sinusoidal_concat', 'relative', 'rope', 'alibi', 'none'];

export function checkPositionType(t: string): PositionType {
  if (!POSITION_TYPES.includes(t as PositionType)) throw new Error(`unknown position_embedding_type '${t}': expected one of ${POSITION_TYPES.join(', ')}`);
  return t as PositionType;
}

/** Whether the position type acts on the embeddings (true) or inside attention (false). */
export function isEmbeddingPosition(t: PositionType): boolean {
  return t === 'learned' || t === 'absolute' || t === 'sinusoidal' || t === 'sinusoidal_concat';
}

// Attention: one core (attend) that every model uses, and torch.nn.MultiheadAttention on top of it.
//
// Mask conventions differ by layer, as in PyTorch: attend() and F.scaledDotProductAttention take
// bool masks where true = may attend; nn.MultiheadAttention takes torch MHA's masks where
// true = NOT allowed. Float masks are always added to the scores.

import { tensor } from '../tensor/ops/creation.js';
import { layerOptions, requirePositiveInts } from './options.js';
import { cat } from '../tensor/ops/indexing.js';
import { where } from '../tensor/ops/elementwise.js';
import { causalMask, dropout, scaledDotProductAttention } from '../tensor/ops/nn.js';
import { linear } from '../tensor/ops/linalg.js';
import { zeros } from '../tensor/ops/creation.js';
import { empty } from '../tensor/ops/core.js';
import type { Tensor } from '../tensor/tensor.js';
import { xavierNormal_, xavierUniform_, zeros_ } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import type { RotaryEmbedding, ScoreBias } from './positional.js';

export interface AttendOptions {
  /** bool (true = may attend) or float (added); broadcasts to [B, H, L, S]. */
  mask?: Tensor | null;
  /** Query i sits at position S - L + i and sees keys up to it (bottom-right aligned, as a KV cache needs). */
  isCausal?: boolean;
  /** Float scores added after scaling (ALiBi, relative positions); broadcasts to [B, H, L, S]. */
  bias?: Tensor | null;
  scale?: number;
  dropoutP?: number;
  training?: boolean;
  /** Also return the attention probabilities [B, H, L, S] (computed explicitly, not fused). */
  needWeights?: boolean;
}

/**
 * [L, S] bool, true where query i (at position S - L + i) may see key j; with a sliding window W
 * (Mistral), only the last W keys up to it: S - L + i - W < j ≤ S - L + i.
 */
export function causalAllowed(L: number, S: number, device?: string, slidingWindow?: number | null): Tensor {
  const m = new Uint8Array(L * S);
  const off = S - L;
  for (let i = 0; i < L; i++) {
    const end = Math.min(S, i + off + 1);
    m.fill(1, i * S + (slidingWindow ? Math.max(0, end - slidingWindow) : 0), i * S + end);
  }
  return tensor(m, { shape: [L, S], dtype: 'bool', device });
}

/** Folds causality and a score bias into one SDPA mask (bool may-attend, or float additive). */
function combineMasks(L: number, S: number, device: string, opts: AttendOptions): { mask: Tensor | null; isCausal: boolean } {
  let mask = opts.mask ?? null;
  let isCausal = !!opts.isCausal && L > 1; // one query at the end sees every key
  if (isCausal && (mask !== null || opts.bias || L !== S || opts.needWeights)) {
    const allowed = causalAllowed(L, S, device);
    mask = mask === null ? allowed : mask.dtype === 'bool' ? mask.logicalAnd(allowed) : where(allowed, mask, -Infinity);
    isCausal = false;
  }
  if (opts.bias) mask = mask === null ? opts.bias : mask.dtype === 'bool' ? where(mask, opts.bias, -Infinity) : mask.add(opts.bias);
  return { mask, isCausal };
}

/**
 * softmax(q kᵀ · scale + bias + mask) v over q [B, H, L, Dh], k and v [B, H, S, Dh]. Without
 * needWeights it goes through F.scaledDotProductAttention (the fused kernel where there is one).
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, opts: AttendOptions = {}): { output: Tensor; weights: Tensor | null } {
  const L = q.shape[q.ndim - 2]!, S = k.shape[k.ndim - 2]!;
  const scale = opts.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]!);
  const training = opts.training ?? false;
  const { mask, isCausal } = combineMasks(L, S, q.device, opts);
  if (!opts.needWeights) {
    const output = scaledDotProductAttention(q, k, v, { attnMask: mask, isCausal, scale, dropoutP: training ? opts.dropoutP ?? 0 : 0, training });
    return { output, weights: null };
  }
  let scores = q.matmul(k.mT).mul(scale);
  if (mask !== null) scores = mask.dtype === 'bool' ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
  let weights = scores.softmax(-1);
  if (training && opts.dropoutP) weights = dropout(weights, opts.dropoutP, true);
  return { output: weights.matmul(v), weights };
}

/** Cached keys and values of one attention layer, [B, H, T, Dh]. */
export interface KeyValue {
  key: Tensor;
  value: Tensor;
  /**
   * A cache that grows in place (preallocated): writes the new keys/values after its own and
   * returns the extended layer. Without it, attention layers concatenate (a copy of the whole
   * cache per step).
   */
  append?: (key: Tensor, value: Tensor) => KeyValue;
}

/** This step's keys/values after the cached ones: the layer's present (KeyValue), for the cache to keep. */
export function extendKeyValue(past: KeyValue | null, key: Tensor, value: Tensor): KeyValue {
  if (past === null) return { key, value };
  if (past.append) return past.append(key, value);
  return { key: cat([past.key, key], 2), value: cat([past.value, value], 2) };
}

export interface MultiheadAttentionOptions {
  embedDim: number;
  numHeads: number;
  dropout?: number;
  bias?: boolean;
  addBiasKv?: boolean;
  addZeroAttn?: boolean;
  kdim?: number;
  vdim?: number;
  batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** [N, S]: bool, true = ignore this key; or float, added. */
  keyPaddingMask?: Tensor | null;
  needWeights?: boolean;
  /** [L, S] or [N·numHeads, L, S]: bool, true = NOT allowed (torch MHA); or float, added. */
  attnMask?: Tensor | null;
  /** Return weights averaged over heads [N, L, S] (default) or per head [N, H, L, S]. */
  averageAttnWeights?: boolean;
  /** Causal self-attention; used when no attnMask is given (with one, torch treats it as a hint). */
  isCausal?: boolean;
  /** Positions for RoPE, int32 [N, L] (default 0..L-1). */
  positionIds?: Tensor | null;
}

/** Converts a torch-MHA mask (bool true = blocked) to attend()'s conventions. */
function canonicalMask(m: Tensor, name: string): Tensor {
  if (m.dtype === 'bool') return m.logicalNot();
  if (m.dtype === 'float32') return m;
  throw new Error(`MultiheadAttention: ${name} must be bool or float32, got ${m.dtype}`);
}

function mergeMasks(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (a === null || b === null) return a ?? b;
  if (a.dtype === 'bool' && b.dtype === 'bool') return a.logicalAnd(b);
  const fa = a.dtype === 'bool' ? where(a, 0, -Infinity) : a;
  const fb = b.dtype === 'bool' ? where(b, 0, -Infinity) : b;
  return fa.add(fb);
}

/** Appends one key column to a mask that is not blocked (bias_k / zero attention). */
function padMask(m: Tensor | null): Tensor | null {
  if (m === null) return null;
  const shape = [...m.shape.slice(0, -1), 1];
  const pad = m.dtype === 'bool' ? tensor(new Uint8Array(shape.reduce((a, d) => a * d, 1)).fill(1), { shape, dtype: 'bool', device: m.device }) : zeros(shape, { device: m.device });
  return cat([m, pad], -1);
}

/**
 * torch.nn.MultiheadAttention: packed in_proj_weight [3E, E] (or q/k/v_proj_weight when kdim or
 * vdim differ), in_proj_bias, out_proj; forward returns [output, weights | null].
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  readonly qkvSameEmbedDim: boolean;
  readonly outProj: Linear;
  /** Optional position hooks for self-attention (set by models through their config). */
  rotary: RotaryEmbedding | null = null;
  scoreBias: ScoreBias | null = null;

  /** new MultiheadAttention({ embedDim, numHeads, ... }), or torch's MultiheadAttention(embedDim, numHeads, dropout, bias). */
  constructor(options: MultiheadAttentionOptions | number, ...rest: unknown[]) {
    super();
    const opts = layerOptions<MultiheadAttentionOptions>('MultiheadAttention', options, rest, ['embedDim', 'numHeads', 'dropout', 'bias']);
    requirePositiveInts('MultiheadAttention', { embedDim: opts.embedDim, numHeads: opts.numHeads });
    if (opts.dropout !== undefined && !(opts.dropout >= 0 && opts.dropout < 1)) throw new Error(`MultiheadAttention: dropout must be in [0, 1), got ${opts.dropout}`);
    const E = opts.embedDim;
    if (E % opts.numHeads !== 0) throw new Error(`MultiheadAttention: embedDim ${E} must be divisible by numHeads ${opts.numHeads}`);
    this.embedDim = E;
    this.numHeads = opts.numHeads;
    this.headDim = E / opts.numHeads;
    this.kdim = opts.kdim ?? E;
    this.vdim = opts.vdim ?? E;
    this.dropout = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    this.addZeroAttn = opts.addZeroAttn ?? false;
    this.qkvSameEmbedDim = this.kdim === E && this.vdim === E;
    const bias = opts.bias ?? true;
    // Registration order gives torch's state-dict order.
    if (this.qkvSameEmbedDim) {
      this.registerParameter('in_proj_weight', empty([3 * E, E]));
    } else {
      this.registerParameter('q_proj_weight', empty([E, E]));
      this.registerParameter('k_proj_weight', empty([E, this.kdim]));
      this.registerParameter('v_proj_weight', empty([E, this.vdim]));
    }
    if (bias) this.registerParameter('in_proj_bias', empty([3 * E]));
    this.outProj = this.registerModule('out_proj', new Linear(E, E, { bias }));
    if (opts.addBiasKv) {
      this.registerParameter('bias_k', empty([1, 1, E]));
      this.registerParameter('bias_v', empty([1, 1, E]));
    }
    this.resetParameters();
  }

  /** torch's _reset_parameters: xavier_uniform projections, zero biases, xavier_normal bias_k/v. */
  resetParameters(): void {
    const p = (n: string) => this._parameters.get(n) ?? null;
    for (const n of ['in_proj_weight', 'q_proj_weight', 'k_proj_weight', 'v_proj_weight']) { const t = p(n); if (t) xavierUniform_(t); }
    const inB = p('in_proj_bias');
    if (inB) { zeros_(inB); zeros_(this.outProj.bias!); }
    for (const n of ['bias_k', 'bias_v']) { const t = p(n); if (t) xavierNormal_(t); }
  }

  /** Attaches (or removes) RoPE and a score bias (ALiBi, relative positions) for self-attention. */
  setPositional(pos: { rotary?: RotaryEmbedding | null; scoreBias?: ScoreBias | null }): this {
    this.rotary = pos.rotary ?? null;
    this.scoreBias = pos.scoreBias ?? null;
    // A score bias with parameters of its own (relative positions) is part of this layer's state.
    if (this.scoreBias instanceof Module) this.registerModule('relative_position', this.scoreBias);
    else this._modules.delete('relative_position');
    return this;
  }

  /** q, k, v projections of batch-first inputs, sharing one matmul where the inputs coincide. */
  private project(query: Tensor, key: Tensor, value: Tensor, queryOnly = false): [Tensor, Tensor, Tensor] {
    const E = this.embedDim;
    const b = this._parameters.get('in_proj_bias') ?? null;
    const bias = (i: number, n = 1) => b?.narrow(0, i * E, n * E) ?? null; // rows of q, k, v
    if (!this.qkvSameEmbedDim) {
      const q = linear(query, this.getParameter('q_proj_weight'), bias(0));
      if (queryOnly) return [q, q, q];
      return [q, linear(key, this.getParameter('k_proj_weight'), bias(1)), linear(value, this.getParameter('v_proj_weight'), bias(2))];
    }
    const w = this.getParameter('in_proj_weight');
    if (query === key && key === value && !queryOnly) return linear(query, w, b).split(E, -1) as [Tensor, Tensor, Tensor];
    const q = linear(query, w.narrow(0, 0, E), bias(0));
    if (queryOnly) return [q, q, q];
    if (key === value) {
      const [k, v] = linear(key, w.narrow(0, E, 2 * E), bias(1, 2)).split(E, -1);
      return [q, k!, v!];
    }
    return [q, linear(key, w.narrow(0, E, E), bias(1)), linear(value, w.narrow(0, 2 * E, E), bias(2))];
  }

  forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const { output, weights } = this.attention(query, key, value, opts);
    return [output, weights];
  }

  /**
   * forward() with a KV cache: pastKeyValue holds earlier keys and values [N, H, T, Dh] that the new
   * ones extend (self-attention); staticKeyValue replaces the key/value projections altogether
   * (cross-attention over a fixed memory). present is what to pass next time.
   */
  attention(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions & {
    pastKeyValue?: KeyValue | null; staticKeyValue?: KeyValue | null;
  } = {}): { output: Tensor; weights: Tensor | null; present: KeyValue } {
    const needWeights = opts.needWeights ?? true;
    const unbatched = query.ndim === 2;
    if (!unbatched && query.ndim !== 3) throw new Error(`MultiheadAttention: query must be [L, E] or 3-D, got [${query.shape.join(',')}]`);
    // Work batch-first: [N, L, E].
    const toBF = (x: Tensor) => (unbatched ? x.unsqueeze(0) : this.batchFirst ? x : x.transpose(0, 1));
    const q0 = toBF(query);
    const k0 = key === query ? q0 : toBF(key);
    const v0 = value === key ? k0 : toBF(value);
    const [N, L, E] = q0.shape as [number, number, number];
    if (E !== this.embedDim) throw new Error(`MultiheadAttention: query has ${E} features, expected embedDim ${this.embedDim}`);
    if (k0.shape[0] !== N || v0.shape[0] !== N) throw new Error(`MultiheadAttention: query, key and value batch sizes differ (${N}, ${k0.shape[0]}, ${v0.shape[0]})`);
    const H = this.numHeads, Dh = this.headDim;
    const biasK = this._parameters.get('bias_k') ?? null, biasV = this._parameters.get('bias_v') ?? null;
    const cached = opts.pastKeyValue ?? opts.staticKeyValue ?? null;
    let extended: KeyValue | null = null;
    if (opts.pastKeyValue && opts.staticKeyValue) throw new Error('MultiheadAttention: pass pastKeyValue (self-attention) or staticKeyValue (cross-attention), not both');
    if (cached && (biasK || this.addZeroAttn)) throw new Error('MultiheadAttention: a KV cache does not combine with addBiasKv or addZeroAttn');
    const past = opts.pastKeyValue?.key.shape[2] ?? 0;
    // [N, T, E] → [N, H, T, Dh]
    const heads = (x: Tensor) => x.reshape(N, x.shape[1]!, H, Dh).transpose(1, 2);

    let q: Tensor, k: Tensor, v: Tensor;
    if (opts.staticKeyValue) {
      q = heads(this.project(q0, q0, q0, true)[0]);
      ({ key: k, value: v } = opts.staticKeyValue);
    } else {
      [q, k, v] = this.project(q0, k0, v0);
    }
    let S = opts.staticKeyValue ? k.shape[2]! : k.shape[1]!;
    let attnMask = opts.attnMask ? canonicalMask(opts.attnMask, 'attnMask') : null;
    let kpm = opts.keyPaddingMask ? canonicalMask(opts.keyPaddingMask, 'keyPaddingMask') : null;
    const Stotal = S + past;
    if (kpm && (kpm.ndim !== 2 || kpm.shape[0] !== N || kpm.shape[1] !== Stotal)) {
      throw new Error(`MultiheadAttention: keyPaddingMask must be [${N}, ${Stotal}], got [${kpm.shape.join(',')}]`);
    }
    if (attnMask) {
      if (attnMask.ndim === 2) {
        if (attnMask.shape[0] !== L || attnMask.shape[1] !== Stotal) throw new Error(`MultiheadAttention: 2-D attnMask must be [${L}, ${Stotal}], got [${attnMask.shape.join(',')}]`);
      } else if (attnMask.ndim === 3) {
        if (attnMask.shape[0] !== N * H || attnMask.shape[1] !== L || attnMask.shape[2] !== Stotal) {
          throw new Error(`MultiheadAttention: 3-D attnMask must be [${N * H}, ${L}, ${Stotal}], got [${attnMask.shape.join(',')}]`);
        }
      } else throw new Error(`MultiheadAttention: attnMask must be 2-D or 3-D, got [${attnMask.shape.join(',')}]`);
    }
    if (!opts.staticKeyValue) {
      if (biasK && biasV) {
        k = cat([k, biasK.expand(N, 1, E)], 1);
        v = cat([v, biasV.expand(N, 1, E)], 1);
        attnMask = padMask(attnMask); kpm = padMask(kpm); S++;
      }
      q = heads(q); k = heads(k); v = heads(v);
      if (this.rotary) {
        q = this.rotary.forward(q, opts.positionIds ?? null, past);
        k = this.rotary.forward(k, key === query ? opts.positionIds ?? null : null, past);
      }
      if (opts.pastKeyValue) {
        extended = extendKeyValue(opts.pastKeyValue, k, v);
        k = extended.key;
        v = extended.value;
        S += past;
      }
    } else if (this.rotary) {
      q = this.rotary.forward(q, opts.positionIds ?? null, 0);
    }
    // The cache keeps what extendKeyValue returned (a cache that grows in place hands back its own view).
    const present: KeyValue = extended ?? { key: k, value: v };
    if (this.addZeroAttn) {
      k = cat([k, zeros([N, H, 1, Dh], { device: k.device })], 2);
      v = cat([v, zeros([N, H, 1, Dh], { device: v.device })], 2);
      attnMask = padMask(attnMask); kpm = padMask(kpm); S++;
    }
    // Masks to [N, H|1, L|1, S].
    if (attnMask && attnMask.ndim === 3) attnMask = attnMask.reshape(N, H, L, S);
    if (kpm) kpm = kpm.reshape(N, 1, 1, S);
    const mask = mergeMasks(attnMask, kpm);
    const isCausal = !!opts.isCausal && !opts.attnMask;
    const bias = this.scoreBias ? this.scoreBias.scoreBias(q, S - L, S) : null;
    const { output, weights } = attend(q, k, v, { mask, isCausal, bias, dropoutP: this.dropout, training: this.training, needWeights });
    let out = this.outProj.forward(output.transpose(1, 2).reshape(N, L, E));
    out = unbatched ? out.squeeze(0) : this.batchFirst ? out : out.transpose(0, 1);
    if (weights === null) return { output: out, weights: null, present };
    let w = (opts.averageAttnWeights ?? true) ? weights.mean(1) : weights;
    if (unbatched) w = w.squeeze(0);
    return { output: out, weights: w, present };
  }
}

export { causalMask };

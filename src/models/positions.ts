// How models use positional encodings and padding masks, shared by the families: the one place a
// config's position_embedding_type becomes modules — on the embeddings (positionEmbedding) or
// inside attention (attentionPositions) — and the padding/causal mask every layer reads.

import { where } from '../tensor/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import { causalAllowed } from '../nn/attention.js';
import {
  ALiBi, LearnedPositionalEmbedding, RelativePositionBias, RotaryEmbedding, SinusoidalPositionalEncoding, checkPositionType, isEmbeddingPosition,
  type PositionType, type ScoreBias,
} from '../nn/positional.js';
import type { RopeScaling } from '../nn/rope_scaling.js';
import { MASK_MIN } from './hf.js';

/** What acts on the embeddings: a learned table, or a fixed sinusoidal one (added or concatenated). */
export type PositionEmbedding = LearnedPositionalEmbedding | SinusoidalPositionalEncoding;

/**
 * The width a position type takes from the token embeddings: sinusoidal_concat appends its
 * encoding (configured width, default half the model's), so tokens get the rest; others take none.
 */
export function positionConcatDim(type: string, modelDim: number, configured?: number | null): number {
  return checkPositionType(type) === 'sinusoidal_concat' ? configured ?? modelDim / 2 : 0;
}

/**
 * The embedding-side module of a position type, or null where positions act inside attention
 * (relative, rope, alibi) or nowhere (none): 'learned'/'absolute' → a table of maxPositions rows
 * (HF's wpe / position_embeddings: key `weight`), 'sinusoidal' → a fixed table added,
 * 'sinusoidal_concat' → a fixed table of concatDim columns appended.
 */
export function positionEmbedding(type: string, o: { dim: number; maxPositions: number; concatDim?: number }): PositionEmbedding | null {
  const t = checkPositionType(type);
  if (t === 'learned' || t === 'absolute') return new LearnedPositionalEmbedding(o.maxPositions, o.dim);
  if (t === 'sinusoidal') return new SinusoidalPositionalEncoding({ dim: o.dim, maxLen: o.maxPositions });
  if (t === 'sinusoidal_concat') return new SinusoidalPositionalEncoding({ dim: o.concatDim ?? positionConcatDim(t, o.dim), maxLen: o.maxPositions, mode: 'concat' });
  return null;
}

/** x [B, T, d] with positions put in: at positionIds [B|1, T] when given, else offset..offset+T-1; x itself when pe is null. */
export function addPositions(pe: PositionEmbedding | null, x: Tensor, positionIds: Tensor | null, offset = 0): Tensor {
  if (pe instanceof LearnedPositionalEmbedding) return pe.add(x, positionIds, offset);
  if (pe instanceof SinusoidalPositionalEncoding) return pe.forward(x, positionIds, offset);
  return x;
}

export interface AttentionPositionOptions {
  numHeads: number;
  headDim: number;
  maxPositions: number;
  /** k of relative positions: distances are clipped to −k…k. */
  maxRelativePosition?: number;
  ropeTheta?: number;
  /** config.json's rope_scaling (linear, llama3). */
  ropeScaling?: RopeScaling | null;
}

/** The attention-side pieces of a position type: one RoPE shared by all layers, a score bias per layer. */
export interface AttentionPositions {
  type: PositionType;
  rotary: RotaryEmbedding | null;
  /** ALiBi is one shared (parameter-free) module; relative positions are learned per layer. */
  scoreBias(): ScoreBias | null;
}

export function attentionPositions(type: string, o: AttentionPositionOptions): AttentionPositions {
  const t = checkPositionType(type);
  const rotary = t === 'rope' ? new RotaryEmbedding({ dim: o.headDim, maxLen: o.maxPositions, base: o.ropeTheta ?? 10000, scaling: o.ropeScaling }) : null;
  const alibi = t === 'alibi' ? new ALiBi({ numHeads: o.numHeads }) : null;
  return {
    type: t,
    rotary,
    scoreBias: () => (alibi ?? (t === 'relative' ? new RelativePositionBias({ headDim: o.headDim, maxRelativePosition: o.maxRelativePosition ?? 16 }) : null)),
  };
}

/**
 * The attention mask for a model's layers, built once per forward: from a [B, S] padding mask
 * (1 = token, 0 = padding) and causality, an additive float mask [B|1, 1, L|1, S] with HF's finite
 * minimum (so a fully padded row gives uniform weights, not NaN). Without padding the mask is null
 * and causality is left to the attention kernel (isCausal), the fast path. A sliding window
 * (Mistral) limits each query to the last slidingWindow keys, counted in cache slots (left padding
 * only ever precedes a row's tokens, so slots and tokens agree on distances).
 */
export function modelAttentionMask(attentionMask: Tensor | null, L: number, S: number, causal: boolean,
  slidingWindow: number | null = null): { mask: Tensor | null; isCausal: boolean } {
  if (attentionMask !== null) {
    if (attentionMask.ndim !== 2 || attentionMask.shape[1] !== S) {
      throw new Error(`attentionMask must be [batch, ${S}] (past + new tokens), got [${attentionMask.shape.join(',')}]`);
    }
    // All ones: no padding, no mask (cheap to see on the cpu; elsewhere the mask is kept).
    if (attentionMask.device === 'cpu' && attentionMask.min().item() !== 0) attentionMask = null;
  }
  // The window matters only once some query could see more keys than it holds.
  const window = causal && slidingWindow !== null && S > slidingWindow ? slidingWindow : null;
  if (attentionMask === null && window === null) return { mask: null, isCausal: causal };
  if (attentionMask === null) return { mask: where(causalAllowed(L, S, undefined, window).reshape(1, 1, L, S), 0, MASK_MIN), isCausal: false };
  const B = attentionMask.shape[0]!;
  let allowed = attentionMask.ne(0).reshape(B, 1, 1, S);
  if (causal) allowed = allowed.logicalAnd(causalAllowed(L, S, attentionMask.device, window));
  return { mask: where(allowed, 0, MASK_MIN), isCausal: false };
}

/**
 * Whether a config's positions come from a table of max_position_embeddings / n_positions rows
 * (learned, sinusoidal), which bounds the input length; positions inside attention (ALiBi, RoPE,
 * clipped relative) or none take any length. A config without the field has its family's table.
 */
export function hasPositionTable(config: object): boolean {
  const type = (config as { position_embedding_type?: unknown }).position_embedding_type;
  return typeof type !== 'string' || isEmbeddingPosition(checkPositionType(type));
}

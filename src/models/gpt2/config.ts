// GPT-2's config.json, with HF's field names. The defaults are GPT-2 small (124M parameters).
// tlm adds three options, written to config.json only when they differ from GPT-2:
//   position_embedding_type: 'learned' (GPT-2's wpe) | 'sinusoidal' | 'sinusoidal_concat' | 'relative' | 'rope' | 'alibi' | 'none'
//   norm_first: true (GPT-2's pre-norm) | false (post-norm, as GPT-1 and the original Transformer)
//   max_relative_position (relative), rope_theta (rope), position_embedding_dim (sinusoidal_concat),
//   bias: false (nanoGPT's bias-free linear layers and LayerNorms)

import type { BaseConfig } from '../modeling.js';
import { checkPositionType, type PositionType } from '../../nn/positional.js';

export interface GPT2Config extends BaseConfig {
  model_type: 'gpt2';
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP width; null = 4·n_embd. */
  n_inner: number | null;
  activation_function: string;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  scale_attn_weights: boolean;
  scale_attn_by_inverse_layer_idx: boolean;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  position_embedding_type: PositionType;
  norm_first: boolean;
  max_relative_position: number;
  rope_theta: number;
  position_embedding_dim: number | null;
  /** Biases in the linear layers and LayerNorms (GPT-2: true; nanoGPT's default: false). */
  bias: boolean;
}

const TLM_DEFAULTS = { position_embedding_type: 'learned', norm_first: true, max_relative_position: 16, rope_theta: 10000, position_embedding_dim: null, bias: true } as const;

export const GPT2_SMALL: Omit<GPT2Config, keyof typeof TLM_DEFAULTS> = {
  model_type: 'gpt2',
  vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null,
  activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1,
  layer_norm_epsilon: 1e-5, initializer_range: 0.02, scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false,
  tie_word_embeddings: true, bos_token_id: 50256, eos_token_id: 50256,
};

/** A full config from a partial one (HF's config.json, or options), checked. */
export function gpt2Config(partial: Partial<GPT2Config> & Record<string, unknown> = {}): GPT2Config {
  const c = { ...GPT2_SMALL, ...TLM_DEFAULTS, ...partial, model_type: 'gpt2' } as GPT2Config;
  for (const k of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`GPT-2 config: ${k} must be a positive integer, got ${String(c[k])}`);
  }
  if (c.n_embd % c.n_head !== 0) throw new Error(`GPT-2 config: n_embd ${c.n_embd} must be divisible by n_head ${c.n_head}`);
  checkPositionType(c.position_embedding_type);
  return c;
}

/** config.json contents: HF's fields, plus tlm's only where they differ from GPT-2. */
export function gpt2ConfigDict(c: GPT2Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const [k, v] of Object.entries(TLM_DEFAULTS)) if (out[k] === v) delete out[k];
  return out;
}

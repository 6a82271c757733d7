// MarianMT's config.json, with HF Transformers' MarianConfig fields and defaults (the
// Helsinki-NLP/opus-mt-* checkpoints override most of them: 6+6 layers, d_model 512, swish).
// Fields HF keeps from BART's old config (normalize_before, normalize_embedding,
// static_position_embeddings, add_final_layer_norm, add_bias_logits) describe what Marian always
// is; a config that sets them otherwise describes another model, and is refused.

import type { BaseConfig } from '../modeling.js';
import { getActivation } from '../../nn/activation.js';

export interface MarianConfig extends BaseConfig {
  model_type: 'marian';
  vocab_size: number;
  /** The decoder's (target) vocabulary; equals vocab_size when the embeddings are shared. */
  decoder_vocab_size: number;
  max_position_embeddings: number;
  d_model: number;
  encoder_layers: number;
  decoder_layers: number;
  encoder_attention_heads: number;
  decoder_attention_heads: number;
  encoder_ffn_dim: number;
  decoder_ffn_dim: number;
  /** 'swish' in the OPUS-MT checkpoints; relu, gelu, silu, gelu_new … as HF's ACT2FN. */
  activation_function: string;
  dropout: number;
  attention_dropout: number;
  activation_dropout: number;
  encoder_layerdrop: number;
  decoder_layerdrop: number;
  init_std: number;
  /** Token embeddings × √d_model. */
  scale_embedding: boolean;
  /** One embedding table (model.shared) for encoder and decoder. */
  share_encoder_decoder_embeddings: boolean;
  /** lm_head.weight is the decoder's embedding table. */
  tie_word_embeddings: boolean;
  pad_token_id: number;
  eos_token_id: number;
  /** Marian starts decoding from the pad token. */
  decoder_start_token_id: number;
  forced_eos_token_id: number | null;
  is_encoder_decoder: true;
  use_cache: boolean;
  num_hidden_layers: number;
  normalize_before: false;
  normalize_embedding: false;
  static_position_embeddings: true;
}

/** HF's MarianConfig() defaults (configuration_marian.py). */
export const MARIAN_DEFAULTS = {
  model_type: 'marian' as const,
  vocab_size: 58101, max_position_embeddings: 1024, encoder_layers: 12, encoder_ffn_dim: 4096, encoder_attention_heads: 16,
  decoder_layers: 12, decoder_ffn_dim: 4096, decoder_attention_heads: 16, encoder_layerdrop: 0, decoder_layerdrop: 0,
  use_cache: true, is_encoder_decoder: true as const, activation_function: 'gelu', d_model: 1024, dropout: 0.1,
  attention_dropout: 0, activation_dropout: 0, init_std: 0.02, decoder_start_token_id: 58100, scale_embedding: false,
  pad_token_id: 58100, eos_token_id: 0, forced_eos_token_id: 0, share_encoder_decoder_embeddings: true,
  tie_word_embeddings: true, normalize_before: false as const, normalize_embedding: false as const,
  static_position_embeddings: true as const,
};

/** Legacy BART fields and the value every Marian model has. */
const FIXED: Record<string, boolean> = {
  normalize_before: false, normalize_embedding: false, static_position_embeddings: true, add_final_layer_norm: false, add_bias_logits: false,
};

export type MarianConfigInput = Partial<MarianConfig> & Record<string, unknown>;

/** A full config from a partial one (a config.json), checked; unknown fields (generation settings, labels) are kept. */
export function marianConfig(partial: MarianConfigInput = {}): MarianConfig {
  if (partial.model_type !== undefined && partial.model_type !== 'marian') {
    throw new Error(`Marian config: model_type must be 'marian', got '${String(partial.model_type)}'`);
  }
  const vocab = partial.vocab_size ?? MARIAN_DEFAULTS.vocab_size;
  const c = { ...MARIAN_DEFAULTS, ...partial, model_type: 'marian' } as MarianConfig;
  // HF: decoder_vocab_size = decoder_vocab_size or vocab_size; num_hidden_layers = encoder_layers.
  c.decoder_vocab_size = (partial.decoder_vocab_size as number | null | undefined) || vocab;
  c.num_hidden_layers = c.encoder_layers;
  const ints = ['vocab_size', 'decoder_vocab_size', 'd_model', 'encoder_layers', 'decoder_layers', 'encoder_attention_heads',
    'decoder_attention_heads', 'encoder_ffn_dim', 'decoder_ffn_dim', 'max_position_embeddings'] as const;
  for (const k of ints) {
    const min = k.endsWith('_layers') ? 0 : 1;
    if (!Number.isInteger(c[k]) || c[k] < min) throw new Error(`Marian config: ${k} must be an integer ≥ ${min}, got ${String(c[k])}`);
  }
  for (const k of ['encoder_attention_heads', 'decoder_attention_heads'] as const) {
    if (c.d_model % c[k] !== 0) throw new Error(`Marian config: d_model ${c.d_model} must be divisible by ${k} ${c[k]}`);
  }
  for (const k of ['dropout', 'attention_dropout', 'activation_dropout', 'encoder_layerdrop', 'decoder_layerdrop'] as const) {
    if (typeof c[k] !== 'number' || !(c[k] >= 0 && c[k] < 1)) throw new Error(`Marian config: ${k} must be in [0, 1), got ${String(c[k])}`);
  }
  for (const k of ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] >= c.decoder_vocab_size) {
      throw new Error(`Marian config: ${k} must be a token id in 0..${c.decoder_vocab_size - 1}, got ${String(c[k])}`);
    }
  }
  if (c.pad_token_id >= c.vocab_size) throw new Error(`Marian config: pad_token_id ${c.pad_token_id} is outside the vocabulary of ${c.vocab_size}`);
  if (c.share_encoder_decoder_embeddings && c.decoder_vocab_size !== c.vocab_size) {
    throw new Error(`Marian config: share_encoder_decoder_embeddings needs decoder_vocab_size = vocab_size, got ${c.decoder_vocab_size} and ${c.vocab_size}`);
  }
  for (const [k, v] of Object.entries(FIXED)) {
    if (partial[k] !== undefined && partial[k] !== v) throw new Error(`Marian config: ${k} must be ${v} (Marian is post-norm with static sinusoidal positions), got ${String(partial[k])}`);
  }
  getActivation(c.activation_function); // throws on an unknown name
  return c;
}

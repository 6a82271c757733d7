// The encoder-decoder Transformer's config.json (tlm's own model type; HF has no such class).
// Field names follow torch.nn.Transformer's options in snake_case.

import type { BaseConfig } from '../modeling.js';
import { checkPositionType } from '../../nn/positional.js';

export interface Seq2SeqConfig extends BaseConfig {
  model_type: 'tlm-seq2seq';
  src_vocab_size: number;
  tgt_vocab_size: number;
  d_model: number;
  nhead: number;
  num_encoder_layers: number;
  num_decoder_layers: number;
  dim_feedforward: number;
  dropout: number;
  activation: 'relu' | 'gelu';
  layer_norm_eps: number;
  norm_first: boolean;
  max_position_embeddings: number;
  /** 'sinusoidal' (the paper) | 'sinusoidal_concat' | 'learned' | 'relative' | 'rope' | 'alibi' | 'none'. */
  position_embedding_type: string;
  max_relative_position: number;
  rope_theta: number;
  position_embedding_dim: number | null;
  /** One vocabulary and one embedding table for source and target (needs equal vocab sizes). */
  share_embeddings: boolean;
  /** The output projection is the target embedding matrix (the paper's weight sharing). */
  tie_word_embeddings: boolean;
  /** Multiply embeddings by √d_model (the paper). */
  scale_embedding: boolean;
  label_smoothing: number;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
}

export const SEQ2SEQ_BASE: Omit<Seq2SeqConfig, 'src_vocab_size' | 'tgt_vocab_size'> = {
  model_type: 'tlm-seq2seq',
  d_model: 512, nhead: 8, num_encoder_layers: 6, num_decoder_layers: 6, dim_feedforward: 2048, dropout: 0.1,
  activation: 'relu', layer_norm_eps: 1e-5, norm_first: false, max_position_embeddings: 1024,
  position_embedding_type: 'sinusoidal', max_relative_position: 16, rope_theta: 10000, position_embedding_dim: null,
  share_embeddings: false, tie_word_embeddings: true, scale_embedding: true, label_smoothing: 0,
  pad_token_id: 0, bos_token_id: 1, eos_token_id: 2, decoder_start_token_id: 1,
};

export function seq2seqConfig(partial: Partial<Seq2SeqConfig> & Record<string, unknown> & { vocab_size?: number }): Seq2SeqConfig {
  const { vocab_size, ...rest } = partial;
  const c = { ...SEQ2SEQ_BASE, src_vocab_size: vocab_size, tgt_vocab_size: vocab_size, ...rest, model_type: 'tlm-seq2seq' } as Seq2SeqConfig;
  for (const k of ['src_vocab_size', 'tgt_vocab_size', 'd_model', 'nhead', 'num_encoder_layers', 'num_decoder_layers', 'dim_feedforward', 'max_position_embeddings'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < (k.startsWith('num_') ? 0 : 1)) throw new Error(`seq2seq config: ${k} must be a positive integer, got ${String(c[k])}`);
  }
  if (c.d_model % c.nhead !== 0) throw new Error(`seq2seq config: d_model ${c.d_model} must be divisible by nhead ${c.nhead}`);
  if (c.share_embeddings && c.src_vocab_size !== c.tgt_vocab_size) {
    throw new Error(`seq2seq config: share_embeddings needs equal vocabularies, got src ${c.src_vocab_size} and tgt ${c.tgt_vocab_size}`);
  }
  checkPositionType(c.position_embedding_type);
  return c;
}

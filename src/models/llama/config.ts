// The config.json of the Llama family, with HF's field names and each model_type's defaults:
//   llama    LlamaConfig (Llama 2 7B's shape)
//   mistral  MistralConfig: sliding_window (a query sees at most the last sliding_window keys)
//   qwen2    Qwen2Config: biases on q/k/v (fixed, not a field), sliding windows only with
//            use_sliding_window, and then only in layers ≥ max_window_layers
// Transformers 5 writes rope_parameters { rope_type, rope_theta, … } in place of rope_theta and
// rope_scaling; both are read, and the older pair is written (every version reads it).

import type { BaseConfig } from '../modeling.js';
import { checkRopeScaling, ropeType, type RopeScaling } from '../../nn/rope_scaling.js';

export type LlamaFamily = 'llama' | 'mistral' | 'qwen2';

export interface LlamaConfig extends BaseConfig {
  model_type: LlamaFamily;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Grouped-query attention: each key/value head serves num_attention_heads / num_key_value_heads query heads. */
  num_key_value_heads: number;
  head_dim: number;
  hidden_act: string;
  max_position_embeddings: number;
  initializer_range: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  attention_dropout: number;
  tie_word_embeddings: boolean;
  use_cache: boolean;
  pad_token_id: number | null;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  /** llama: biases on q, k, v and o (qwen2 has q/k/v biases always, mistral none). */
  attention_bias?: boolean;
  mlp_bias?: boolean;
  /** mistral, qwen2: the window; null = full attention. */
  sliding_window?: number | null;
  use_sliding_window?: boolean;
  max_window_layers?: number;
}

const COMMON = {
  hidden_act: 'silu', initializer_range: 0.02, rms_norm_eps: 1e-6, rope_theta: 10000, rope_scaling: null,
  attention_dropout: 0, use_cache: true, pad_token_id: null,
};

/** HF's defaults per model_type (num_key_value_heads and head_dim null: derived below). */
const DEFAULTS: Record<LlamaFamily, Record<string, unknown>> = {
  llama: {
    ...COMMON, vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: null, head_dim: null, max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: 2,
    tie_word_embeddings: false, attention_bias: false, mlp_bias: false, pretraining_tp: 1,
  },
  mistral: {
    ...COMMON, vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 8, head_dim: null, max_position_embeddings: 4096 * 32, bos_token_id: 1, eos_token_id: 2,
    tie_word_embeddings: false, sliding_window: 4096,
  },
  qwen2: {
    ...COMMON, vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 32, head_dim: null, max_position_embeddings: 32768, bos_token_id: null, eos_token_id: null,
    tie_word_embeddings: false, use_sliding_window: false, sliding_window: 4096, max_window_layers: 28,
  },
};

export const LLAMA_FAMILIES = Object.keys(DEFAULTS) as LlamaFamily[];

/** rope_parameters (transformers 5) → rope_theta + rope_scaling. */
function fromRopeParameters(c: Record<string, unknown>): Record<string, unknown> {
  const p = c.rope_parameters as Record<string, unknown> | undefined;
  if (p === undefined || p === null || typeof p !== 'object') return c;
  const { rope_theta: theta, ...scaling } = p;
  const out: Record<string, unknown> = { ...c, rope_scaling: ropeType(scaling) === 'default' ? null : scaling };
  if (theta !== undefined) out.rope_theta = theta;
  delete out.rope_parameters;
  return out;
}

/** A full config of `family` from a partial one (HF's config.json, or options), checked. */
export function llamaConfig(partial: Record<string, unknown> = {}, family: LlamaFamily = 'llama'): LlamaConfig {
  const c = { ...DEFAULTS[family], ...fromRopeParameters(partial), model_type: family } as LlamaConfig & Record<string, unknown>;
  const where = `${family} config`;
  for (const k of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`${where}: ${k} must be a positive integer, got ${String(c[k])}`);
  }
  c.num_key_value_heads ??= c.num_attention_heads;
  if (!Number.isInteger(c.num_key_value_heads) || c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads !== 0) {
    throw new Error(`${where}: num_key_value_heads ${String(c.num_key_value_heads)} must divide num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.head_dim === null || c.head_dim === undefined) {
    if (c.hidden_size % c.num_attention_heads !== 0) throw new Error(`${where}: hidden_size ${c.hidden_size} must be divisible by num_attention_heads ${c.num_attention_heads} (or give head_dim)`);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (!Number.isInteger(c.head_dim) || c.head_dim <= 0 || c.head_dim % 2 !== 0) throw new Error(`${where}: head_dim must be a positive even integer (RoPE turns pairs), got ${String(c.head_dim)}`);
  if (!(c.rope_theta > 0)) throw new Error(`${where}: rope_theta must be > 0, got ${String(c.rope_theta)}`);
  if (!(c.rms_norm_eps > 0)) throw new Error(`${where}: rms_norm_eps must be > 0, got ${String(c.rms_norm_eps)}`);
  if (!(c.attention_dropout >= 0 && c.attention_dropout < 1)) throw new Error(`${where}: attention_dropout must be in [0, 1), got ${String(c.attention_dropout)}`);
  const w = c.sliding_window;
  if (w !== undefined && w !== null && !(Number.isInteger(w) && w > 0)) throw new Error(`${where}: sliding_window must be a positive integer or null, got ${String(w)}`);
  try {
    checkRopeScaling(c.rope_scaling);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  return c;
}

/** The sliding window of layer i (null: full causal attention), as HF's layer_types. */
export function slidingWindowOf(c: LlamaConfig, layer: number): number | null {
  if (c.model_type === 'mistral') return c.sliding_window ?? null;
  if (c.model_type === 'qwen2' && c.use_sliding_window && layer >= (c.max_window_layers ?? 0)) return c.sliding_window ?? null;
  return null;
}

/** Where the family puts biases: Qwen2 on q/k/v only; Llama everywhere in attention with attention_bias; Mistral nowhere. */
export function attentionBiases(c: LlamaConfig): { qkv: boolean; o: boolean } {
  if (c.model_type === 'qwen2') return { qkv: true, o: false };
  const b = c.model_type === 'llama' && c.attention_bias === true;
  return { qkv: b, o: b };
}

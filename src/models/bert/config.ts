// BERT's config.json, with HF's field names; defaults are bert-base-uncased. tlm's extra options,
// written only when they differ from BERT: position_embedding_type beyond HF's 'absolute'
// ('sinusoidal' | 'sinusoidal_concat' | 'relative' | 'rope' | 'alibi' | 'none'), norm_first (pre-norm
// layers plus a final LayerNorm), max_relative_position, rope_theta, position_embedding_dim,
// question_match_type_id (QA: the token type of context tokens that occur in the question),
// classifier_pooling ('cls' | 'mean', as ModernBERT's config: what the pooler reads).

import type { BaseConfig } from '../modeling.js';
import { checkPositionType } from '../../nn/positional.js';

export interface BertConfig extends BaseConfig {
  model_type: 'bert';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: string;
  classifier_dropout: number | null;
  /** Label names by id (HF derives num_labels from it). */
  id2label?: Record<string, string>;
  label2id?: Record<string, number>;
  tie_word_embeddings?: boolean;
  norm_first: boolean;
  max_relative_position: number;
  rope_theta: number;
  position_embedding_dim: number | null;
  /** Extractive QA: the token type given to context tokens that also occur in the question (null: HF's two segments only). */
  question_match_type_id: number | null;
  /** What the pooler reads: the [CLS] state (BERT) or the mean of the unpadded states (ModernBERT's 'mean'). */
  classifier_pooling: 'cls' | 'mean';
  /**
   * Whether the pooler passes that state through its dense + tanh layer (BERT's, trained by next-sentence
   * prediction) or hands it to the classifier as it is (false: nothing untrained sits between a
   * masked-LM encoder and the classifier, and an adapter need not carry a pooler).
   */
  pooler_dense: boolean;
}

const TLM_DEFAULTS = { norm_first: false, max_relative_position: 16, rope_theta: 10000, position_embedding_dim: null, question_match_type_id: null, classifier_pooling: 'cls', pooler_dense: true } as const;

export const BERT_BASE = {
  model_type: 'bert' as const,
  vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
  hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
  type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: 0, position_embedding_type: 'absolute',
  classifier_dropout: null,
};

/** A full config from a partial one. numLabels sets id2label (LABEL_0, …) as HF does. */
export function bertConfig(partial: Partial<BertConfig> & Record<string, unknown> & { num_labels?: number } = {}): BertConfig {
  const { num_labels, ...rest } = partial;
  const c = { ...BERT_BASE, ...TLM_DEFAULTS, ...rest, model_type: 'bert' } as BertConfig;
  for (const k of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`BERT config: ${k} must be a positive integer, got ${String(c[k])}`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) throw new Error(`BERT config: hidden_size ${c.hidden_size} must be divisible by num_attention_heads ${c.num_attention_heads}`);
  if (c.position_embedding_type === 'relative_key' || c.position_embedding_type === 'relative_key_query') {
    throw new Error(`BERT config: HF's position_embedding_type '${c.position_embedding_type}' is not supported; tlm offers 'relative' (Shaw et al., clipped)`);
  }
  checkPositionType(c.position_embedding_type);
  if (c.classifier_pooling !== 'cls' && c.classifier_pooling !== 'mean') throw new Error(`BERT config: classifier_pooling must be 'cls' or 'mean', got ${JSON.stringify(c.classifier_pooling)}`);
  if (typeof c.pooler_dense !== 'boolean') throw new Error(`BERT config: pooler_dense must be true or false, got ${JSON.stringify(c.pooler_dense)}`);
  const match = c.question_match_type_id;
  if (match !== null && !(Number.isInteger(match) && match >= 0 && match < c.type_vocab_size)) {
    throw new Error(`BERT config: question_match_type_id ${String(match)} must be a token type below type_vocab_size ${c.type_vocab_size}`);
  }
  if (num_labels !== undefined) {
    c.id2label = Object.fromEntries(Array.from({ length: num_labels }, (_, i) => [String(i), `LABEL_${i}`]));
    c.label2id = Object.fromEntries(Array.from({ length: num_labels }, (_, i) => [`LABEL_${i}`, i]));
  }
  return c;
}

/** HF's num_labels: the size of id2label, 2 by default. */
export function numLabels(c: BertConfig): number {
  return c.id2label ? Object.keys(c.id2label).length : 2;
}

export function bertConfigDict(c: BertConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const [k, v] of Object.entries(TLM_DEFAULTS)) if (out[k] === v) delete out[k];
  return out;
}

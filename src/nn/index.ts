export { Module, parameter, StateDictError } from './module.js';
export * as functional from '../functional.js';
export * as init from './init.js';
export { Identity, Linear } from './linear.js';
export { QuantizedLinear, type QuantizedLinearOptions } from './quantized.js';
export { Embedding } from './embedding.js';
export { Dropout } from './dropout.js';
export { LayerNorm, BatchNorm1d, type LayerNormOptions, type BatchNormOptions } from './normalization.js';
export { ModuleList, Sequential } from './container.js';
export { FeedForward, type FeedForwardOptions } from './feedforward.js';
export { getActivation, type Activation, type ActivationName } from './activation.js';
export {
  MultiheadAttention, attend, causalAllowed,
  type AttendOptions, type KeyValue, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions,
} from './attention.js';
export {
  TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder, Transformer,
  type TransformerLayerOptions, type TransformerOptions, type TransformerForwardOptions,
  type EncoderLayerForwardOptions, type DecoderLayerForwardOptions, type DecoderLayerCache,
} from './transformer.js';
export {
  SinusoidalPositionalEncoding, LearnedPositionalEmbedding, RotaryEmbedding, ALiBi, RelativePositionBias,
  sinusoidalTable, alibiSlopes, checkPositionType, isEmbeddingPosition, POSITION_TYPES,
  type PositionType, type ScoreBias,
} from './positional.js';
export { LoraLinear, ModulesToSaveWrapper, ModuleDict, loraScaling, type LinearLike, type LoraAdapterOptions } from './lora.js';
export { LoraEmbedding, ParameterDict } from './lora_embedding.js';
export { LoraModel, PEFT_PREFIX, type LoraModelOptions } from './lora_model.js';
export { resolveLoraConfig, type LoraConfig, type ResolvedLoraConfig } from './lora_config.js';
export { PromptEmbedding, PrefixEncoder, Tanh, type PromptEmbeddingOptions, type PrefixEncoderOptions } from './prompt.js';

export { LlamaForCausalLM, LlamaModel, Qwen2ForCausalLM, MistralForCausalLM, initLlamaWeights } from './model.js';
export { LlamaForSequenceClassification, Qwen2ForSequenceClassification, MistralForSequenceClassification } from './classification.js';
export { LlamaAttention, LlamaDecoderLayer, LlamaMLP, LlamaRMSNorm, repeatKv } from './layers.js';
export { llamaConfig, slidingWindowOf, attentionBiases, LLAMA_FAMILIES, type LlamaConfig, type LlamaFamily } from './config.js';

export { LlamaForCausalLM, LlamaModel, Qwen2ForCausalLM, MistralForCausalLM } from './model.js';
export { LlamaAttention, LlamaDecoderLayer, LlamaMLP, LlamaRMSNorm, repeatKv } from './layers.js';
export { llamaConfig, slidingWindowOf, attentionBiases, LLAMA_FAMILIES, type LlamaConfig, type LlamaFamily } from './config.js';

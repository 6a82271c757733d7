// Text generation, organised as HF transformers' generation/: logits processors, samplers,
// stopping criteria, streamers, the KV cache, beam search, and generate() on top.

export * from './logits_process.js';
export * from './sampling.js';
export * from './stopping.js';
export * from './streamers.js';
export * from './cache.js';
export * from './growing_cache.js';
export * from './beam_search.js';
export { DecoderOnlyRunner, EncoderDecoderRunner, leftPad, isSeq2Seq, type CausalLM, type Seq2SeqLM, type StepRunner } from './runner.js';
export { generate, generateStream, type GenerateOptions, type GenerateOutput, type GenerationModel } from './generate.js';
export { generateInWindows, type WindowOptions } from './window.js';
export * from './batch_engine.js';
export * from './logprobs.js';
export { Channel } from './channel.js';

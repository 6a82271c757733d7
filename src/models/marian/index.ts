export { MarianMTModel, MarianModel, type MarianInputs, type MarianDecodeInputs, type MarianOutput } from './model.js';
export { MarianEncoder, MarianDecoder, MarianEncoderLayer, MarianDecoderLayer, type MarianLayerCache } from './layers.js';
export { MarianAttention, MarianSinusoidalPositionalEmbedding, marianSinusoids } from './attention.js';
export { marianConfig, MARIAN_DEFAULTS, type MarianConfig, type MarianConfigInput } from './config.js';

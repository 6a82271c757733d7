// Weight-only quantized models (int8, 4-bit): quantizing in place and the config.json entry that
// marks a quantized directory. Layout of the weights: src/backend/quant_format.ts.
export { quantizeModel, prepareQuantizedModel, QUANTIZABLE_ARCHITECTURES, type QuantizeOptions, type QuantizeReport } from './quantize.js';
export { readQuantizationConfig, quantizationConfig, formatName, QUANT_METHOD, type QuantizationConfig } from './config.js';

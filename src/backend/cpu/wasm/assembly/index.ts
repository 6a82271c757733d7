// The WASM SIMD kernels (AssemblyScript): one module, instantiated by every thread on the cpu
// backend's shared memory. Built by ../build.mjs.
export { packAB, gemm, gemv, gemvSplitK, gemmSmallM, sumParts } from './matmul';
export { softmax, softmaxBackward, layerNorm, layerNormBackward, layerNormReduce } from './rows';
export { unary, binary, adamw } from './elementwise';
export { attnForward, attnBackward, attnDecode } from './attention';
export { copyRows, sumLast, sumMiddle } from './strided';
export { quantMatmul, quantPrepareX } from './quant';

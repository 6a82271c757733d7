export { Tensor, isTensor, type NestedArray, type TensorLike } from './tensor.js';
export * from './ops/index.js';
export { noGrad, noGradAsync, enableGrad, isGradEnabled, tidy, keep, memory, resetPeakMemory, setBackend, getBackend, registeredBackends, registerBackend, lastBackendError } from './engine.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export type { DType, TypedArray } from './dtype.js';

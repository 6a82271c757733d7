// tlm: Transformer language models in TypeScript.
export { setCpuKernels, getCpuKernels, cpuKernelsError, setCpuThreads, getCpuThreads, shutdownCpuThreads, setCpuNative, getCpuNative, cpuNativeError } from './backend/cpu/index.js';
export * from './tensor/index.js';
export * as functional from './functional.js';
export * as nn from './nn/index.js';
export * as io from './io/index.js';
export * as models from './models/index.js';
export * as tokenizers from './tokenizers/index.js';
export * as optim from './train/optim.js';
export * as generation from './generate/index.js';
export * as tasks from './tasks/index.js';
export * as train from './train/index.js';
export { setFileSystem, fileSystem, type FileSystem } from './io/files.js';

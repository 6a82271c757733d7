// Every op, in one namespace (Tensor's methods call them through it).

export * from './creation.js';
export * from './view.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './linalg.js';
export * from './indexing.js';
export * from './nn.js';
export * from './fused.js';
export * from './quantized.js';
export { empty } from './core.js';

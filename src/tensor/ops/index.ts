// Every op, in one namespace. Tensor methods reach these through bindOps.

import { bindOps } from '../tensor.js';
import * as self from './index.js';

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

bindOps(self);

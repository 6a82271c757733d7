// Registers the cpu backend and its TypeScript kernels. The WASM SIMD kernels (./wasm) replace the
// hot ones when they load; setCpuKernels('ts') selects the plain path (tests run both).

import { registerBackend } from '../../tensor/engine.js';
import { registerKernel } from '../registry.js';
import { CpuBackend } from './backend.js';
import * as ew from './ts/elementwise.js';
import * as red from './ts/reduce.js';
import * as la from './ts/linalg.js';
import * as nn from './ts/nn.js';

registerBackend('cpu', () => new CpuBackend(), 1);

registerKernel('copy', 'cpu', ew.copy);
registerKernel('fill', 'cpu', ew.fill);
registerKernel('cast', 'cpu', ew.cast);
registerKernel('unary', 'cpu', ew.unary);
registerKernel('binary', 'cpu', ew.binary);
registerKernel('binaryScalar', 'cpu', ew.binaryScalar);
registerKernel('where', 'cpu', ew.where);
registerKernel('reduce', 'cpu', red.reduce);
registerKernel('argReduce', 'cpu', red.argReduce);
registerKernel('matmul', 'cpu', la.matmul);
registerKernel('softmax', 'cpu', nn.softmax);
registerKernel('softmaxBackward', 'cpu', nn.softmaxBackward);
registerKernel('layerNorm', 'cpu', nn.layerNorm);
registerKernel('layerNormBackward', 'cpu', nn.layerNormBackward);
registerKernel('indexSelect', 'cpu', nn.indexSelect);
registerKernel('indexAdd', 'cpu', nn.indexAdd);
registerKernel('gather', 'cpu', nn.gather);
registerKernel('scatterAdd', 'cpu', nn.scatterAdd);
registerKernel('adamw', 'cpu', nn.adamw);

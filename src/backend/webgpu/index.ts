// The webgpu backend and its WGSL kernels. The engine loads this module only when asked for it
// (`await setBackend('webgpu')`); the device (and in Node the optional `webgpu` package) is acquired
// then, asynchronously.
//
// Kernels record GPU work and return at once; only download() (`await t.data()`) waits. There is
// no downloadSync, so t.dataSync() on a webgpu tensor is a clear error.
import { registerKernel } from '../registry.js';
import { WebGPUBackend } from './backend.js';
import * as ew from './elementwise.js';
import * as red from './reduce.js';
import { matmul, matmulBias } from './matmul.js';
import { softmax, softmaxBackward } from './softmax.js';
import { layerNorm, layerNormBackward, rmsNorm } from './layernorm.js';
import { adamw } from './adamw.js';
import { rotary } from './rotary.js';
import * as idx from './indexing.js';
import { attention } from './attention.js';
import { attentionBackward } from './attention_backward.js';
import { quantMatmul } from './quant.js';
import { dropoutMask } from './dropout.js';

/** Registers the WGSL kernels (once) and starts a webgpu backend: the engine's factory for 'webgpu'. */
export async function createWebGPUBackend(): Promise<WebGPUBackend> {
  registerWebGPUKernels();
  return WebGPUBackend.create();
}

let registered = false;

export function registerWebGPUKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel('copy', 'webgpu', ew.copy);
  registerKernel('fill', 'webgpu', ew.fill);
  registerKernel('cast', 'webgpu', ew.cast);
  registerKernel('unary', 'webgpu', ew.unary);
  registerKernel('binary', 'webgpu', ew.binary);
  registerKernel('binaryScalar', 'webgpu', ew.binaryScalar);
  registerKernel('where', 'webgpu', ew.where);
  registerKernel('reduce', 'webgpu', red.reduce);
  registerKernel('argReduce', 'webgpu', red.argReduce);
  registerKernel('matmul', 'webgpu', matmul);
  registerKernel('matmulBias', 'webgpu', matmulBias);
  registerKernel('softmax', 'webgpu', softmax);
  registerKernel('softmaxBackward', 'webgpu', softmaxBackward);
  registerKernel('layerNorm', 'webgpu', layerNorm);
  registerKernel('layerNormBackward', 'webgpu', layerNormBackward);
  registerKernel('indexSelect', 'webgpu', idx.indexSelect);
  registerKernel('indexAdd', 'webgpu', idx.indexAdd);
  registerKernel('gather', 'webgpu', idx.gather);
  registerKernel('scatterAdd', 'webgpu', idx.scatterAdd);
  registerKernel('adamw', 'webgpu', adamw);
  registerKernel('rmsNorm', 'webgpu', rmsNorm);
  registerKernel('rotary', 'webgpu', rotary);
  registerKernel('attention', 'webgpu', attention);
  registerKernel('attentionBackward', 'webgpu', attentionBackward);
  registerKernel('quantMatmul', 'webgpu', quantMatmul);
  registerKernel('dropoutMask', 'webgpu', dropoutMask);
}

export { WebGPUBackend };

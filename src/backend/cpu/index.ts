// The cpu backend and its kernels (the engine starts it through createCpuBackend()). Two sets exist: WebAssembly SIMD kernels run across
// worker threads (./wasm, ./threads) and the plain TypeScript ones (./ts), which are the reference
// and the fallback. setCpuKernels('ts') (or TLM_CPU_KERNELS=ts) selects the plain path; the WASM
// path also falls back to it by itself where the module cannot load (no SIMD, no shared memory, no
// built .wasm), and for layouts a WASM kernel declines (e.g. strided unary inputs, int tensors).
// Over the WASM kernels, the optional native addon (./native.ts) takes the products it has unless
// setCpuNative(false) or TLM_CPU_KERNELS=wasm|ts turns it off (./kernel_env.ts reads the variable).

import type { Backend } from '../backend.js';
import { getKernel, registerKernel, type KernelMap, type KernelName } from '../registry.js';
import { CpuBackend } from './backend.js';
import * as ew from './ts/elementwise.js';
import * as red from './ts/reduce.js';
import * as la from './ts/linalg.js';
import * as nn from './ts/nn.js';
import * as att from './ts/attention.js';
import * as fused from './ts/fused.js';
import * as quant from './ts/quant.js';
import { dropoutMask } from './ts/dropout.js';
import * as W from './wasm/kernels.js';
import { quantMatmul } from './wasm/quant.js';
import { kernelModule, loadError } from './wasm/loader.js';
import { getThreads, nativeInUse, runtimeFor, setNativeWanted, setThreads, shutdownThreads, type WasmRuntime } from './wasm/runtime.js';
import { nativeKernels, nativeLoadError } from './native.js';
import { kernelEnvError, namedKernels } from './kernel_env.js';

/** Registers the cpu kernels (once) and starts a cpu backend: the engine's factory for 'cpu'. */
export function createCpuBackend(): Backend {
  registerCpuKernels();
  checkNamedKernels();
  return new CpuBackend();
}

/**
 * A TLM_CPU_KERNELS that names no set, or names one that cannot load, stops the cpu backend from
 * starting (the first tensor throws this one line) instead of running on another set unnoticed.
 */
function checkNamedKernels(): void {
  const bad = kernelEnvError();
  if (bad) throw new Error(bad);
  const named = namedKernels();
  if (named === null || named === 'ts') return;
  const fallback = 'leave TLM_CPU_KERNELS unset to run on what loads';
  if (kernelModule() === null) throw new Error(`TLM_CPU_KERNELS=${named}: the WebAssembly kernels did not load (${loadError()}); ${fallback}`);
  if (named === 'native' && nativeKernels() === null) throw new Error(`TLM_CPU_KERNELS=native: the native kernels did not load (${nativeLoadError()}); ${fallback}`);
}

export type CpuKernels = 'wasm' | 'ts';

let wanted: CpuKernels = namedKernels() === 'ts' ? 'ts' : 'wasm';

/** The backend's WASM runtime when the WASM kernels are selected and available. */
function wasm(b: Backend): WasmRuntime | null {
  return wanted === 'wasm' ? runtimeFor(b as CpuBackend) : null;
}

/**
 * Selects the cpu kernels: 'wasm' (SIMD + threads, the default) or 'ts' (plain TypeScript). Returns
 * the set in effect: 'ts' when 'wasm' was asked for but cannot load (see cpuKernelsError()).
 */
export function setCpuKernels(kind: CpuKernels): CpuKernels {
  if (kind !== 'wasm' && kind !== 'ts') throw new Error(`setCpuKernels: expected 'wasm' or 'ts', got '${String(kind)}'`);
  wanted = kind;
  return getCpuKernels();
}

/** The cpu kernel set in effect. */
export function getCpuKernels(): CpuKernels {
  if (wanted === 'ts') return 'ts';
  return kernelModule() === null ? 'ts' : 'wasm';
}

/**
 * The native kernels (an optional C addon: AVX-512 or AVX2+FMA) take the operations they have when
 * they load, unless turned off here or by TLM_CPU_KERNELS=wasm|ts. Returns whether they are in use.
 */
export function setCpuNative(on: boolean): boolean {
  setNativeWanted(on);
  return getCpuNative() !== null;
}

/** The native kernels' instruction set ('avx512f', 'avx2+fma') when in use, else null. */
export function getCpuNative(): string | null {
  return getCpuKernels() === 'wasm' && nativeInUse() ? nativeKernels()!.isa() : null;
}

/** Why the native kernels are not loaded ('' when they are, or were never tried). */
export function cpuNativeError(): string {
  return nativeLoadError();
}

/** Why the WASM kernels are not in use ('' when they are, or were never tried). */
export function cpuKernelsError(): string {
  return loadError();
}

/** Threads the WASM kernels use, the calling thread included (default: TLM_NUM_THREADS, else every core). */
export function setCpuThreads(n: number): void {
  setThreads(n);
}

export function getCpuThreads(): number {
  return getThreads();
}

/** Stops the worker threads (they never keep the process alive; this is for an explicit clean exit). */
export function shutdownCpuThreads(): Promise<void> {
  return shutdownThreads();
}

/** Waits until the worker threads of backend b are running (tests; kernels never wait for them). */
export async function cpuThreadsReady(b: Backend): Promise<void> {
  await runtimeFor(b as CpuBackend)?.ready();
}

let registered = false;

// Registration. Kernels with a WASM version dispatch on each call (one comparison), so that
// setCpuKernels takes effect at once.
function registerCpuKernels(): void {
  if (registered) return;
  registered = true;
  const plain = (name: KernelName, fn: unknown) => registerKernel(name, 'cpu', fn as KernelMap[typeof name]);
  plain('fill', ew.fill);
  plain('cast', ew.cast);
  plain('where', ew.where);
  plain('argReduce', red.argReduce);
  plain('indexSelect', nn.indexSelect);
  plain('indexAdd', nn.indexAdd);
  plain('gather', nn.gather);
  plain('scatterAdd', nn.scatterAdd);
  plain('dropoutMask', dropoutMask);

  registerKernel('copy', 'cpu', (b, src, dst) => {
    const r = wasm(b);
    if (r === null || !W.copy(r, src, dst)) ew.copy(b, src, dst);
  });
  registerKernel('reduce', 'cpu', (b, op, x, outer, rr, inner, out) => {
    const r = wasm(b);
    if (r === null || !W.reduce(r, op, x, outer, rr, inner, out)) red.reduce(b, op, x, outer, rr, inner, out);
  });
  registerKernel('unary', 'cpu', (b, op, x, out) => {
    const r = wasm(b);
    if (r === null || !W.unary(r, op, x, out)) ew.unary(b, op, x, out);
  });
  registerKernel('binary', 'cpu', (b, op, a, c, out) => {
    const r = wasm(b);
    if (r === null || !W.binary(r, op, a, c, out)) ew.binary(b, op, a, c, out);
  });
  registerKernel('binaryScalar', 'cpu', (b, op, a, s, first, out) => {
    const r = wasm(b);
    if (r === null || !W.binaryScalar(r, op, a, s, first, out)) ew.binaryScalar(b, op, a, s, first, out);
  });
  registerKernel('matmul', 'cpu', (b, a, c, out) => {
    const r = wasm(b);
    if (r === null || a.dtype !== 'float32' || c.dtype !== 'float32') la.matmul(b, a, c, out);
    else W.matmul(r, a, c, out);
  });
  registerKernel('matmulBias', 'cpu', (b, a, c, bias, out) => {
    const r = wasm(b);
    if (r !== null && a.dtype === 'float32' && c.dtype === 'float32' && W.matmul(r, a, c, out, bias)) return;
    getKernel('matmul', 'cpu')(b, a, c, out);
    // Unfused: the bias broadcast over out's rows (stride 0), added in place.
    const rows = { storage: bias.storage, dtype: bias.dtype, offset: bias.offset, shape: out.shape, strides: out.shape.map((_, i) => (i === out.shape.length - 1 ? 1 : 0)) };
    getKernel('binary', 'cpu')(b, 'add', out, rows, out);
  });
  registerKernel('softmax', 'cpu', (b, x, rows, n, log, out) => {
    const r = wasm(b);
    if (r === null) nn.softmax(b, x, rows, n, log, out); else W.softmax(r, x, rows, n, log, out);
  });
  registerKernel('softmaxBackward', 'cpu', (b, y, gy, rows, n, log, gx) => {
    const r = wasm(b);
    if (r === null) nn.softmaxBackward(b, y, gy, rows, n, log, gx); else W.softmaxBackward(r, y, gy, rows, n, log, gx);
  });
  registerKernel('rmsNorm', 'cpu', fused.rmsNorm);
  registerKernel('rotary', 'cpu', fused.rotary);
  registerKernel('layerNorm', 'cpu', (b, x, w, bias, rows, n, eps, out, mean, rstd) => {
    const r = wasm(b);
    if (r === null) nn.layerNorm(b, x, w, bias, rows, n, eps, out, mean, rstd); else W.layerNorm(r, x, w, bias, rows, n, eps, out, mean, rstd);
  });
  registerKernel('layerNormBackward', 'cpu', (b, x, w, mean, rstd, gy, rows, n, gx, gw, gb) => {
    const r = wasm(b);
    if (r === null) nn.layerNormBackward(b, x, w, mean, rstd, gy, rows, n, gx, gw, gb);
    else W.layerNormBackward(r, x, w, mean, rstd, gy, rows, n, gx, gw, gb);
  });
  registerKernel('adamw', 'cpu', (b, param, grad, m, v, p) => {
    const r = wasm(b);
    if (r === null) nn.adamw(b, param, grad, m, v, p); else W.adamw(r, param, grad, m, v, p);
  });
  registerKernel('attention', 'cpu', (b, q, k, v, mask, p, out, lse) => {
    const r = wasm(b);
    if (r === null || !W.attention(r, q, k, v, mask, p, out, lse)) att.attention(b, q, k, v, mask, p, out, lse);
  });
  registerKernel('attentionBackward', 'cpu', (b, q, k, v, mask, p, out, lse, gout, gq, gk, gv) => {
    const r = wasm(b);
    if (r === null || !W.attentionBackward(r, q, k, v, mask, p, out, lse, gout, gq, gk, gv)) {
      att.attentionBackward(b, q, k, v, mask, p, out, lse, gout, gq, gk, gv);
    }
  });
  registerKernel('quantMatmul', 'cpu', (b, x, qweight, scales, bias, layout, out) => {
    const r = wasm(b);
    if (r === null) quant.quantMatmul(b, x, qweight, scales, bias, layout, out); else quantMatmul(r, x, qweight, scales, bias, layout, out);
  });
}

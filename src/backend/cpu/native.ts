// The optional native kernels (native/tlm_native.c, an N-API addon built by
// scripts/build-native.mjs into build/Release/tlm_native.node). They work in place on the cpu
// backend's memory (the WebAssembly heap) and run their own threads; where the addon is missing
// (a browser, no compiler at install, TLM_CPU_KERNELS=wasm|ts) everything runs on the WebAssembly
// kernels. Node modules come through process.getBuiltinModule, so importing this needs no Node.

import { builtin, packageFile } from './package_file.js';

export interface NativeKernels {
  /** C [M, N] = A [M, K] · B for row-major (sj = 1) or column-major (sk = 1) B; offsets in bytes, strides in elements. */
  matmulRows(heap: Float32Array, a: number, sa: number, b: number, sk: number, sj: number, M: number, K: number, N: number, c: number): boolean;
  setThreads(n: number): number;
  /** The instruction set chosen at load: 'avx512f', 'avx2+fma' or 'none'. */
  isa(): string;
}

type ModuleApi = typeof import('node:module');

let loaded: NativeKernels | null | undefined;
let reason = '';

/** The native kernels, or null (nativeLoadError() says why). */
export function nativeKernels(): NativeKernels | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const mod = builtin<ModuleApi>('node:module');
  if (!mod) { reason = 'not running in Node'; return null; }
  const file = packageFile('build/Release/tlm_native.node', import.meta.url);
  if (file === null) { reason = 'build/Release/tlm_native.node not found (npm run build compiles it where a C compiler is present)'; return null; }
  try {
    const addon = mod.createRequire(import.meta.url)(file) as NativeKernels;
    if (addon.isa() === 'none') { reason = 'the CPU has neither AVX-512 nor AVX2+FMA'; return null; }
    loaded = addon;
  } catch (err) {
    reason = `the native addon did not load: ${(err as Error).message.split('\n')[0]}`;
  }
  return loaded;
}

export function nativeLoadError(): string { return reason; }

// The optional native kernels (native/*.c, an N-API addon built by
// scripts/build-native.mjs into build/Release/tlm_native.node). They work in place on the cpu
// backend's memory (the WebAssembly heap) and run on its threads (jobs named 'native'); where the addon is missing
// (a browser, no compiler at install, TLM_CPU_KERNELS=wasm|ts) everything runs on the WebAssembly
// kernels, and in Node tlm says so once on stderr. Node modules come through
// process.getBuiltinModule, so importing this needs no Node.

import { builtin, packageFile } from './package_file.js';

export interface NativeKernels {
  /**
   * Plans C [batch, M, N] (contiguous) = A · B (+ bias [N]) for any strides (batch stride 0 =
   * broadcast); offsets in bytes (bias -1 for none), strides in elements. Returns [plan, items of
   * phase 0, phase, items of it]: run phase 0's items first when there are any, then the phase's
   * (each through run(), on any thread). Null when it declines the shape.
   */
  matmulPlan(heap: Float32Array, a: number, sab: number, sai: number, sak: number, b: number, sbb: number, sbk: number, sbj: number,
    c: number, batch: number, M: number, K: number, N: number, bias: number): [number, number, number, number] | null;
  /**
   * Plans y [M, N] = x [M, K] · Wᵀ (+ bias [N]) on a quantized W (src/backend/quant_format.ts:
   * qweight's words, scales; bits 8 or 4); byte offsets (bias -1 for none). Returns [plan, 0,
   * phase, items] (no packing phase), or null when it declines.
   */
  quantMatmulPlan(heap: Float32Array, x: number, M: number, K: number, qweight: number, scales: number, bits: number, bias: number,
    y: number, N: number): [number, number, number, number] | null;
  /**
   * Whether 4-bit products run on the AVX-512 VNNI kernel (x quantized to int8 per row on the fly;
   * native/quant_vnni.c); with an argument, turns it on (where the CPU has it) or off first.
   */
  quantVnni(on?: boolean): boolean;
  /** Asks for transparent huge pages over the heap (decode streams every weight once a token); false where refused. */
  adviseHugePages(heap: Uint8Array): boolean;
  /** Runs items [i0, i1) of a plan's phase (the plan made on the calling thread of the job). */
  run(plan: number, phase: number, i0: number, i1: number): void;
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

let noticed = false;

/**
 * The native kernels, or null after saying once on stderr why not (in Node only: a browser never
 * has them). A user who installed without a compiler may never have seen the build's note (npm
 * hides dependencies' install output), so the first product that would have run natively says it.
 */
export function nativeKernelsOrNotice(): NativeKernels | null {
  const k = nativeKernels();
  if (k === null && !noticed && builtin('node:module') !== null) {
    noticed = true;
    console.warn(`tlm: the native kernels are not in use (${reason}); running on the WebAssembly kernels (TLM_CPU_KERNELS=wasm selects them without this note)`);
  }
  return k;
}

/** The 'native' job of the cpu backend's thread pool: items [start, end) of a native plan's phase. */
export function nativeJob(start: number, end: number, _tid: number, plan: number, phase: number): void {
  nativeKernels()!.run(plan, phase, start, end);
}

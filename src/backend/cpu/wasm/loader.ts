// Finds and compiles the kernel module (dist/wasm/kernels.wasm, built by ./build.mjs). Synchronous,
// because the cpu backend's kernels are: node:fs comes through process.getBuiltinModule so that
// nothing here needs Node at import time. Where the module cannot load (no file, no WebAssembly
// SIMD, no shared memory) the reason is kept and the cpu backend stays on its TypeScript kernels.

import { builtin, packageFile } from '../package_file.js';

let compiled: WebAssembly.Module | null | undefined;
let reason = '';

type Fs = typeof import('node:fs');

export function wasmPath(): string | null {
  return packageFile('dist/wasm/kernels.wasm', import.meta.url);
}

/** The compiled kernels, or null (see loadError()). */
export function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof SharedArrayBuffer === 'undefined' || typeof WebAssembly === 'undefined') {
    reason = 'SharedArrayBuffer or WebAssembly is missing';
    return null;
  }
  const file = wasmPath();
  if (file === null) { reason = 'dist/wasm/kernels.wasm not found (run `npm run build`)'; return null; }
  try {
    const bytes = builtin<Fs>('node:fs')!.readFileSync(file);
    compiled = new WebAssembly.Module(bytes);
  } catch (err) {
    reason = `cannot compile ${file}: ${err instanceof Error ? err.message : String(err)}`; // e.g. no SIMD
  }
  return compiled;
}

export function loadError(): string {
  return reason;
}

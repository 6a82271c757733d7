// Finds and compiles the kernel module (dist/wasm/kernels.wasm, built by ./build.mjs). Synchronous,
// because the cpu backend's kernels are: node:fs comes through process.getBuiltinModule so that
// nothing here needs Node at import time. A browser has no files to read: there the page compiles
// the module (loadCpuKernels() in src/browser.ts) and hands it over with setKernelModule(). Where
// the module cannot load (no file, no WebAssembly SIMD) the reason is kept and the cpu backend stays
// on its TypeScript kernels.
//
// Two builds exist: kernels.wasm on shared memory (threads), and kernels-single.wasm on ordinary
// memory, for a browser page that is not cross-origin isolated (one thread, same kernels).

import { builtin, packageFile } from '../package_file.js';
import { sharedMemoryAvailable } from '../heap.js';

let compiled: WebAssembly.Module | null | undefined;
let reason = '';

type Fs = typeof import('node:fs');

/** The build this platform needs: the shared-memory one wherever threads can share memory. */
export function kernelFileName(): string {
  return sharedMemoryAvailable() ? 'kernels.wasm' : 'kernels-single.wasm';
}

export function wasmPath(): string | null {
  return packageFile(`dist/wasm/${kernelFileName()}`, import.meta.url);
}

/** Supplies the compiled kernels (a browser, which fetches them); must be the build kernelFileName() names. */
export function setKernelModule(module: WebAssembly.Module): void {
  compiled = module;
  reason = '';
}

/** The compiled kernels, or null (see loadError()). */
export function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  const fs = builtin<Fs>('node:fs');
  // No files to read (a browser): not decided yet, setKernelModule() may still supply the module.
  if (fs === null) { reason = 'not loaded: in a browser, call await loadCpuKernels() first'; return null; }
  compiled = null;
  if (typeof WebAssembly === 'undefined') {
    reason = 'WebAssembly is missing';
    return null;
  }
  const file = wasmPath();
  if (file === null) { reason = `dist/wasm/${kernelFileName()} not found (run \`npm run build\`)`; return null; }
  try {
    compiled = new WebAssembly.Module(fs.readFileSync(file));
  } catch (err) {
    reason = `cannot compile ${file}: ${err instanceof Error ? err.message : String(err)}`; // e.g. no SIMD
  }
  return compiled;
}

export function loadError(): string {
  return reason;
}

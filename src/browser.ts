// tlm in a browser: everything the Node entry (./index.ts) exports, plus loadCpuKernels(). A page
// has no package files to read, so it fetches and compiles the WebAssembly kernels itself; until it
// does, the cpu backend runs its TypeScript kernels. On a cross-origin isolated page (COOP + COEP
// headers) the kernels run on every core through Web Workers over shared memory; elsewhere on one
// thread. WebGPU comes through navigator.gpu with `await setBackend('webgpu')`.

import { kernelFileName, setKernelModule } from './backend/cpu/wasm/loader.js';
import { sharedMemoryAvailable } from './backend/cpu/heap.js';

export * from './index.js';

export interface KernelUrls {
  /** kernels.wasm: the shared-memory build (cross-origin isolated pages). */
  shared?: string | URL;
  /** kernels-single.wasm: the one-thread build (every other page). */
  single?: string | URL;
}

/**
 * Fetches and compiles the WASM kernels this page can use; returns which build ('shared' or
 * 'single'). Default URLs: the two .wasm files beside this module (as the package's browser build
 * ships them). Call it before creating tensors.
 */
export async function loadCpuKernels(urls: KernelUrls = {}): Promise<'shared' | 'single'> {
  const shared = sharedMemoryAvailable();
  const name = kernelFileName();
  const url = (shared ? urls.shared : urls.single) ?? new URL(name, import.meta.url);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`loadCpuKernels: ${String(url)} answered ${res.status} ${res.statusText}`);
  setKernelModule(await WebAssembly.compile(await res.arrayBuffer()));
  return shared ? 'shared' : 'single';
}

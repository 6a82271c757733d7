// The optional native kernels (native/tlm_native.c, an N-API addon built by
// scripts/build-native.mjs into build/Release/tlm_native.node). They work in place on the cpu
// backend's memory (the WebAssembly heap) and run their own threads; where the addon is missing
// (a browser, no compiler at install, TLM_CPU_KERNELS=wasm|ts) everything runs on the WebAssembly
// kernels. Node modules come through process.getBuiltinModule, so importing this needs no Node.

export interface NativeKernels {
  /** C [M, N] = A [M, K] · B for row-major (sj = 1) or column-major (sk = 1) B; offsets in bytes, strides in elements. */
  matmulRows(heap: Float32Array, a: number, sa: number, b: number, sk: number, sj: number, M: number, K: number, N: number, c: number): boolean;
  setThreads(n: number): number;
  /** The instruction set chosen at load: 'avx512f', 'avx2+fma' or 'none'. */
  isa(): string;
}

type Fs = typeof import('node:fs');
type Path = typeof import('node:path');
type Url = typeof import('node:url');
type ModuleApi = typeof import('node:module');

let loaded: NativeKernels | null | undefined;
let reason = '';

function builtin<T>(id: string): T | null {
  return (globalThis.process?.getBuiltinModule?.(id) ?? null) as T | null;
}

/** build/Release/tlm_native.node of the tlm package above `dir`. */
function findAddon(dir: string, fs: Fs, path: Path): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    const pkg = path.join(d, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tlm') {
          const f = path.join(d, 'build', 'Release', 'tlm_native.node');
          return fs.existsSync(f) ? f : null;
        }
      } catch { /* not ours */ }
    }
    if (path.dirname(d) === d) return null;
  }
}

/** The native kernels, or null (nativeLoadError() says why). */
export function nativeKernels(): NativeKernels | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const fs = builtin<Fs>('node:fs'), path = builtin<Path>('node:path'), url = builtin<Url>('node:url'), mod = builtin<ModuleApi>('node:module');
  if (!fs || !path || !url || !mod) { reason = 'not running in Node'; return null; }
  const file = findAddon(path.dirname(url.fileURLToPath(import.meta.url)), fs, path);
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

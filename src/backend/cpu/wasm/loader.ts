// Finds and compiles the kernel module (dist/wasm/kernels.wasm, built by ./build.mjs). Synchronous,
// because the cpu backend's kernels are: node:fs comes through process.getBuiltinModule so that
// nothing here needs Node at import time. Where the module cannot load (no file, no WebAssembly
// SIMD, no shared memory) the reason is kept and the cpu backend stays on its TypeScript kernels.

let compiled: WebAssembly.Module | null | undefined;
let reason = '';

type Fs = typeof import('node:fs');
type Path = typeof import('node:path');
type Url = typeof import('node:url');

function builtin<T>(id: string): T | null {
  return (globalThis.process?.getBuiltinModule?.(id) ?? null) as T | null;
}

/** dist/wasm/kernels.wasm of the tlm package above `dir` (dist/, or the repo when compiled elsewhere). */
function findIn(dir: string, fs: Fs, path: Path): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    const pkg = path.join(d, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tlm') {
          const f = path.join(d, 'dist/wasm/kernels.wasm');
          return fs.existsSync(f) ? f : null;
        }
      } catch { /* not ours */ }
    }
    if (path.dirname(d) === d) return null;
  }
}

export function wasmPath(): string | null {
  const fs = builtin<Fs>('node:fs'), path = builtin<Path>('node:path'), url = builtin<Url>('node:url');
  if (!fs || !path || !url) return null;
  return findIn(path.dirname(url.fileURLToPath(import.meta.url)), fs, path) ?? findIn(process.cwd(), fs, path);
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

// Finding the files of the tlm package itself (dist/wasm/kernels.wasm, build/Release/tlm_native.node)
// from wherever the compiled code runs. Node modules come through process.getBuiltinModule, so
// importing this needs no Node (in a browser every lookup is null).

type Fs = typeof import('node:fs');
type Path = typeof import('node:path');
type Url = typeof import('node:url');

/** A Node built-in module, or null outside Node. */
export function builtin<T>(id: string): T | null {
  return (globalThis.process?.getBuiltinModule?.(id) ?? null) as T | null;
}

/** `rel` in the tlm package above `dir`, if that file exists. */
function findIn(dir: string, rel: string, fs: Fs, path: Path): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    const pkg = path.join(d, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tlm') {
          const f = path.join(d, rel);
          return fs.existsSync(f) ? f : null;
        }
      } catch { /* not ours */ }
    }
    if (path.dirname(d) === d) return null;
  }
}

/** `rel` (a path inside the tlm package) above the module at `moduleUrl`, else above the working directory; null outside Node or when absent. */
export function packageFile(rel: string, moduleUrl: string): string | null {
  const fs = builtin<Fs>('node:fs'), path = builtin<Path>('node:path'), url = builtin<Url>('node:url');
  if (!fs || !path || !url) return null;
  return findIn(path.dirname(url.fileURLToPath(moduleUrl)), rel, fs, path) ?? findIn(process.cwd(), rel, fs, path);
}

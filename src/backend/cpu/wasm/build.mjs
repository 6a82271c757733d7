#!/usr/bin/env node
// Compiles the AssemblyScript kernels (./assembly) into dist/wasm/kernels.wasm; run by
// scripts/build.mjs (so by `npm install` and `npm test`). Skipped when the .wasm is newer than
// every source. Flags:
//  - simd, threads: f32x4 kernels on a shared memory;
//  - importMemory + sharedMemory + maximumMemory 65536: the module runs on the cpu backend's own
//    shared WebAssembly.Memory (4 GiB max, as heap.ts creates it), the same in every worker;
//  - runtime stub, no abort import, noAssert: no allocator, no GC, no strings; the kernels own no
//    linear memory (no data segments, no stack), so the heap can start at heap.ts's HEAP_BASE.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../../..');
const out = join(root, 'dist/wasm/kernels.wasm');
const single = join(root, 'dist/wasm/kernels-single.wasm');
const sources = [join(here, 'build.mjs'), ...readdirSync(join(here, 'assembly')).map((f) => join(here, 'assembly', f))];
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
const fresh = (f) => existsSync(f) && statSync(f).mtimeMs >= newest;
if (fresh(out) && fresh(single) && !process.argv.includes('--force')) process.exit(0);

mkdirSync(dirname(out), { recursive: true });
const asc = join(root, 'node_modules/assemblyscript/bin/asc.js');
// The same kernels twice: on shared memory (threads) and on ordinary memory, for a browser page
// that is not cross-origin isolated and so has no shared memory (src/backend/cpu/wasm/loader.ts).
for (const [file, shared] of [[out, ['--sharedMemory']], [single, []]]) {
  execFileSync(process.execPath, [asc, join(here, 'assembly/index.ts'), '-o', file,
    '--enable', 'simd,threads', '--importMemory', ...shared, '--maximumMemory', '65536',
    '--runtime', 'stub', '--use', 'abort=', '--noAssert', '-O3', '--noExportMemory'], { cwd: root, stdio: 'inherit' });
  console.error(`wasm: wrote ${file}`);
}

#!/usr/bin/env node
// Builds everything `npm install` needs: the WASM kernels (AssemblyScript), then TypeScript → dist/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
// Node loads some modules lazily with import(); in one browser bundle they are simply included, which
// the bundler reports for each. Nothing to act on, so those notes are dropped.
const quietDynamicImports = (warning, warn) => { if (warning.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') warn(warning); };

// WASM kernels: each scripts/wasm-build step is defined next to its sources.
const wasmBuild = join(root, 'src/backend/cpu/wasm/build.mjs');
if (existsSync(wasmBuild)) run(process.execPath, [wasmBuild]);

// The optional native kernels (a C addon; skipped with a note where it cannot build). An install
// runs the package's install script (which builds them) just before prepare: not twice, nor its note.
if (process.env.npm_lifecycle_event !== 'prepare') run(process.execPath, [join(root, 'scripts/build-native.mjs')]);

// TypeScript, skipped when dist is newer than every source (keeps `npm test` quick on reruns).
const newest = (dir) => {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
};
const stamp = join(root, 'dist/.stamp');
const srcTime = Math.max(newest(join(root, 'src')), newest(join(root, 'test')), newest(join(root, 'bench')),
  statSync(join(root, 'tsconfig.json')).mtimeMs);
if (!existsSync(stamp) || statSync(stamp).mtimeMs < srcTime || process.argv.includes('--force')) {
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root]);
  mkdirSync(join(root, 'dist'), { recursive: true });
  execFileSync('touch', [stamp]);
}

// The pages (web/ → dist/web/, served by `tlm serve` at GET /): the playground and the training page.
// A production install has no vite (a dev dependency); its package ships dist/web prebuilt.
const web = join(root, 'web');
const webIndex = join(root, 'dist/web/index.html');
// The training page bundles the library itself (src/) and the kernels (dist/wasm), so those count too.
const webInputs = () => Math.max(newest(web), newest(join(root, 'src')), newest(join(root, 'dist/wasm')));
if (existsSync(web) && (!existsSync(webIndex) || statSync(webIndex).mtimeMs < webInputs() || process.argv.includes('--force'))) {
  let vite = null;
  try {
    vite = await import('vite');
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !/'vite'/.test(err.message)) throw err;
    console.log('build: vite is not installed (a production install), so the playground is not rebuilt; dist/web is used as shipped');
  }
  if (vite) {
    await vite.build({ root: web, configFile: join(web, 'vite.config.ts'), logLevel: 'warn' });
    // The library's ESM browser build (package export "browser"): src/browser.ts → dist/browser/tlm.js,
    // its kernel workers beside it, and both kernel builds, which loadCpuKernels() fetches from there.
    await vite.build({
      configFile: false, root, logLevel: 'warn',
      build: { lib: { entry: join(root, 'src/browser.ts'), formats: ['es'], fileName: 'tlm' }, outDir: join(root, 'dist/browser'),
        emptyOutDir: true, target: 'es2022', rollupOptions: { onwarn: quietDynamicImports } },
      worker: { format: 'es' },
    });
    for (const f of ['kernels.wasm', 'kernels-single.wasm']) copyFileSync(join(root, 'dist/wasm', f), join(root, 'dist/browser', f));
  }
}

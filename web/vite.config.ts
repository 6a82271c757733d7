// The pages' build: `node scripts/build.mjs` runs it into dist/web/, which `tlm serve` serves at GET /:
// the playground (index.html, a client of the server's API) and the training page (train.html, the
// library itself running in the tab). For work on the pages, `npx vite web` serves them with hot
// reload (cross-origin isolated, so the kernels get threads) and forwards the API to a running
// `tlm serve` on its default port.
import { defineConfig } from 'vite';

const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  build: {
    outDir: '../dist/web', emptyOutDir: true, target: 'es2022',
    rollupOptions: {
      input: { index: 'index.html', train: 'train.html' },
      // Node loads some library modules lazily with import(); one bundle simply includes them.
      onwarn: (warning, warn) => { if (warning.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') warn(warning); },
    },
  },
  // Module workers: the training worker starts the kernel workers itself (nested workers).
  worker: { format: 'es' },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' }, headers: isolation },
  preview: { headers: isolation },
});

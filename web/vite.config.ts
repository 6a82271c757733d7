// The playground's build: `node scripts/build.mjs` runs it into dist/web/, which `tlm serve` serves at GET /.
// For work on the page itself, `npx vite web` serves it with hot reload and forwards the API to a
// running `tlm serve` on its default port.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});

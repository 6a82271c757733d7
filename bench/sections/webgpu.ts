// WebGPU matmul throughput (GFLOP/s) on whatever adapter Dawn finds. On a CPU-only machine that
// is Mesa's llvmpipe, a software rasterizer: its figures say the kernels run, nothing about speed.

import type { BenchRow, BenchSection } from '../run.js';
import { randn, setBackend, tidy } from '../../src/index.js';
import { findBackend, lastBackendError } from '../../src/tensor/engine.js';
import type { WebGPUBackend } from '../../src/backend/webgpu/index.js';

async function run({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  if (!(await setBackend('webgpu'))) {
    console.error(`bench webgpu: skipped: ${lastBackendError}`);
    return [];
  }
  const gpu = findBackend('webgpu') as WebGPUBackend;
  const software = /llvmpipe|lavapipe|swiftshader|software/i.test(gpu.adapter);
  const note = `${gpu.adapter}${software ? ' (software adapter: speed meaningless)' : ''}`;
  const shapes: [number, number, number][] = software
    ? [[256, 256, 256], [512, 512, 512]]
    : quick ? [[1024, 1024, 1024], [768, 768, 3072]] : [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [768, 768, 3072], [4096, 4096, 4096]];
  const rows: BenchRow[] = [];
  try {
    for (const [M, K, N] of shapes) {
      const a = randn([M, K]), b = randn([K, N]);
      const flops = 2 * M * K * N;
      const once = () => tidy(() => { a.matmul(b).dispose(); });
      once();
      await gpu.sync();
      // Enough repetitions for ~0.3 s of work at the warm-up rate, timed to the end of the queue.
      let t0 = performance.now();
      once();
      await gpu.sync();
      const reps = Math.max(2, Math.min(200, Math.ceil(300 / Math.max(performance.now() - t0, 0.05))));
      t0 = performance.now();
      for (let i = 0; i < reps; i++) once();
      await gpu.sync();
      const secs = (performance.now() - t0) / 1000;
      rows.push({ section: 'webgpu', name: `matmul ${M}×${K}·${K}×${N}`, value: (flops * reps) / secs / 1e9, unit: 'GFLOP/s',
        peers: {}, higherIsBetter: true, note });
      a.dispose(); b.dispose();
    }
  } finally {
    await setBackend('cpu');
  }
  return rows;
}

const section: BenchSection = { name: 'webgpu', run };
export default section;

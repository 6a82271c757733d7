// The quantized matmul on the cpu backend's fast kernels: natively where the addon loaded
// (native/quant.c, on this runtime's threads), else the WebAssembly SIMD kernel
// (assembly/quant.ts). Both read the quantized words in place in the heap.

import type { TensorInfo } from '../../backend.js';
import type { QuantLayout } from '../../quant_format.js';
import { ptr, type WasmRuntime } from './runtime.js';

/** Rows of W per work item of the WebAssembly kernel (assembly/quant.ts ROWS). */
const WASM_ROWS = 16;

export function quantMatmul(r: WasmRuntime, x: TensorInfo, qweight: TensorInfo, scales: TensorInfo, bias: TensorInfo | null,
  l: QuantLayout, out: TensorInfo): void {
  const { N, K, bits } = l;
  const M = out.shape.reduce((p, d) => p * d, 1) / Math.max(N, 1);
  if (M === 0 || N === 0) return;
  // Rough cost on one thread: reading W once per call (~10 GB/s) plus the arithmetic of M rows
  // (~8 G multiply-adds/s natively, ~4 G in WebAssembly).
  const bytes = (N * K * bits) / 8;
  const biasPtr = bias ? ptr(bias) : -1;
  const plan = r.native?.quantMatmulPlan(r.heapF32(), ptr(x), M, K, ptr(qweight), ptr(scales), bits, biasPtr, ptr(out), N);
  if (plan) {
    const [id, , phase, items] = plan;
    // Two chunks of items a thread: each chunk is one call into the addon (~1 µs), and a decode
    // step's layers are short (768×768 at 4 bits: ~10 µs); two, not one, so that the calling thread
    // can take a late worker's share.
    r.run('native', items, bytes / 1e4 + (M * N * K) / 8e3, [id, phase], Math.ceil(items / (2 * r.threads)));
    return;
  }
  // The WebAssembly kernel takes x rounded to int16 per row (assembly/quant.ts says why and how).
  const stride = bits === 8 ? Math.ceil(K / 16) * 32 : (K / 32) * 80;
  const scratch = r.alloc(M * (stride + 4));
  try {
    const xs = scratch.ptr + M * stride;
    r.x.quantPrepareX(ptr(x), M, K, bits, scratch.ptr, xs);
    r.run('quantMatmul', Math.ceil(N / WASM_ROWS), bytes / 1e4 + (M * N * K) / 4e3,
      [scratch.ptr, xs, M, K, ptr(qweight), ptr(scales), bits, bias ? ptr(bias) : 0, ptr(out), N]);
  } finally {
    r.free(scratch);
  }
}

// The native matrix products (native/gemm.c) against float64: the packed path in every layout
// (transposed, strided, broadcast and permuted batches), edge tiles, k split into blocks, A read in
// place and packed; and the bits of each row the same whether computed alone or with others.
// Runs where the addon loaded (AVX-512 here; the AVX2 path in a child with TLM_NATIVE_ISA=avx2).

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Tensor } from '../src/index.js';
import { cpuNativeError, getCpuNative, setCpuNative } from '../src/backend/cpu/index.js';
import { checkMatmul, matmulKernel, operand, rand } from './helpers/matmul.js';

const isa = getCpuNative();
console.log(isa !== null ? `native kernels: ${isa}` : `native kernels not in use: ${cpuNativeError() || 'turned off'}`);
const vals = (t: Tensor) => t.contiguous().dataSync();

test(`native GEMM (${isa ?? 'not loaded: WASM'}): every layout, edge tiles, k in several blocks`, () => {
  // [B, M, K, N]: M not a multiple of 12 (or 6), N not of 32 (or 16), K past one 256-deep block;
  // a batch of 16 row blocks meeting 9 panels of B (A packed); 40 rows, the fewest packed.
  const shapes: [number, number, number, number][] = [[1, 100, 300, 130], [3, 37, 70, 65], [2, 40, 513, 64], [16, 120, 66, 260], [1, 64, 64, 64]];
  let seed = 1;
  for (const [B, M, K, N] of shapes) {
    for (const la of ['n', 't', 's', 'p']) {
      for (const lc of ['n', 't', 's', 'b']) {
        if (B === 1 && (la === 'p' || lc === 'b')) continue;
        if (B === 16 && la !== lc && la !== 'n') continue; // the large case: fewer combinations
        const a = operand(la, B, M, K, seed++), c = operand(lc, B, K, N, seed++);
        checkMatmul(a, c, matmulKernel(a, c), `[${B},${M},${K}]${la} @ [${B},${K},${N}]${lc}`);
      }
    }
  }
});

// (The WASM kernels sum a large product's rows in another order than a single row's: native only.)
if (isa !== null) test('native GEMM: a row gets the same bits alone as among many rows (row-major B, streamed or packed)', () => {
  for (const [M, K, N] of [[100, 300, 130], [50, 600, 520], [33, 64, 64]]) {
    const a = rand([1, M, K], 3 + M), c = operand('n', 1, K, N, 5 + N);
    const all = vals(matmulKernel(a, c));
    for (const i of [0, 1, M >> 1, M - 1]) {
      const row = vals(matmulKernel(a.narrow(1, i, 1).contiguous(), c));
      assert.deepEqual(all.slice(i * N, (i + 1) * N), row, `row ${i} of [${M},${K}] @ [${K},${N}]`);
    }
  }
});

if (isa !== null) test('native GEMM: turned off, the WASM kernels give the same products to rounding', () => {
  const a = rand([2, 70, 90], 11), c = rand([2, 90, 80], 12);
  const on = vals(matmulKernel(a, c));
  setCpuNative(false);
  try {
    const off = vals(matmulKernel(a, c));
    for (let i = 0; i < on.length; i++) assert.ok(Math.abs(on[i]! - off[i]!) <= 1e-4 * (1 + Math.abs(off[i]!)), `element ${i}: ${on[i]} vs ${off[i]}`);
  } finally {
    setCpuNative(true);
  }
});

// The AVX2 + FMA path, on this machine too: the same tests in a child that forces it.
if (isa !== null && process.env.TLM_NATIVE_ISA !== 'avx2') {
  test('native GEMM: the AVX2 + FMA path (TLM_NATIVE_ISA=avx2, in a child)', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TLM_NATIVE_ISA: 'avx2' };
    delete env.NODE_TEST_CONTEXT; // the child reports in plain TAP, not to this runner
    const r = spawnSync(process.execPath, ['--test', new URL(import.meta.url).pathname], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout.slice(-2000) + r.stderr.slice(-2000));
    assert.match(r.stdout, /native kernels: avx2\+fma/);
    assert.match(r.stdout, /# pass 3\n# fail 0/);
  });
}

// The quantized matmul kernels (int8 per output channel, 4-bit in groups of 32) on every kernel set
// of the cpu backend — TypeScript, WebAssembly SIMD, native float (AVX-512 / AVX2) and native
// AVX-512 VNNI — against the float64 product with the dequantized weight, at odd shapes (K not a
// multiple of 16 or 4 for int8; a 4-bit K that leaves a partial block of 4 groups), one row and
// many, with and without bias; each row gets the same bits alone as in a batch, on 1 or 2 threads.
// The WebAssembly kernel rounds x to int16 per row and the VNNI one to int8: their bounds add what
// that rounding can move an output.

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { enableGrad, noGrad, type Tensor } from '../src/index.js';
import { cpuNativeError, getCpuNative, setCpuKernels, setCpuNative, setCpuThreads, getCpuThreads, cpuThreadsReady } from '../src/backend/cpu/index.js';
import { nativeKernels } from '../src/backend/cpu/native.js';
import { backend } from '../src/tensor/engine.js';
import type { QuantBits } from '../src/backend/quant_format.js';
import { errorRatio, quantLayer, rand, vnniErrorRatios } from './helpers/quant_check.js';

const nativeIsa = getCpuNative();
const vnni = nativeIsa !== null && nativeKernels()!.quantVnni();
console.log(nativeIsa !== null ? `native kernels: ${nativeIsa}${vnni ? ', 4-bit on AVX-512 VNNI' : ''}` : `native kernels not in use: ${cpuNativeError() || 'turned off'}`);

type Kind = 'ts' | 'wasm' | 'native' | 'native-vnni';
const kinds: Kind[] = ['ts', 'wasm', ...(nativeIsa !== null ? ['native' as const] : []), ...(vnni ? ['native-vnni' as const] : [])];

/** Runs f with the kernel set `kind` selected, then restores the defaults. */
function using<T>(kind: Kind, f: () => T): T {
  setCpuKernels(kind === 'ts' ? 'ts' : 'wasm');
  setCpuNative(kind.startsWith('native'));
  if (nativeIsa !== null) nativeKernels()!.quantVnni(kind === 'native-vnni');
  try {
    return noGrad(f);
  } finally {
    setCpuKernels('wasm');
    setCpuNative(true);
    if (nativeIsa !== null) nativeKernels()!.quantVnni(true);
  }
}

const SHAPES: Record<QuantBits, [number, number, number][]> = {
  8: [[1, 67, 33], [3, 100, 17], [5, 768, 70], [16, 35, 9], [1, 1, 1], [7, 64, 130], [2, 300, 257], [4, 13, 8]],
  4: [[1, 32, 33], [3, 96, 17], [5, 768, 70], [16, 64, 9], [17, 160, 41], [1, 1024, 8], [6, 224, 19], [4, 128, 12]],
};

for (const kind of kinds) {
  for (const bits of kind === 'native-vnni' ? [4] as const : [8, 4] as const) {
    test(`quantMatmul ${bits}-bit on ${kind}: the product with the dequantized weight${kind === 'native-vnni' ? ' (x rounded to int8 per row)' : ''}`, () => using(kind, () => {
      SHAPES[bits].forEach(([M, K, N], i) => {
        const layer = quantLayer(bits, N, K, 10 + i, i % 2 === 0);
        const x = rand([M, K], 100 + i);
        const y = layer.forward(x);
        assert.deepEqual(y.shape, [M, N]);
        if (kind === 'native-vnni') { // int8 has one native kernel, the float one
          const r = vnniErrorRatios(layer, x, y);
          assert.ok(r.exact <= 1, `[${M},${K}]x[${N},${K}]ᵀ: ${r.exact.toFixed(3)} of the bound off the kernel's exact integer arithmetic`);
          assert.ok(r.vsFloat <= 1, `[${M},${K}]x[${N},${K}]ᵀ: ${r.vsFloat.toFixed(3)} of the bound off the float product`);
        } else {
          const r = errorRatio(layer, x, y, kind === 'wasm' ? 32767 : 0); // the WebAssembly kernel rounds x to int16
          assert.ok(r <= 1, `[${M},${K}]x[${N},${K}]ᵀ: error ${r.toFixed(3)} of the float32 bound`);
        }
        layer.dispose(); x.dispose(); y.dispose();
      });
    }));
  }
}

const bits32 = (t: Tensor) => new Uint32Array((t.contiguous().dataSync() as Float32Array).slice().buffer);

for (const kind of kinds) {
  test(`quantMatmul on ${kind}: a row gets the same bits alone as in a batch (batched decoding equals decoding alone)`, () => using(kind, () => {
    for (const bits of [8, 4] as const) {
      if (kind === 'native-vnni' && bits === 8) continue;
      for (const [M, K, N] of [[5, 96, 37], [16, 768, 70], [9, 160, 100]] as const) {
        const layer = quantLayer(bits, N, K, M, true);
        const x = rand([M, K], 7 * M);
        const all = bits32(layer.forward(x));
        for (let m = 0; m < M; m++) {
          const alone = bits32(layer.forward(x.narrow(0, m, 1)));
          assert.deepEqual(alone, all.slice(m * N, (m + 1) * N), `${bits}-bit [${M},${K}]x[${N},${K}]ᵀ: row ${m} alone differs from its row in the batch`);
        }
        // Leading dims are folded into rows: [2, 3, K] gives the rows of [6, K].
        const x3 = x.narrow(0, 0, 4).reshape(2, 2, K);
        assert.deepEqual(bits32(layer.forward(x3)), all.slice(0, 4 * N));
        layer.dispose();
      }
    }
  }));
}

test('quantMatmul: the same bits on 1 thread and on 2 (work split between threads)', async () => {
  const before = getCpuThreads();
  try {
    for (const kind of kinds.filter((k) => k !== 'ts')) {
      for (const bits of [8, 4] as const) {
        if (kind === 'native-vnni' && bits === 8) continue;
        const got: Uint32Array[] = [];
        for (const threads of [1, 2]) {
          setCpuThreads(threads);
          await cpuThreadsReady(backend());
          got.push(using(kind, () => {
            const layer = quantLayer(bits, 3000, 768, 5, true);
            const out = bits32(layer.forward(rand([3, 768], 6)));
            layer.dispose();
            return out;
          }));
        }
        assert.deepEqual(got[0], got[1], `${kind} ${bits}-bit: 1 and 2 threads differ`);
      }
    }
  } finally {
    setCpuThreads(before);
  }
});

// The AVX2 + FMA path, on this AVX-512 machine, in a child process (TLM_NATIVE_ISA=avx2 is read when the addon loads).
// (Registered only where the addon loaded: without it there is no native path to check.)
if (nativeIsa !== null) test('quantMatmul on the native AVX2 path (TLM_NATIVE_ISA=avx2)', () => {
  const helper = fileURLToPath(new URL('./helpers/quant_check.js', import.meta.url));
  const src = `
    import { noGrad } from '../src/index.js';
    import { getCpuNative } from '../src/backend/cpu/index.js';
    import { nativeKernels } from '../src/backend/cpu/native.js';
    import { errorRatio, quantLayer, rand } from ${JSON.stringify(helper)};
    const out = { isa: getCpuNative(), vnni: nativeKernels().quantVnni(), worst: 0, batched: true };
    noGrad(() => {
      for (const [bits, M, K, N] of [[8, 5, 100, 37], [8, 3, 13, 9], [4, 5, 224, 37], [4, 1, 768, 70], [8, 1, 768, 70]]) {
        const layer = quantLayer(bits, N, K, 3, true), x = rand([M, K], 4), y = layer.forward(x);
        out.worst = Math.max(out.worst, errorRatio(layer, x, y));
        const alone = layer.forward(x.narrow(0, M - 1, 1)).dataSync(), all = y.dataSync();
        for (let n = 0; n < N; n++) if (!Object.is(alone[n], all[(M - 1) * N + n])) out.batched = false;
      }
    });
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], {
    encoding: 'utf8', timeout: 60_000, cwd: fileURLToPath(new URL('.', import.meta.url)), env: { ...process.env, TLM_NATIVE_ISA: 'avx2' },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { isa: string; vnni: boolean; worst: number; batched: boolean };
  assert.equal(out.isa, 'avx2+fma');
  assert.equal(out.vnni, false);
  assert.ok(out.worst <= 1, `AVX2 error ${out.worst} of the float32 bound`);
  assert.ok(out.batched, 'AVX2: the last row alone differs from its row in the batch');
});

test('quantizedLinear: one-line errors for wrong inputs', () => noGrad(() => {
  const layer = quantLayer(4, 8, 64, 1, false);
  assert.throws(() => layer.forward(rand([2, 63], 1)), /input \[2,63\] must end in in_features 64/);
  assert.throws(() => quantLayer(4, 8, 48, 1, false), /4-bit weights need in_features divisible by 32, got 48/);
  const x = rand([1, 64], 2);
  x.requiresGrad_(true);
  enableGrad(() => assert.throws(() => layer.forward(x), /no gradient flows through them/));
}));

after(() => { setCpuKernels('wasm'); setCpuNative(true); });

// The WASM SIMD kernels of the cpu backend against float64 references and the TypeScript kernels,
// on awkward sizes (not multiples of the 4×8 tile or of a vector), strided, transposed and
// broadcast operands, on one thread and on several.

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tlm from '../src/index.js';
import { functional as F, tensor, type Tensor } from '../src/index.js';
import { cpuNativeError, cpuThreadsReady, getCpuKernels, getCpuNative, setCpuKernels, setCpuNative, setCpuThreads, shutdownCpuThreads } from '../src/backend/cpu/index.js';
import { getKernel } from '../src/backend/registry.js';
import { runtimeFor } from '../src/backend/cpu/wasm/runtime.js';
import * as W from '../src/backend/cpu/wasm/kernels.js';
import type { CpuBackend } from '../src/backend/cpu/backend.js';
import { backend } from '../src/tensor/engine.js';
import { assertClose } from './helpers/assert.js';
import { checkMatmul, matmulKernel, operand, rand, rnd } from './helpers/matmul.js';

/** Runs f on the TypeScript kernels and on the WASM kernels. */
function both<T>(f: () => T): { ts: T; wasm: T } {
  setCpuKernels('ts');
  try {
    const ts = f();
    setCpuKernels('wasm');
    return { ts, wasm: f() };
  } finally {
    setCpuKernels('wasm');
  }
}

/** both() with the native kernels off: the WebAssembly kernels they would take over (test/native_nn checks those). */
function bothWasm<T>(f: () => T): { ts: T; wasm: T } {
  setCpuNative(false);
  try { return both(f); } finally { setCpuNative(true); }
}

const vals = (t: Tensor) => Array.from(t.contiguous().dataSync());
const rt = () => runtimeFor(backend() as CpuBackend)!;

test('the WASM kernels load (npm run build makes dist/wasm/kernels.wasm)', () => {
  assert.equal(getCpuKernels(), 'wasm');
  assert.equal(setCpuKernels('ts'), 'ts');
  assert.equal(getCpuKernels(), 'ts');
  assert.equal(setCpuKernels('wasm'), 'wasm');
  assert.throws(() => setCpuKernels('gpu' as 'ts'), /expected 'wasm' or 'ts'/);
});

for (const threads of [1, 3]) {
  test(`matmul: every layout, awkward sizes (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
    setCpuThreads(threads);
    await cpuThreadsReady(backend());
    const before = rt().workerItems;
    const shapes: [number, number, number, number][] = [
      [1, 1, 1, 1], [1, 3, 5, 7], [2, 37, 53, 29], [3, 4, 8, 16], [1, 65, 300, 67], [2, 130, 257, 9],
      [1, 1, 100, 33], [3, 1, 20, 17], [1, 5, 0, 7], [4, 9, 600, 10], [1, 200, 300, 150],
      // Few rows against one B (gemmSmallM): row groups of 4 and leftovers, strips of 16 and tails.
      [1, 4, 40, 33], [1, 17, 70, 35], [1, 32, 33, 18], [1, 6, 9, 2], [1, 33, 16, 16],
    ];
    let seed = 1;
    for (const [B, M, K, N] of shapes) {
      const big = M * N * K > 1e6;
      for (const la of big ? ['n', 't'] : ['n', 't', 's', 'b', 'p']) {
        for (const lc of big ? ['n', 't', 'b'] : ['n', 't', 's', 'b', 'p']) {
          const a = operand(la, B, M, K, seed++), c = operand(lc, B, K, N, seed++);
          const { ts, wasm } = both(() => matmulKernel(a, c));
          checkMatmul(a, c, wasm, `wasm [${B},${M},${K}]${la} @ [${B},${K},${N}]${lc}`);
          checkMatmul(a, c, ts, `ts [${B},${M},${K}]${la} @ [${B},${K},${N}]${lc}`);
        }
      }
    }
    // Through the op: broadcast batch dims and a weight shared by every batch element.
    const x = rand([2, 3, 33, 40], 7), w = rand([40, 19], 8);
    const r = both(() => vals(x.matmul(w)));
    assertClose(r.wasm, r.ts, 1e-5, 'x @ w', 1); // absolute near 0: sums of 40 terms cancel
    if (threads > 1) assert.ok(rt().workerItems > before, 'the worker threads ran some of the matmul items');
  });
}

// The few-rows products run natively where the addon loaded (AVX-512 / AVX2+FMA), else on the WASM
// kernels; both are checked, against float64 and row against row.
const nativeIsa = getCpuNative();
console.log(nativeIsa !== null ? `native kernels: ${nativeIsa}` : `native kernels not in use: ${cpuNativeError() || 'turned off'}`);

for (const native of nativeIsa !== null ? [true, false] : [false]) {
  test(`matmul with few rows (${native ? 'native' : 'WASM'}): against float64, and each row gets the bits it gets alone (batched decoding equals decoding alone)`, () => {
    setCpuNative(native);
    try {
      // (On the WASM kernels a large one-row product splits k between threads, summing the parts
      // after: a different order from the few-rows path, so the WASM cases stay below that size.)
      const shapes = [[16, 768, 70], [7, 67, 150], [5, 8, 19], [32, 100, 130], [1, 64, 200], [3, 97, 64], ...(native ? [[2, 300, 1000]] : [])] as const;
      for (const [M, K, N] of shapes) {
        for (const lc of ['n', 't']) {
          const a = rand([1, M, K], 40 + M), c = operand(lc, 1, K, N, 50 + N);
          const out = matmulKernel(a, c);
          checkMatmul(a, c, out, `${native ? 'native' : 'wasm'} [${M},${K}] @ [${K},${N}]${lc}`);
          const all = vals(out);
          for (let i = 0; i < M; i++) {
            const row = vals(matmulKernel(a.narrow(1, i, 1).contiguous(), c));
            assert.deepEqual(all.slice(i * N, (i + 1) * N), row, `row ${i} of [${M},${K}] @ [${K},${N}]${lc}`);
          }
        }
      }
    } finally {
      setCpuNative(true);
    }
  });
}

test('softmax and logSoftmax, forward and backward', () => {
  setCpuThreads(2);
  for (const [rows, n] of [[1, 1], [3, 3], [5, 4], [7, 5], [4, 17], [33, 1000], [300, 129]] as const) {
    for (const log of [false, true]) {
      const data = rnd(rows * n, rows * 7 + n, 8);
      if (n > 2) { data[1] = -Infinity; data[n + 2] = 60; } // a masked entry, a large one
      const g = rand([rows, n], 99);
      const r = bothWasm(() => {
        const x = tensor(data, { shape: [rows, n], requiresGrad: true });
        const y = log ? F.logSoftmax(x, -1) : F.softmax(x, -1);
        y.backward(g);
        return [vals(y), vals(x.grad!)];
      });
      const what = `${log ? 'logSoftmax' : 'softmax'} [${rows},${n}]`;
      // logSoftmax near 0 is x - lse with x ≈ lse: compared absolutely there (floor 1).
      assertClose(r.wasm[0]!, r.ts[0]!, 2e-6, what, log ? 1 : 1e-6);
      assertClose(r.wasm[1]!, r.ts[1]!, 1e-5, `${what} grad`, 0.1); // g - y·Σg cancels; Σ in float32
    }
  }
  // A fully masked row gives NaN, as torch.
  const m = bothWasm(() => vals(F.softmax(tensor([[-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], [0, 1, 2, 3, 4]]), -1)));
  assert.ok(m.wasm.slice(0, 5).every(Number.isNaN));
  assertClose(m.wasm.slice(5), m.ts.slice(5), 2e-6);
});

test('layerNorm, forward and backward, with and without affine', () => {
  setCpuThreads(2);
  for (const [rows, n] of [[1, 1], [2, 3], [5, 7], [16, 64], [300, 769]] as const) {
    for (const affine of [true, false]) {
      const x = rand([rows, n], n + rows, 3).add(0.5), w = rand([n], 5), b = rand([n], 6), g = rand([rows, n], 7);
      const r = bothWasm(() => {
        const xs = x.detach().requiresGrad_(), ws = w.detach().requiresGrad_(), bs = b.detach().requiresGrad_();
        const y = affine ? F.layerNorm(xs, [n], ws, bs, 1e-5) : F.layerNorm(xs, [n], null, null, 1e-5);
        y.backward(g);
        return affine ? [vals(y), vals(xs.grad!), vals(ws.grad!), vals(bs.grad!)] : [vals(y), vals(xs.grad!)];
      });
      const what = `layerNorm [${rows},${n}]${affine ? ' affine' : ''}`;
      // Floors 0.1: w·x̂ + b and the gradients' sums cancel; float32 against the float64 kernel.
      assertClose(r.wasm[0]!, r.ts[0]!, 1e-5, what, 0.1);
      // n = 1: x - mean is 0 up to rounding, and the gradient is rounding noise in both paths.
      if (n > 1) assertClose(r.wasm[1]!, r.ts[1]!, 1e-4, `${what} dx`, 0.1);
      if (affine) {
        assertClose(r.wasm[2]!, r.ts[2]!, 1e-5, `${what} dw`, 1); // sums over rows: scale √rows
        assertClose(r.wasm[3]!, r.ts[3]!, 1e-5, `${what} db`, 1);
      }
    }
  }
});

test('GELU (erf and tanh forms) and their gradients, relu, neg', () => {
  setCpuThreads(2);
  for (const n of [1, 3, 4, 5, 1023, 70001]) {
    const data = rnd(n, n, 6);
    const special = [0, -0, 30, -30, 9, -9, 1e-8, -1e-8, 88, -88, Infinity, -Infinity];
    special.slice(0, n).forEach((v, i) => { data[i] = v; });
    const g = rand([n], 3);
    for (const approximate of ['none', 'tanh'] as const) {
      const r = bothWasm(() => {
        const x = tensor(data, { requiresGrad: true });
        const y = F.gelu(x, { approximate });
        y.backward(g);
        return [vals(y), vals(x.grad!)];
      });
      // Near 0 (the left tail; the gradient near its zero at x ≈ -0.75, where cdf + x·pdf cancels)
      // the float32 kernel is compared absolutely against the float64 one: floors 1e-3 and 0.1.
      assertClose(r.wasm[0]!, r.ts[0]!, 2e-6, `gelu ${approximate} n=${n}`, 1e-3);
      assertClose(r.wasm[1]!, r.ts[1]!, 4e-6, `gelu ${approximate} grad n=${n}`, 0.1); // two formulas of the gradient: a few float32 ulps apart
    }
    const x = tensor(data);
    for (const [name, f] of [['relu', (t: Tensor) => t.relu()], ['neg', (t: Tensor) => t.neg()]] as const) {
      const r = bothWasm(() => vals(f(x)));
      assert.deepEqual(r.wasm, r.ts, name);
    }
  }
  // A strided input takes the TypeScript path and still agrees.
  const s = rand([6, 10], 4).transpose(0, 1);
  const r = bothWasm(() => vals(s.gelu()));
  assertClose(r.wasm, r.ts, 2e-6, 'gelu of a transposed view', 1e-6);
});

test('add, sub, mul, div: contiguous, row-broadcast, scalars (bit-exact with the TypeScript path)', () => {
  setCpuThreads(2);
  const cases: [number[], number[]][] = [[[5], [5]], [[4097], [4097]], [[3, 70001], [70001]], [[70001, 3], [70001, 1]], [[7, 9], [1]], [[2, 3, 5], [3, 1]], [[40000], [1]]];
  for (const [sa, sb] of cases) {
    const a = rand(sa, 11), b = rand(sb, 12).add(2);
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const r = both(() => [vals(a[op](b)), vals(b[op](a)), vals(a[op](1.7)), vals(tlm[op](1.7, a))]);
      for (let i = 0; i < 4; i++) assert.deepEqual(r.wasm[i], r.ts[i], `${op} ${sa} ${sb} (${i})`);
    }
  }
});

test('strided copies: head transposes, slices, broadcasts, int32 (bit-exact with the TypeScript path)', () => {
  setCpuThreads(2);
  const cases: [string, () => Tensor][] = [
    ['heads [B,T,H,D] → [B,H,T,D]', () => rand([3, 65, 4, 33], 1).transpose(1, 2)],
    ['a transposed matrix', () => rand([301, 77], 2).transpose(0, 1)],
    ['every other column', () => rand([40, 90], 3).slice(1, 1, 90, 2)],
    ['a broadcast row', () => rand([1, 70], 4).expand([50, 70])],
    ['five unmergeable dims (TypeScript path)', () => rand([2, 3, 4, 5, 6], 5).permute([4, 2, 0, 3, 1])],
    ['int32, transposed', () => tensor(Int32Array.from({ length: 6000 }, (_, i) => i * 7 - 3000), { shape: [60, 100], dtype: 'int32' }).transpose(0, 1)],
    ['one long run', () => rand([200001], 6).slice(0, 1, 200000)],
  ];
  for (const [what, make] of cases) {
    const r = both(() => vals(make()));
    assert.deepEqual(r.wasm, r.ts, what);
    // The comparison means something only where the WASM kernel takes the layout.
    const x = make(), out = tlm.zeros(x.shape as number[], { dtype: x.dtype });
    const taken = W.copy(rt(), x, out);
    assert.equal(taken, !what.startsWith('five'), `${what}: WASM path`);
    if (taken) assert.deepEqual(vals(out), vals(x), `${what}: WASM kernel direct`);
  }
  // A slice written into a larger tensor (the split backward) leaves the rest untouched.
  const r = both(() => {
    const buf = rand([12, 64, 384], 7), g = rand([12, 64, 128], 8);
    buf.slice(2, 128, 256).copy_(g);
    return vals(buf);
  });
  assert.deepEqual(r.wasm, r.ts, 'slice copy_');
});

test('sums over a dim: float64 accumulation, independent of the thread count', async () => {
  const f64sum = (x: Float32Array, outer: number, n: number, inner: number) => {
    const out: number[] = [];
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += x[(o * n + k) * inner + i]!;
      out.push(Math.fround(s));
    }
    return out;
  };
  const cases: [number[], number, number, number, number][] = [ // shape, dim, outer, n, inner
    [[1], 0, 1, 1, 1], [[7], 0, 1, 7, 1], [[100003], 0, 1, 100003, 1], [[300, 257], 0, 1, 300, 257],
    [[300, 257], 1, 300, 257, 1], [[3, 50, 9], 1, 3, 50, 9], [[768, 512], 0, 1, 768, 512], [[2, 0, 5], 1, 2, 0, 5],
  ];
  for (const [shape, dim, outer, n, inner] of cases) {
    const data = rnd(shape.reduce((a, b) => a * b, 1), shape.length + shape[0]!, 3);
    const x = tensor(data, { shape });
    setCpuThreads(1);
    const one = vals(x.sum(dim));
    setCpuThreads(3);
    await cpuThreadsReady(backend());
    const three = vals(x.sum(dim));
    assert.deepEqual(three, one, `sum ${shape} dim ${dim}: threads`);
    assert.ok(W.reduce(rt(), 'sum', x, outer, n, inner, tlm.zeros([outer * inner])), `sum ${shape}: WASM path`);
    // Each float64 partial order rounds once to float32 at the end: within an ulp of the exact sum.
    assertClose(one, f64sum(data, outer, n, inner), 1e-6, `sum ${shape} dim ${dim}`, 1e-6);
  }
  setCpuThreads(2);
});

test('AdamW step', () => {
  setCpuThreads(2);
  for (const n of [1, 5, 4096, 100003]) {
    const p0 = rnd(n, 1), g = rnd(n, 2), m0 = rnd(n, 3, 0.1), v0 = rnd(n, 4, 0.01).map(Math.abs);
    const params = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.999 ** 3 };
    const r = bothWasm(() => {
      const p = tensor(p0), m = tensor(m0), v = tensor(v0.slice());
      getKernel('adamw', 'cpu')(backend(), p, tensor(g), m, v, params);
      return [vals(p), vals(m), vals(v)];
    });
    // float32 arithmetic against the float64 kernel: m = β1·m + (1-β1)·g cancels, so floor 0.1.
    assertClose(r.wasm[0]!, r.ts[0]!, 1e-6, `adamw p n=${n}`, 0.1);
    assertClose(r.wasm[1]!, r.ts[1]!, 1e-6, `adamw m n=${n}`, 0.1);
    assertClose(r.wasm[2]!, r.ts[2]!, 1e-6, `adamw v n=${n}`, 0.01);
  }
});

test('results do not depend on the thread count (bit for bit)', async () => {
  const x = rand([300, 257], 1).requiresGrad_(), w = rand([257], 2).requiresGrad_(), b = rand([257], 3).requiresGrad_();
  const m = rand([257, 190], 4), g = rand([300, 257], 5);
  const runAll = () => {
    for (const t of [x, w, b]) t.grad = null;
    F.layerNorm(x, [257], w, b).backward(g);
    return [vals(x.matmul(m)), vals(x.grad!), vals(w.grad!), vals(b.grad!)];
  };
  setCpuThreads(1);
  const one = runAll();
  setCpuThreads(3);
  await cpuThreadsReady(backend());
  for (let i = 0; i < 3; i++) assert.deepEqual(runAll(), one);
});

test('the pool shuts down and restarts; setCpuThreads validates', async () => {
  setCpuThreads(3);
  const a = rand([128, 256], 1), b = rand([256, 128], 2);
  const ref = vals(a.matmul(b));
  await shutdownCpuThreads();
  assert.deepEqual(vals(a.matmul(b)), ref); // a new pool starts lazily
  assert.throws(() => setCpuThreads(0), /positive integer/);
});

/** Runs an ES module snippet in a fresh node process with the compiled tlm at `tlm`. */
function child(code: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string; ms: number } {
  const index = new URL('../src/index.js', import.meta.url).href;
  const cpu = new URL('../src/backend/cpu/index.js', import.meta.url).href;
  const src = `import * as tlm from '${index}'; import * as cpu from '${cpu}';\n${code}`;
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t };
}

test('worker threads never keep the process alive', () => {
  // Big enough to run on the workers; the process must end by itself right after.
  const r = child(`cpu.setCpuThreads(3);
    const a = tlm.randn([300, 400]), b = tlm.randn([400, 300]);
    for (let i = 0; i < 5; i++) a.matmul(b).dispose();
    await cpu.cpuThreadsReady(tlm.randn([1]).storage.backend);
    console.log(a.matmul(b).sum().item() !== 0 ? 'ok' : 'zero');`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
});

test('TLM_CPU_KERNELS=ts selects the TypeScript kernels; TLM_NUM_THREADS sets the thread count', () => {
  const r = child(`console.log(cpu.getCpuKernels(), cpu.getCpuThreads());`, { TLM_CPU_KERNELS: 'ts', TLM_NUM_THREADS: '3' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ts 3');
});

after(async () => {
  await shutdownCpuThreads();
});

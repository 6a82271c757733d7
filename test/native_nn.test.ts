// The native row, elementwise, AdamW and attention kernels (native/nn.c, native/attention.c)
// against the TypeScript reference kernels, through the ops: odd sizes (not multiples of a vector),
// masks, fully masked rows, strided heads; the same bits on one thread and on three; and, on an
// AVX-512 machine, all of it again in a child process on the AVX2 path (TLM_NATIVE_ISA=avx2).
// Where the addon is not built the same comparisons run on the WebAssembly kernels.

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { functional as F, tensor, causalMask, type Tensor } from '../src/index.js';
import { cpuThreadsReady, getCpuNative, setCpuKernels, setCpuThreads, shutdownCpuThreads } from '../src/backend/cpu/index.js';
import { nativeKernels } from '../src/backend/cpu/native.js';
import { runtimeFor } from '../src/backend/cpu/wasm/runtime.js';
import { MIN_ELEMENTS } from '../src/backend/cpu/wasm/native_nn.js';
import type { CpuBackend } from '../src/backend/cpu/backend.js';
import { getKernel } from '../src/backend/registry.js';
import { backend } from '../src/tensor/engine.js';
import { Generator } from '../src/tensor/random.js';
import { assertClose } from './helpers/assert.js';

const rnd = (n: number, seed: number, scale = 1) => new Generator(seed).fillUniform(new Float32Array(n), -scale, scale);
const rand = (shape: number[], seed: number, scale = 1) => tensor(rnd(shape.reduce((a, b) => a * b, 1), seed, scale), { shape });
const vals = (t: Tensor) => Array.from(t.contiguous().dataSync());

const isa = getCpuNative();
console.log(`native kernels: ${isa ?? 'not in use (the WebAssembly kernels are checked instead)'}`);

// Counts the plans the addon makes (a plan it declines is null), so each test can assert that its
// native kernel really ran rather than the WebAssembly one.
const planned = new Map<string, number>();
const addon = isa === null ? null : nativeKernels() as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const name of Object.keys(addon ?? {}).filter((n) => n.endsWith('Plan') && n !== 'matmulPlan')) {
  const f = addon![name]!;
  addon![name] = (...a: unknown[]) => { const p = f(...a); if (p !== null) planned.set(name, (planned.get(name) ?? 0) + 1); return p; };
}

/**
 * Runs f on the TypeScript kernels, then on the native ones; asserts that each named plan was made
 * when the case has `elements` (at least MIN_ELEMENTS: below, the WebAssembly kernels run it).
 */
function both<T>(plans: string[], elements: number, f: () => T): { ts: T; nat: T } {
  if (elements < MIN_ELEMENTS) plans = [];
  setCpuKernels('ts');
  let ts: T;
  try { ts = f(); } finally { setCpuKernels('wasm'); }
  const before = plans.map((p) => planned.get(p) ?? 0);
  const nat = f();
  if (isa !== null) plans.forEach((p, i) => assert.ok((planned.get(p) ?? 0) > before[i]!, `the native ${p} ran`));
  return { ts, nat };
}

/** f on one thread, then on three (the workers taking part): the same bits. */
async function threadInvariant(what: string, f: () => number[][]): Promise<void> {
  setCpuThreads(1);
  const one = f();
  setCpuThreads(3);
  const r = runtimeFor(backend() as CpuBackend)!;
  await cpuThreadsReady(backend());
  const items = r.workerItems;
  // (A worker that sleeps may wake after the calling thread took every item: a few tries.)
  for (let i = 0; i < 5 && r.workerItems === items; i++) {
    f().forEach((v, j) => assert.deepEqual(v, one[j], `${what} (output ${j}): 3 threads against 1`));
  }
  assert.ok(r.workerItems > items, `${what}: the workers took part`);
  setCpuThreads(2);
}

function softmaxCase(rows: number, n: number, log: boolean, seed: number): number[][] {
  const data = rnd(rows * n, seed, 8);
  if (n > 2) { data[1] = -Infinity; data[n + 2] = 60; } // a hidden entry, a large one
  if (rows > 2) data.fill(-Infinity, 2 * n, 3 * n); // a fully masked row: NaN, as torch
  const x = tensor(data, { shape: [rows, n], requiresGrad: true });
  const y = log ? F.logSoftmax(x, -1) : F.softmax(x, -1);
  y.backward(rand([rows, n], seed + 1));
  return [vals(y), vals(x.grad!)];
}

test('softmax and logSoftmax, forward and backward, odd sizes and masked rows', () => {
  for (const [rows, n] of [[1, 1], [3, 5], [70, 17], [40, 33], [64, 16], [20, 65], [11, 100], [2, 1100], [33, 1000], [300, 129]] as const) {
    for (const log of [false, true]) {
      const r = both(['softmaxPlan', 'softmaxBackwardPlan'], rows * n, () => softmaxCase(rows, n, log, rows + n));
      const what = `${log ? 'logSoftmax' : 'softmax'} [${rows},${n}]`;
      assertClose(r.nat[0]!, r.ts[0]!, 2e-6, what, log ? 1 : 1e-6); // log: x - lse near 0, compared absolutely there
      assertClose(r.nat[1]!, r.ts[1]!, 1e-5, `${what} grad`, 0.1); // g - y·Σg cancels; Σ in float32
      if (rows > 2) assert.ok(r.nat[0]!.slice(2 * n, 3 * n).every(Number.isNaN), `${what}: the masked row is NaN`);
    }
  }
});

function layerNormCase(rows: number, n: number, affine: boolean, seed: number): number[][] {
  const x = rand([rows, n], seed, 3).add(0.5).requiresGrad_(), w = rand([n], seed + 1).requiresGrad_(), b = rand([n], seed + 2).requiresGrad_();
  const y = affine ? F.layerNorm(x, [n], w, b, 1e-5) : F.layerNorm(x, [n], null, null, 1e-5);
  y.backward(rand([rows, n], seed + 3));
  return affine ? [vals(y), vals(x.grad!), vals(w.grad!), vals(b.grad!)] : [vals(y), vals(x.grad!)];
}

test('layerNorm, forward and backward, with and without affine, odd sizes', () => {
  for (const [rows, n] of [[1, 3], [5, 7], [70, 17], [70, 33], [16, 64], [40, 129], [1, 1500], [300, 769]] as const) {
    for (const affine of [true, false]) {
      const r = both(['layerNormPlan', 'layerNormBackwardPlan'], rows * n, () => layerNormCase(rows, n, affine, rows * n));
      const what = `layerNorm [${rows},${n}]${affine ? ' affine' : ''}`;
      assertClose(r.nat[0]!, r.ts[0]!, 1e-5, what, 0.1); // float32 against the float64 kernel; w·x̂ + b cancels
      assertClose(r.nat[1]!, r.ts[1]!, 1e-4, `${what} dx`, 0.1);
      if (affine) {
        assertClose(r.nat[2]!, r.ts[2]!, 1e-5, `${what} dw`, 1); // sums over rows
        assertClose(r.nat[3]!, r.ts[3]!, 1e-5, `${what} db`, 1);
      }
    }
  }
});

function geluCase(n: number, approximate: 'none' | 'tanh', seed: number): number[][] {
  const data = rnd(n, seed, 6);
  [0, -0, 30, -30, 9, -9, 1e-8, -1e-8, 88, -88, Infinity, -Infinity].slice(0, n).forEach((v, i) => { data[i] = v; });
  const x = tensor(data, { requiresGrad: true });
  const y = F.gelu(x, { approximate });
  y.backward(rand([n], seed + 1));
  return [vals(y), vals(x.grad!)];
}

test('GELU (erf and tanh forms) and their gradients, odd lengths and special values', () => {
  for (const n of [1, 7, 100, 1025, 1039, 16384 * 2 + 9]) {
    for (const approximate of ['none', 'tanh'] as const) {
      const r = both(['geluPlan', 'geluGradPlan'], n, () => geluCase(n, approximate, n));
      // Near 0 (the left tail; the gradient near its zero at x ≈ -0.75) compared absolutely.
      assertClose(r.nat[0]!, r.ts[0]!, 2e-6, `gelu ${approximate} n=${n}`, 1e-3);
      assertClose(r.nat[1]!, r.ts[1]!, 4e-6, `gelu ${approximate} grad n=${n}`, 0.1);
    }
  }
});

const ADAM = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.999 ** 3 };

function adamwCase(n: number): number[][] {
  const p = tensor(rnd(n, 1)), m = tensor(rnd(n, 3, 0.1)), v = tensor(rnd(n, 4, 0.01).map(Math.abs));
  getKernel('adamw', 'cpu')(backend(), p, tensor(rnd(n, 2)), m, v, ADAM);
  return [vals(p), vals(m), vals(v)];
}

test('AdamW step, odd lengths', () => {
  for (const n of [1, 15, 1025, 1039, 300001]) {
    const r = both(['adamwPlan'], n, () => adamwCase(n));
    assertClose(r.nat[0]!, r.ts[0]!, 1e-6, `adamw p n=${n}`, 0.1);
    assertClose(r.nat[1]!, r.ts[1]!, 1e-6, `adamw m n=${n}`, 0.1);
    assertClose(r.nat[2]!, r.ts[2]!, 1e-6, `adamw v n=${n}`, 0.01);
  }
});

interface AttnCase { name: string; q: number[]; k: number[]; v: number[]; causal?: boolean; mask?: () => Tensor; packed?: boolean }

const boolMask = (L: number, S: number, seed: number, emptyRow: number) => {
  const r = rnd(L * S, seed), m = new Uint8Array(L * S);
  for (let i = 0; i < L * S; i++) m[i] = r[i]! > -0.4 && Math.floor(i / S) !== emptyRow ? 1 : 0;
  for (let i = 0; i < L; i++) if (i !== emptyRow) m[i * S + (i % S)] = 1;
  return tensor(m, { shape: [L, S], dtype: 'bool' });
};

const attnCases: AttnCase[] = [
  { name: 'causal, odd head size', q: [2, 2, 37, 13], k: [2, 2, 37, 13], v: [2, 2, 37, 13], causal: true },
  { name: 'no mask, L != S, E != Ev', q: [2, 3, 17, 8], k: [2, 3, 19, 8], v: [2, 3, 19, 5] },
  { name: 'causal, L > S', q: [1, 11, 4], k: [1, 6, 4], v: [1, 6, 3], causal: true },
  { name: 'bool mask with a fully masked row', q: [2, 2, 10, 9], k: [2, 2, 70, 9], v: [2, 2, 70, 17], mask: () => boolMask(10, 70, 5, 3) },
  { name: 'float key-padding mask [B, 1, 1, S]', q: [2, 4, 7, 16], k: [2, 4, 12, 16], v: [2, 4, 12, 16], mask: () => rand([2, 1, 1, 12], 9, 2) },
  { name: 'decoding: 2 queries, 67 keys (the direct path)', q: [2, 3, 2, 24], k: [2, 3, 67, 24], v: [2, 3, 67, 24] },
  { name: 'baby GPT shape, heads of one packed projection', q: [3, 4, 64, 32], k: [3, 4, 64, 32], v: [3, 4, 64, 32], causal: true, packed: true },
  { name: 'wide heads, several query blocks', q: [1, 2, 100, 80], k: [1, 2, 100, 80], v: [1, 2, 100, 70], causal: true },
];

function attentionCase(c: AttnCase, seed: number): number[][] {
  let q: Tensor, k: Tensor, v: Tensor, leaves: Tensor[];
  if (c.packed) {
    const [B, H, L, E] = c.q as [number, number, number, number];
    const qkv = rand([B, L, 3 * H * E], seed).requiresGrad_();
    [q, k, v] = qkv.split(H * E, -1).map((t) => t.reshape(B, L, H, E).transpose(1, 2)) as [Tensor, Tensor, Tensor];
    leaves = [qkv];
  } else {
    leaves = [rand(c.q, seed).requiresGrad_(), rand(c.k, seed + 1).requiresGrad_(), rand(c.v, seed + 2).requiresGrad_()];
    [q, k, v] = leaves as [Tensor, Tensor, Tensor];
  }
  const out = F.scaledDotProductAttention(q, k, v, { isCausal: c.causal, attnMask: c.mask ? c.mask() : null });
  out.backward(rand(out.shape as number[], seed + 3));
  return [vals(out), ...leaves.map((t) => vals(t.grad!))];
}

test('fused attention, forward and backward: causal, masks, odd sizes, packed heads, decoding', () => {
  let seed = 10;
  for (const c of attnCases) {
    const r = both(['attentionPlan'], Infinity, () => attentionCase(c, seed));
    r.nat.forEach((v, i) => assertClose(v, r.ts[i]!, 2e-5, `${c.name} (output ${i})`, 0.05));
    if (c.mask && c.name.includes('fully')) assert.ok(r.nat[0]!.slice(3 * 17, 4 * 17).every(Number.isNaN), `${c.name}: the masked row is NaN`);
    seed += 10;
  }
  // A causal call and the same explicit mask agree to the bit (hidden keys are exact zeros), packed or direct.
  for (const L of [23, 3]) {
    const q = rand([3, L, 7], 1), k = rand([3, L, 7], 2), v = rand([3, L, 6], 3);
    const a = vals(F.scaledDotProductAttention(q, k, v, { isCausal: true }));
    assert.deepEqual(vals(F.scaledDotProductAttention(q, k, v, { attnMask: causalMask(L, L).logicalNot() })), a, `causal L=${L}`);
  }
});

test('native kernels give the same bits on one thread and on three', async () => {
  await threadInvariant('softmax', () => softmaxCase(300, 1000, false, 1));
  await threadInvariant('logSoftmax', () => softmaxCase(300, 1000, true, 2));
  await threadInvariant('layerNorm', () => layerNormCase(2000, 769, true, 3));
  await threadInvariant('gelu', () => geluCase(300001, 'none', 4));
  await threadInvariant('gelu tanh', () => geluCase(300001, 'tanh', 5));
  await threadInvariant('adamw', () => adamwCase(1000003));
  await threadInvariant('attention', () => attentionCase({ name: '', q: [2, 4, 100, 32], k: [2, 4, 100, 32], v: [2, 4, 100, 32], causal: true }, 6));
});

test('exp of the softmax kernels: within one ulp of Math.exp over [-87, 87]', () => {
  // logSoftmax backward of rows [a, b] with g = [0, 1] is [-exp(a), 1 - exp(b)]: exp(a), exactly as computed.
  const N = 40000, y = new Float32Array(2 * N), g = new Float32Array(2 * N);
  for (let i = 0; i < N; i++) { y[2 * i] = Math.fround(-87 + (174 * i) / N); g[2 * i + 1] = 1; }
  const gx = tensor(new Float32Array(2 * N), { shape: [N, 2] });
  getKernel('softmaxBackward', 'cpu')(backend(), tensor(y, { shape: [N, 2] }), tensor(g, { shape: [N, 2] }), N, 2, true, gx);
  const got = gx.dataSync();
  const ulp = (x: number) => { const f = new Float32Array([x]), u = new Uint32Array(f.buffer); u[0]! += 1; return f[0]! - x; };
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const e = Math.exp(y[2 * i]!);
    worst = Math.max(worst, Math.abs(-got[2 * i]! - e) / ulp(Math.fround(e)));
  }
  assert.ok(worst <= 1, `exp: ${worst.toFixed(2)} ulp`);
});

if (isa === 'avx512f') {
  test('the AVX2 + FMA path passes all of the above (a child process with TLM_NATIVE_ISA=avx2)', () => {
    const env: Record<string, string | undefined> = { ...process.env, TLM_NATIVE_ISA: 'avx2' };
    delete env.NODE_TEST_CONTEXT; // (set for files under node --test: it would make the child report in the runner's binary format)
    const r = spawnSync(process.execPath, ['--test', fileURLToPath(import.meta.url)], { encoding: 'utf8', timeout: 600_000, env });
    assert.match(r.stdout, /native kernels: avx2\+fma/);
    assert.equal(r.status, 0, r.stdout.split('\n').filter((l) => /not ok|fail|Error/.test(l)).join('\n'));
  });
}

after(async () => {
  await shutdownCpuThreads();
});

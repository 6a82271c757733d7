// The fused attention kernels (native where built, WASM and TypeScript) against the composite path (matmul, mask,
// softmax, matmul, and autograd through them): forward and gradients, with causal, bool and float
// masks, broadcast batch dims, L != S, E != Ev, on one thread and several.

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor, causalMask, type Tensor } from '../src/index.js';
import { getCpuNative, setCpuKernels, setCpuNative, setCpuThreads, shutdownCpuThreads, cpuThreadsReady } from '../src/backend/cpu/index.js';
import { backend } from '../src/tensor/engine.js';
import { Generator } from '../src/tensor/random.js';
import { assertClose } from './helpers/assert.js';

/** Deterministic uniform values in [-scale, scale), from the project's seeded generator. */
const rnd = (n: number, seed: number, scale = 1) => new Generator(seed).fillUniform(new Float32Array(n), -scale, scale);
const rand = (shape: number[], seed: number, scale = 1) => tensor(rnd(shape.reduce((a, b) => a * b, 1), seed, scale), { shape });
const vals = (t: Tensor) => Array.from(t.contiguous().dataSync());

/** The fused kernels under test: the native ones where the addon is built, WASM, TypeScript. */
const kinds = getCpuNative() !== null ? ['native', 'wasm', 'ts'] as const : ['wasm', 'ts'] as const;

/** f on one kernel set (then back to the default: WASM with the native kernels where built). */
function on<T>(kind: typeof kinds[number], f: () => T): T {
  setCpuKernels(kind === 'ts' ? 'ts' : 'wasm');
  setCpuNative(kind === 'native');
  try { return f(); } finally { setCpuKernels('wasm'); setCpuNative(true); }
}

interface Case {
  name: string; q: number[]; k: number[]; v: number[]; causal?: boolean; mask?: () => Tensor; scale?: number;
  /**
   * How q, k, v are made (default: three leaves): 'packed' as the heads of one [B, L, 3·H·E] leaf
   * (split, reshape, transpose: GPT-2's c_attn), 'transposed' from leaves stored [..., E, L] (a
   * strided last dim), 'permuted' from leaves whose batch dims are permuted (they cannot merge),
   * 'cache' with k and v the first S rows of longer leaves (a KV cache's views of its buffers).
   */
  layout?: 'packed' | 'transposed' | 'permuted' | 'cache';
}

/** q, k, v for a case, and the leaves whose gradients are compared. */
function inputs(c: Case, seed: number): { q: Tensor; k: Tensor; v: Tensor; leaves: Tensor[] } {
  if (c.layout === 'packed') {
    const [B, H, L, E] = c.q as [number, number, number, number];
    const qkv = rand([B, L, 3 * H * E], seed).requiresGrad_();
    const [q, k, v] = qkv.split(H * E, -1).map((t) => t.reshape(B, L, H, E).transpose(1, 2)) as [Tensor, Tensor, Tensor];
    return { q, k, v, leaves: [qkv] };
  }
  if (c.layout === 'cache') {
    const room = (shape: number[]) => shape.map((d, i) => i === shape.length - 2 ? d + 7 : d);
    const leaves = [rand(c.q, seed), rand(room(c.k), seed + 1), rand(room(c.v), seed + 2)].map((t) => t.requiresGrad_());
    const S = c.k[c.k.length - 2]!;
    return { q: leaves[0]!, k: leaves[1]!.narrow(-2, 0, S), v: leaves[2]!.narrow(-2, 0, S), leaves };
  }
  const leaf = (shape: number[], s: number) => {
    const n = shape.length;
    if (c.layout === 'transposed') return rand([...shape.slice(0, -2), shape[n - 1]!, shape[n - 2]!], s).requiresGrad_();
    if (c.layout === 'permuted') return rand([shape[1]!, shape[0]!, ...shape.slice(2)], s).requiresGrad_();
    return rand(shape, s).requiresGrad_();
  };
  const view = (t: Tensor) => c.layout === 'transposed' ? t.mT
    : c.layout === 'permuted' ? t.permute([1, 0, ...Array.from({ length: t.ndim - 2 }, (_, i) => i + 2)]) : t;
  const leaves = [leaf(c.q, seed), leaf(c.k, seed + 1), leaf(c.v, seed + 2)];
  const [q, k, v] = leaves.map(view) as [Tensor, Tensor, Tensor];
  return { q, k, v, leaves };
}

/** softmax(q kᵀ · scale + mask) v through separate ops: the reference. */
function composite(q: Tensor, k: Tensor, v: Tensor, c: Case, mask: Tensor | null): Tensor {
  const L = q.shape[q.ndim - 2]!, S = k.shape[k.ndim - 2]!;
  let s = q.matmul(k.mT).mul(c.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]!));
  if (c.causal) s = s.maskedFill(causalMask(L, S), -Infinity);
  if (mask) s = mask.dtype === 'bool' ? s.maskedFill(mask.logicalNot(), -Infinity) : s.add(mask);
  return F.softmax(s, -1).matmul(v);
}

/** Output and the gradients of the leaves (for a fixed upstream gradient). */
function run(c: Case, fused: boolean, seed: number): number[][] {
  const { q, k, v, leaves } = inputs(c, seed);
  const mask = c.mask ? c.mask() : null;
  const out = fused ? F.scaledDotProductAttention(q, k, v, { isCausal: c.causal, attnMask: mask, scale: c.scale }) : composite(q, k, v, c, mask);
  const g = rand(out.shape as number[], seed + 3);
  // The heads merged back as GPT-2 does (a view of the fused output, which is laid out [B, L, H, Ev]).
  if (out.ndim === 4) out.transpose(1, 2).reshape(out.shape[0]!, out.shape[2]!, -1).backward(g.transpose(1, 2).reshape(out.shape[0]!, out.shape[2]!, -1));
  else out.backward(g);
  return [vals(out), ...leaves.map((t) => vals(t.grad!))];
}

const boolMask = (L: number, S: number, seed: number, emptyRow = -1) => {
  const r = rnd(L * S, seed);
  const m = new Uint8Array(L * S);
  for (let i = 0; i < L * S; i++) m[i] = r[i]! > -0.4 && Math.floor(i / S) !== emptyRow ? 1 : 0;
  for (let i = 0; i < L; i++) if (i !== emptyRow) m[i * S + (i % S)] = 1; // every other row sees a key
  return tensor(m, { shape: [L, S], dtype: 'bool' });
};

const cases: Case[] = [
  { name: 'no mask, L != S, E != Ev', q: [2, 3, 17, 8], k: [2, 3, 19, 8], v: [2, 3, 19, 5] },
  { name: 'causal, odd head size', q: [2, 2, 37, 13], k: [2, 2, 37, 13], v: [2, 2, 37, 13], causal: true },
  { name: 'causal, L < S (top-left triangle)', q: [1, 5, 6], k: [1, 9, 6], v: [1, 9, 6], causal: true },
  { name: 'causal, L > S', q: [1, 11, 4], k: [1, 6, 4], v: [1, 6, 3], causal: true },
  { name: 'bool mask [L, S], custom scale', q: [2, 2, 10, 9], k: [2, 2, 14, 9], v: [2, 2, 14, 9], mask: () => boolMask(10, 14, 5), scale: 0.3 },
  { name: 'float key-padding mask [B, 1, 1, S]', q: [2, 4, 7, 16], k: [2, 4, 12, 16], v: [2, 4, 12, 16],
    mask: () => tensor(rnd(24, 9, 2), { shape: [2, 1, 1, 12] }) },
  { name: 'k and v shared by the heads (batch broadcast)', q: [2, 4, 9, 8], k: [2, 1, 9, 8], v: [2, 1, 9, 8], causal: true },
  { name: '2-D inputs', q: [6, 5], k: [7, 5], v: [7, 2] },
  { name: 'float mask over batch and heads [B, H, L, S]', q: [2, 3, 5, 4], k: [2, 3, 6, 4], v: [2, 3, 6, 4],
    mask: () => tensor(rnd(180, 21, 3), { shape: [2, 3, 5, 6] }) },
  { name: 'larger causal (several query blocks, threads)', q: [2, 2, 100, 64], k: [2, 2, 100, 64], v: [2, 2, 100, 64], causal: true },
  { name: 'heads of one packed projection, causal', q: [3, 4, 37, 16], k: [3, 4, 37, 16], v: [3, 4, 37, 16], causal: true, layout: 'packed' },
  { name: 'q, k, v with a strided last dim', q: [2, 3, 9, 6], k: [2, 3, 11, 6], v: [2, 3, 11, 7], layout: 'transposed' },
  { name: 'three batch dims that merge', q: [2, 3, 2, 9, 8], k: [2, 3, 2, 10, 8], v: [2, 3, 2, 10, 8], causal: true },
  { name: 'batch dims that cannot merge', q: [2, 3, 2, 9, 8], k: [2, 3, 2, 9, 8], v: [2, 3, 2, 9, 8], layout: 'permuted',
    mask: () => tensor(rnd(81, 31, 2), { shape: [9, 9] }) },
  // One query (a decode step: its own kernel, reading K and V in place).
  { name: 'one query over a cache view, GPT-2 head size', q: [1, 12, 1, 64], k: [1, 12, 300, 64], v: [1, 12, 300, 64], layout: 'cache' },
  { name: 'one query, float key-padding mask, head sizes off 16', q: [2, 3, 1, 13], k: [2, 3, 40, 13], v: [2, 3, 40, 21],
    mask: () => tensor(rnd(80, 41, 2), { shape: [2, 1, 1, 40] }), layout: 'cache' },
  { name: 'one query, causal (top-left: key 0 only)', q: [2, 2, 1, 8], k: [2, 2, 9, 8], v: [2, 2, 9, 8], causal: true },
  { name: 'one query, bool mask, 2-D', q: [1, 5], k: [33, 5], v: [33, 3], mask: () => boolMask(1, 33, 43) },
];

for (const threads of [1, 3]) {
  test(`attention: fused (${kinds.join(', ')}) against the composite ops (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
    setCpuThreads(threads);
    await cpuThreadsReady(backend());
    let seed = 100;
    for (const c of cases) {
      const ref = run(c, false, seed);
      const names = c.layout === 'packed' ? ['out', 'dqkv'] : ['out', 'dq', 'dk', 'dv'];
      for (const kind of kinds) {
        const got = on(kind, () => run(c, true, seed));
        for (let i = 0; i < names.length; i++) assertClose(got[i]!, ref[i]!, 2e-5, `${c.name}: ${kind} ${names[i]}`, 0.05);
      }
      seed += 10;
    }
  });
}

test('attention: a causal call and the same explicit mask agree to the bit; a fully masked row is NaN', () => {
  setCpuThreads(2);
  for (const kind of kinds) on(kind, () => {
    const q = rand([3, 23, 7], 1), k = rand([3, 23, 7], 2), v = rand([3, 23, 6], 3);
    const a = vals(F.scaledDotProductAttention(q, k, v, { isCausal: true }));
    const b = vals(F.scaledDotProductAttention(q, k, v, { attnMask: causalMask(23, 23).logicalNot() }));
    assert.deepEqual(a, b, kind);
    const m = boolMask(4, 5, 7, 2);
    const out = vals(F.scaledDotProductAttention(rand([4, 3], 4), rand([5, 3], 5), rand([5, 2], 6), { attnMask: m }));
    assert.ok(out.slice(4, 6).every(Number.isNaN), `${kind}: masked row`);
    assert.ok(out.slice(0, 4).every(Number.isFinite), `${kind}: other rows`);
    const none = tensor(new Uint8Array(5), { shape: [1, 5], dtype: 'bool' });
    assert.ok(vals(F.scaledDotProductAttention(rand([1, 3], 7), rand([5, 3], 8), rand([5, 2], 9), { attnMask: none })).every(Number.isNaN), `${kind}: one masked query`);
  });
});

test('attention: dropout and a float mask that needs a gradient take the composite path', () => {
  const q = rand([4, 3], 1), k = rand([5, 3], 2), v = rand([5, 2], 3);
  const mask = rand([4, 5], 4).requiresGrad_();
  const out = F.scaledDotProductAttention(q, k, v, { attnMask: mask });
  out.sum().backward();
  assert.ok(mask.grad !== null, 'the mask gets a gradient');
  assert.throws(() => F.scaledDotProductAttention(q, k, v, { attnMask: mask, isCausal: true }), /either attnMask or isCausal/);
  assert.throws(() => F.scaledDotProductAttention(q, rand([5, 4], 1), v), /differ in the last dim/);
  assert.throws(() => F.scaledDotProductAttention(q, k, v, { attnMask: tensor([true, false, true], { dtype: 'bool' }) }), /does not broadcast|cannot be broadcast/);
});

after(async () => {
  await shutdownCpuThreads();
});

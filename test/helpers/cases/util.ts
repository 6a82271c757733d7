// Small assertions for the op cases. Values are always read with `await t.data()`, so every case
// runs unchanged on asynchronous backends.

import assert from 'node:assert/strict';
import type { Tensor } from '../../../src/index.js';
import { assertClose } from '../assert.js';

export async function vals(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

/** Shape, dtype (if given) and values; float values within `tol` relative (floor 1e-6 absolute-ish). */
export async function expectTensor(t: Tensor, shape: readonly number[], values: readonly number[],
                                   opts: { dtype?: string; tol?: number; what?: string } = {}): Promise<void> {
  const what = opts.what ?? 'tensor';
  assert.deepEqual([...t.shape], [...shape], `${what}: shape`);
  if (opts.dtype !== undefined) assert.equal(t.dtype, opts.dtype, `${what}: dtype`);
  const got = await vals(t);
  if (t.dtype !== 'float32') assert.deepEqual(got, [...values], `${what}: values`);
  else assertClose(got, values, opts.tol ?? 1e-6, what, 1e-6);
}

/** Row-major coordinates ↔ flat index helpers for building reference results in plain JS. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { c[d] = i % shape[d]!; i = Math.floor(i / shape[d]!); }
  return c;
}

/** Reference reduction: fn over the values of each group along dims, in float64. */
export function refReduce(data: readonly number[], shape: readonly number[], dims: readonly number[], keepdim: boolean,
                          fn: (group: number[]) => number): { shape: number[]; data: number[] } {
  const nd = shape.length;
  const norm = dims.map((d) => (d < 0 ? d + nd : d));
  const outFull = shape.map((s, i) => (norm.includes(i) ? 1 : s));
  const groups = new Map<number, number[]>();
  const os = stridesOf(outFull);
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape);
    let k = 0;
    for (let d = 0; d < nd; d++) if (!norm.includes(d)) k += c[d]! * os[d]!;
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(data[i]!);
  }
  const n = outFull.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(fn(groups.get(k) ?? []));
  return { shape: keepdim ? outFull : shape.filter((_, i) => !norm.includes(i)), data: out };
}

/** Deterministic float values (no RNG dependence): a simple LCG in [-scale, scale), 4 decimals. */
export function det(n: number, seed = 1, scale = 2): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(Math.round(((s / 2 ** 32) * 2 - 1) * scale * 1e4) / 1e4);
  }
  return out;
}

/** Plain matmul of row-major [M,K] @ [K,N] in float64. */
export function refMatmul(a: readonly number[], b: readonly number[], M: number, K: number, N: number): number[] {
  const out = new Array<number>(M * N).fill(0);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[i * N + j]! += a[i * K + k]! * b[k * N + j]!;
  return out;
}

export const f32 = (v: number): number => Math.fround(v);

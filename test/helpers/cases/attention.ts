// Fused scaled-dot-product attention on every backend against the composite ops on the same
// backend (matmul, mask, softmax, matmul, with autograd through them): output and the gradients of
// q, k, v. Shapes cross the GPU kernel's tiles (64 query or key rows per workgroup, up to 32 keys
// per staged tile, 64 value columns per chunk); masks are causal, bool, float with -inf, broadcast.

import assert from 'node:assert/strict';
import { functional as F, tensor, causalMask, type Tensor } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { assertClose } from '../assert.js';
import { det } from './util.js';

interface AttnCase {
  name: string; q: number[]; k: number[]; v: number[]; causal?: boolean; mask?: () => Tensor; scale?: number;
  /** 'packed': q, k, v are the heads of one [B, L, 3·H·E] leaf (GPT-2's c_attn), read in place. */
  packed?: boolean;
}

const rand = (shape: number[], seed: number) => tensor(det(shape.reduce((a, b) => a * b, 1), seed, 1), { shape });

function inputs(c: AttnCase, seed: number): { q: Tensor; k: Tensor; v: Tensor; leaves: Tensor[] } {
  if (c.packed) {
    const [B, H, L, E] = c.q as [number, number, number, number];
    const qkv = rand([B, L, 3 * H * E], seed).requiresGrad_();
    const [q, k, v] = qkv.split(H * E, -1).map((t) => t.reshape(B, L, H, E).transpose(1, 2)) as [Tensor, Tensor, Tensor];
    return { q, k, v, leaves: [qkv] };
  }
  const leaves = [rand(c.q, seed).requiresGrad_(), rand(c.k, seed + 1).requiresGrad_(), rand(c.v, seed + 2).requiresGrad_()];
  const [q, k, v] = leaves as [Tensor, Tensor, Tensor];
  return { q, k, v, leaves };
}

/** softmax(q kᵀ · scale + mask) v through separate ops: the reference. */
function composite(q: Tensor, k: Tensor, v: Tensor, c: AttnCase, mask: Tensor | null): Tensor {
  const L = q.shape[q.ndim - 2]!, S = k.shape[k.ndim - 2]!;
  let s = q.matmul(k.mT).mul(c.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]!));
  if (c.causal) s = s.maskedFill(causalMask(L, S, q.device), -Infinity);
  if (mask) s = mask.dtype === 'bool' ? s.maskedFill(mask.logicalNot(), -Infinity) : s.add(mask);
  return F.softmax(s, -1).matmul(v);
}

/** Output and the leaves' gradients for a fixed upstream gradient. */
async function run(c: AttnCase, fused: boolean, seed: number): Promise<number[][]> {
  const { q, k, v, leaves } = inputs(c, seed);
  const mask = c.mask ? c.mask() : null;
  const out = fused ? F.scaledDotProductAttention(q, k, v, { isCausal: c.causal, attnMask: mask, scale: c.scale }) : composite(q, k, v, c, mask);
  out.backward(rand(out.shape as number[], seed + 3));
  return [Array.from(await out.data()), ...(await Promise.all(leaves.map(async (t) => Array.from(await t.grad!.data()))))];
}

/** A bool mask [L, S] (true = may attend) where every row sees its diagonal key, except emptyRow, which sees none. */
function boolMask(L: number, S: number, seed: number, emptyRow = -1): Tensor {
  const r = det(L * S, seed, 1);
  const m = new Uint8Array(L * S);
  for (let i = 0; i < L * S; i++) m[i] = r[i]! > -0.4 && Math.floor(i / S) !== emptyRow ? 1 : 0;
  for (let i = 0; i < L; i++) if (i !== emptyRow) m[i * S + (i % S)] = 1;
  return tensor(m, { shape: [L, S], dtype: 'bool' });
}

/** A float mask with some -inf entries (never a whole row). */
function floatMask(shape: number[], seed: number): Tensor {
  const vals = det(shape.reduce((a, b) => a * b, 1), seed, 2).map((v, i) => (v < -1.4 && i % 5 !== 0 ? -Infinity : v));
  return tensor(vals, { shape });
}

const cases: AttnCase[] = [
  { name: 'no mask, L != S, E != Ev', q: [2, 3, 17, 8], k: [2, 3, 19, 8], v: [2, 3, 19, 5] },
  { name: 'causal, odd head size, several query and key workgroups', q: [1, 2, 70, 13], k: [1, 2, 70, 13], v: [1, 2, 70, 13], causal: true },
  { name: 'causal, L < S (top-left triangle)', q: [1, 5, 6], k: [1, 9, 6], v: [1, 9, 6], causal: true },
  { name: 'causal, L > S', q: [1, 11, 4], k: [1, 6, 4], v: [1, 6, 3], causal: true },
  { name: 'bool mask [L, S], custom scale, key tiles with a partial last tile', q: [2, 2, 10, 9], k: [2, 2, 45, 9], v: [2, 2, 45, 9],
    mask: () => boolMask(10, 45, 5), scale: 0.3 },
  { name: 'float mask with -inf [B, 1, L, S], broadcast over heads', q: [2, 3, 7, 16], k: [2, 3, 12, 16], v: [2, 3, 12, 16],
    mask: () => floatMask([2, 1, 7, 12], 9) },
  { name: 'float key-padding mask [B, 1, 1, S]', q: [2, 4, 7, 16], k: [2, 4, 12, 16], v: [2, 4, 12, 16],
    mask: () => tensor(det(24, 9, 2), { shape: [2, 1, 1, 12] }) },
  { name: 'k and v shared by the heads (batch broadcast)', q: [2, 4, 9, 8], k: [2, 1, 9, 8], v: [2, 1, 9, 8], causal: true },
  { name: 'value rows wider than one chunk (Ev = 70)', q: [1, 2, 9, 16], k: [1, 2, 11, 16], v: [1, 2, 11, 70] },
  { name: '2-D inputs', q: [6, 5], k: [7, 5], v: [7, 2] },
  { name: 'heads of one packed projection, causal', q: [2, 4, 37, 16], k: [2, 4, 37, 16], v: [2, 4, 37, 16], causal: true, packed: true },
];

export const attentionCases: Case[] = [
  ...cases.map((c, n): Case => ({
    name: `attention: fused equals the composite ops (${c.name})`,
    run: async () => {
      const seed = 300 + 10 * n;
      const ref = await run(c, false, seed), got = await run(c, true, seed);
      const names = c.packed ? ['out', 'dqkv'] : ['out', 'dq', 'dk', 'dv'];
      names.forEach((what, i) => assertClose(got[i]!, ref[i]!, 2e-5, `${c.name}: ${what}`, 0.05));
    },
  })),
  { name: 'attention: causal equals the same explicit mask; a row with every key hidden is NaN', run: async () => {
    const q = rand([3, 23, 7], 1), k = rand([3, 23, 7], 2), v = rand([3, 23, 6], 3);
    const a = await F.scaledDotProductAttention(q, k, v, { isCausal: true }).data();
    const b = await F.scaledDotProductAttention(q, k, v, { attnMask: causalMask(23, 23).logicalNot() }).data();
    assertClose(a, b, 1e-6, 'causal vs explicit mask');
    const out = Array.from(await F.scaledDotProductAttention(rand([4, 3], 4), rand([5, 3], 5), rand([5, 2], 6), { attnMask: boolMask(4, 5, 7, 2) }).data());
    assert.ok(out.slice(4, 6).every(Number.isNaN), `masked row: ${out.slice(4, 6)}`);
    assert.ok(out.slice(0, 4).concat(out.slice(6)).every(Number.isFinite), 'other rows');
  } },
];

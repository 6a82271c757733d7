// The gradients of fused attention (attention.ts), flash-style: probabilities are recomputed from
// the saved row logsumexp, tile by tile, and no [L, S] matrix is stored. Three passes, no atomics
// (each thread owns the gradient rows it writes, so results are the same every run):
//  1. D[i] = Σ_e gout[i, e]·out[i, e], one thread per query row, into a scratch [B1·H, L, 2] beside
//     each row's lse (one binding for both keeps pass 3 within WebGPU's guaranteed 8 storage buffers);
//  2. gq: a thread per query row, key tiles (k and v) staged in workgroup memory;
//  3. gk, gv: a thread per key row, query tiles (q, gout, lse, D) staged in workgroup memory.
// With p = exp(s - lse) and ds = p·(gout·v - D)·scale: gq_i = Σ_j ds·k_j, gk_j = Σ_i ds·q_i,
// gv_j = Σ_i p·gout_i. As in the cpu kernel, a row whose keys are all hidden (lse NaN) spreads NaN.

import type { Backend, TensorInfo } from '../backend.js';
import type { AttentionParams } from '../registry.js';
import { grid1d, type WebGPUBackend } from './backend.js';
import { ATTENTION_PRELUDE, BR, META, attentionMeta, forHeadSlices, tileRows } from './attention.js';
import { bufferOf } from './rows.js';

/**
 * The storage bindings of one pass, in order, then the uniform block: WebGPU's automatic layout
 * keeps only the bindings a shader uses, so each pass declares exactly its own.
 */
function bindings(list: readonly (readonly [name: string, access: 'read' | 'read_write'])[]): string {
  const decl = list.map(([name, access], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<f32>;`).join('\n');
  return `${decl}\n${ATTENTION_PRELUDE(list.length)}`;
}
const R = 'read', W = 'read_write';

/** WGSL: the probability of key j for query i given score parts; 0 for a hidden key, NaN for a dead row. */
const PROB = (mask: boolean) => `fn prob(dot: f32, i: u32, j: u32, mrow: u32, lse: f32) -> f32 {
  if (isNan(lse)) { return lse; }
  if (M(4u) != 0u && j > i) { return 0.0; }
  var s = dot * MF(5u);
  ${mask ? `let mv = MASK[mrow + j * M(${META.mask + 4}u)];
  if (isNegInf(mv)) { return 0.0; }
  s += mv;` : ''}
  return exp(s - lse);
}
`;

// Pass 1: LD[r] = (lse, D) with D the rowwise gout·out.
const deltaWgsl = `${bindings([['OUT', R], ['GOUT', R], ['LSE', R], ['LD', W]])}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let L = M(0u); let H = M(2u);
  let r = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (r >= M(6u) * L) { return; } // M(6): the number of heads, for this pass
  let bh = r / L; let i = r % L;
  let b1 = bh / H; let h = bh % H;
  let gi = rowAt(${META.gout}u, b1, h, i); let oi = rowAt(${META.out}u, b1, h, i);
  var d = 0.0;
  for (var e = 0u; e < M(3u); e++) { d += GOUT[gi + e * M(${META.gout + 4}u)] * OUT[oi + e * M(${META.out + 4}u)]; }
  LD[2u * r] = LSE[M(7u) + r];
  LD[2u * r + 1u] = d;
}
`;

// Pass 2: gq (G1). Key tiles of BC rows: k [BC][E] and v [BC][Ev].
const gradQWgsl = (E: number, Ev: number, BC: number, mask: boolean) => `${bindings([['Q', R], ['K', R], ['V', R], ['GOUT', R], ['LD', R],
  ['G1', W], ...(mask ? [['MASK', R] as const] : [])])}${PROB(mask)}
var<workgroup> Ks: array<f32, ${BC * E}>;
var<workgroup> Vs: array<f32, ${BC * Ev}>;
@compute @workgroup_size(${BR})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = M(0u); let S = M(1u); let H = M(2u); let scale = MF(5u);
  let bh = wid.y + M(6u);
  let b1 = bh / H; let h = bh % H;
  let i = wid.x * ${BR}u + lid;
  let valid = i < L;
  let ic = min(i, L - 1u);
  var qr: array<f32, ${E}>;
  var gr: array<f32, ${Ev}>;
  var dq: array<f32, ${E}>;
  let qi = rowAt(${META.q}u, b1, h, ic); let gi = rowAt(${META.gout}u, b1, h, ic);
  for (var e = 0u; e < ${E}u; e++) { qr[e] = Q[qi + e * M(${META.q + 4}u)]; }
  for (var e = 0u; e < ${Ev}u; e++) { gr[e] = GOUT[gi + e * M(${META.gout + 4}u)]; }
  let lse = LD[2u * (bh * L + ic)];
  let dI = LD[2u * (bh * L + ic) + 1u];
  let mrow = ${mask ? `rowAt(${META.mask}u, b1, h, ic)` : '0u'};
  var kEnd = S;
  if (M(4u) != 0u) { kEnd = min(S, (wid.x + 1u) * ${BR}u); }
  for (var j0 = 0u; j0 < kEnd; j0 += ${BC}u) {
    for (var t = lid; t < ${BC * E}u; t += ${BR}u) {
      let j = j0 + t / ${E}u;
      var x = 0.0;
      if (j < S) { x = K[rowAt(${META.k}u, b1, h, j) + (t % ${E}u) * M(${META.k + 4}u)]; }
      Ks[t] = x;
    }
    for (var t = lid; t < ${BC * Ev}u; t += ${BR}u) {
      let j = j0 + t / ${Ev}u;
      var x = 0.0;
      if (j < S) { x = V[rowAt(${META.v}u, b1, h, j) + (t % ${Ev}u) * M(${META.v + 4}u)]; }
      Vs[t] = x;
    }
    workgroupBarrier();
    if (valid) {
      for (var jj = 0u; jj < ${BC}u; jj++) {
        let j = j0 + jj;
        if (j >= S) { break; }
        var dot = 0.0;
        for (var e = 0u; e < ${E}u; e++) { dot += qr[e] * Ks[jj * ${E}u + e]; }
        let p = prob(dot, i, j, mrow, lse);
        if (p == 0.0) { continue; }
        var dp = 0.0;
        for (var e = 0u; e < ${Ev}u; e++) { dp += gr[e] * Vs[jj * ${Ev}u + e]; }
        let ds = p * (dp - dI) * scale;
        for (var e = 0u; e < ${E}u; e++) { dq[e] += ds * Ks[jj * ${E}u + e]; }
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  let o = rowAt(${META.gq}u, b1, h, i);
  for (var e = 0u; e < ${E}u; e++) { G1[o + e * M(${META.gq + 4}u)] = dq[e]; }
}
`;

// Pass 3: gk (G1) and gv (G2). Query tiles of BC rows: q [BC][E], gout [BC][Ev], lse, D.
const gradKVWgsl = (E: number, Ev: number, BC: number, mask: boolean) => `${bindings([['Q', R], ['K', R], ['V', R], ['GOUT', R], ['LD', R],
  ['G1', W], ['G2', W], ...(mask ? [['MASK', R] as const] : [])])}${PROB(mask)}
var<workgroup> Qs: array<f32, ${BC * E}>;
var<workgroup> Gs: array<f32, ${BC * Ev}>;
var<workgroup> Ls: array<f32, ${BC}>;
var<workgroup> Ds: array<f32, ${BC}>;
@compute @workgroup_size(${BR})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = M(0u); let S = M(1u); let H = M(2u); let scale = MF(5u);
  let bh = wid.y + M(6u);
  let b1 = bh / H; let h = bh % H;
  let j = wid.x * ${BR}u + lid;
  let valid = j < S;
  let jc = min(j, S - 1u);
  var kr: array<f32, ${E}>;
  var vr: array<f32, ${Ev}>;
  var dk: array<f32, ${E}>;
  var dv: array<f32, ${Ev}>;
  let ki = rowAt(${META.k}u, b1, h, jc); let vi = rowAt(${META.v}u, b1, h, jc);
  for (var e = 0u; e < ${E}u; e++) { kr[e] = K[ki + e * M(${META.k + 4}u)]; }
  for (var e = 0u; e < ${Ev}u; e++) { vr[e] = V[vi + e * M(${META.v + 4}u)]; }
  // Causal: no query before this workgroup's first key sees any of its keys.
  var i0 = 0u;
  if (M(4u) != 0u) { i0 = wid.x * ${BR}u; }
  for (var t0 = i0; t0 < L; t0 += ${BC}u) {
    for (var t = lid; t < ${BC * E}u; t += ${BR}u) {
      let i = t0 + t / ${E}u;
      var x = 0.0;
      if (i < L) { x = Q[rowAt(${META.q}u, b1, h, i) + (t % ${E}u) * M(${META.q + 4}u)]; }
      Qs[t] = x;
    }
    for (var t = lid; t < ${BC * Ev}u; t += ${BR}u) {
      let i = t0 + t / ${Ev}u;
      var x = 0.0;
      if (i < L) { x = GOUT[rowAt(${META.gout}u, b1, h, i) + (t % ${Ev}u) * M(${META.gout + 4}u)]; }
      Gs[t] = x;
    }
    for (var t = lid; t < ${BC}u; t += ${BR}u) {
      let i = t0 + t;
      if (i < L) { Ls[t] = LD[2u * (bh * L + i)]; Ds[t] = LD[2u * (bh * L + i) + 1u]; }
    }
    workgroupBarrier();
    if (valid) {
      for (var ii = 0u; ii < ${BC}u; ii++) {
        let i = t0 + ii;
        if (i >= L) { break; }
        var dot = 0.0;
        for (var e = 0u; e < ${E}u; e++) { dot += kr[e] * Qs[ii * ${E}u + e]; }
        let p = prob(dot, i, j, ${mask ? `rowAt(${META.mask}u, b1, h, i)` : '0u'}, Ls[ii]);
        if (p == 0.0) { continue; }
        var dp = 0.0;
        for (var e = 0u; e < ${Ev}u; e++) {
          let g = Gs[ii * ${Ev}u + e];
          dp += g * vr[e];
          dv[e] += p * g;
        }
        let ds = p * (dp - Ds[ii]) * scale;
        for (var e = 0u; e < ${E}u; e++) { dk[e] += ds * Qs[ii * ${E}u + e]; }
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  let ko = rowAt(${META.gk}u, b1, h, j); let vo = rowAt(${META.gv}u, b1, h, j);
  for (var e = 0u; e < ${E}u; e++) { G1[ko + e * M(${META.gk + 4}u)] = dk[e]; }
  for (var e = 0u; e < ${Ev}u; e++) { G2[vo + e * M(${META.gv + 4}u)] = dv[e]; }
}
`;

export function attentionBackward(b: Backend, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
                                  out: TensorInfo, lse: TensorInfo, gout: TensorInfo, gq: TensorInfo, gk: TensorInfo, gv: TensorInfo): void {
  const gb = b as WebGPUBackend;
  const [B1, H, L, E] = q.shape as [number, number, number, number];
  const S = k.shape[2]!, Ev = v.shape[3]!, BH = B1 * H;
  if (BH === 0) return;
  const BC = tileRows(E + Ev + 2, 'attentionBackward');
  const delta = gb.alloc('float32', 2 * BH * L);
  const meta = attentionMeta({ q, k, v, mask, out, gout, gq, gk, gv }, p, lse);
  const [Q, K, V, OUT, GOUT, LSE, LD] = [...[q, k, v, out, gout, lse].map(bufferOf), delta.buffer];
  const MASK = mask ? [bufferOf(mask)] : [];
  const m = !!mask;
  meta[META.bh0] = BH; // pass 1 reads the head count there
  gb.dispatch('attentionBackward.delta', () => deltaWgsl, [OUT!, GOUT!, LSE!, LD!], meta, grid1d(Math.ceil((BH * L) / 64)));
  forHeadSlices(gb, meta, BH, (heads) => {
    gb.dispatch(`attentionBackward.q:${E}:${Ev}:${BC}:${m}`, () => gradQWgsl(E, Ev, BC, m),
      [Q!, K!, V!, GOUT!, LD!, bufferOf(gq), ...MASK], meta, [Math.ceil(L / BR), heads, 1]);
    gb.dispatch(`attentionBackward.kv:${E}:${Ev}:${BC}:${m}`, () => gradKVWgsl(E, Ev, BC, m),
      [Q!, K!, V!, GOUT!, LD!, bufferOf(gk), bufferOf(gv), ...MASK], meta, [Math.ceil(S / BR), heads, 1]);
  });
  gb.release(delta); // the queue runs the passes above before any later use of the buffer (backend.ts)
}

// Fused attention, flash-style: softmax(q·kᵀ·scale + mask)·v without the [L, S] score matrix in
// memory. The semantics are the cpu kernel's (cpu/ts/attention.ts): q, k, v, mask and out are
// [B1, H, rows, cols] views read through their strides; causal means key j ≤ query i; a key hidden
// (causal, or a -inf mask) adds nothing; a row with every key hidden gives NaN; lse [B1·H, L] gets
// each row's logsumexp, which the backward (attention_backward.ts) recomputes probabilities from.
//
// Forward: a workgroup of BR threads takes BR query rows of one head; each thread holds its q row
// and an output accumulator in registers. Keys come in tiles of BC rows, staged in workgroup memory
// with their values; per tile a thread scores the BC keys, rescales its accumulator to the new
// running max (online softmax) and adds the tile's weighted values. Wide value rows are split into
// chunks of EVC columns over grid z (each chunk rescoring the keys), which bounds the registers.
//
// Hidden keys are tracked with flags, never by comparing to -inf: WGSL lets a compiler assume that
// no value is infinite, so -inf is recognized by its bits.

import type { Backend, TensorInfo } from '../backend.js';
import type { AttentionParams } from '../registry.js';
import { bitsOf, metaWgsl, type WebGPUBackend } from './backend.js';
import { bufferOf } from './rows.js';

/** Threads per workgroup: query rows (forward, dq) or key rows (dk, dv). */
export const BR = 64;
/** Floats of workgroup memory a kernel may stage (16 KiB, WebGPU's guaranteed minimum). */
export const SHARED_FLOATS = 4096;
const EVC = 64;

/** Keys (or queries) per staged tile when each row takes `floatsPerRow` floats of workgroup memory. */
export function tileRows(floatsPerRow: number, what: string): number {
  const rows = Math.min(32, Math.floor(SHARED_FLOATS / floatsPerRow));
  if (rows < 1) throw new Error(`webgpu ${what}: head dims this large (${floatsPerRow} floats per staged row) do not fit workgroup memory`);
  return rows;
}

// Uniform words: sizes and flags (word 8 unused), then offset + 4 strides of each operand ([B1, H, rows, cols]).
export const META = { L: 0, S: 1, H: 2, Ev: 3, causal: 4, scale: 5, bh0: 6, lse: 7, q: 9, k: 14, v: 19, mask: 24, out: 29, gout: 34, gq: 39, gk: 44, gv: 49 };
const META_WORDS = 54;
export type Operand = 'q' | 'k' | 'v' | 'mask' | 'out' | 'gout' | 'gq' | 'gk' | 'gv';

/** The uniform words of one dispatch (bh0: the first head of this dispatch). */
export function attentionMeta(ops: Partial<Record<Operand, TensorInfo | null>>, p: AttentionParams, lse: TensorInfo): Uint32Array {
  const q = ops.q!, k = ops.k!, v = ops.v!;
  const meta = new Uint32Array(META_WORDS);
  meta.set([q.shape[2]!, k.shape[2]!, q.shape[1]!, v.shape[3]!, p.causal ? 1 : 0, bitsOf(p.scale, 'float32'), 0, lse.offset]);
  for (const [name, t] of Object.entries(ops) as [Operand, TensorInfo | null][]) {
    if (t) meta.set([t.offset, ...t.strides], META[name]);
  }
  return meta;
}

/** WGSL shared by the attention kernels: the uniform block, row addressing, -inf and NaN by bits. */
export const ATTENTION_PRELUDE = (binding: number) => `${metaWgsl(binding, META_WORDS)}
/** Offset of row r of head (b1, h) in the operand whose words start at w; column stride: M(w + 4). */
fn rowAt(w: u32, b1: u32, h: u32, r: u32) -> u32 { return M(w) + b1 * M(w + 1u) + h * M(w + 2u) + r * M(w + 3u); }
fn isNegInf(x: f32) -> bool { return bitcast<u32>(x) == 0xff800000u; }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn nanF32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
`;

/** Runs dispatch(bh0, heads) over the B1·H heads in slices that fit grid y. */
export function forHeadSlices(gb: WebGPUBackend, meta: Uint32Array, BH: number, dispatch: (heads: number) => void): void {
  const max = gb.limits.maxComputeWorkgroupsPerDimension;
  for (let bh0 = 0; bh0 < BH; bh0 += max) {
    meta[META.bh0] = bh0;
    dispatch(Math.min(max, BH - bh0));
  }
}

const forwardWgsl = (E: number, BC: number, mask: boolean) => `@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read_write> LSE: array<f32>;
${mask ? '@group(0) @binding(5) var<storage, read> MASK: array<f32>;\n' : ''}${ATTENTION_PRELUDE(mask ? 6 : 5)}
var<workgroup> Ks: array<f32, ${BC * E}>;
var<workgroup> Vs: array<f32, ${BC * EVC}>;

@compute @workgroup_size(${BR})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = M(0u); let S = M(1u); let H = M(2u); let Ev = M(3u); let causal = M(4u) != 0u; let scale = MF(5u);
  let bh = wid.y + M(6u);
  let b1 = bh / H; let h = bh % H;
  let i = wid.x * ${BR}u + lid;
  let valid = i < L;
  let e0 = wid.z * ${EVC}u;
  let evc = min(${EVC}u, Ev - e0);
  var qr: array<f32, ${E}>;
  if (valid) {
    let qi = rowAt(${META.q}u, b1, h, i);
    for (var e = 0u; e < ${E}u; e++) { qr[e] = Q[qi + e * M(${META.q + 4}u)]; }
  }
  ${mask ? `let mi = rowAt(${META.mask}u, b1, h, min(i, L - 1u));` : ''}
  var acc: array<f32, ${EVC}>;
  var mx = 0.0;   // running max of the scores seen (valid once seen)
  var l = 0.0;    // running sum of exp(score - mx)
  var seen = false;
  // Causal: no query of this workgroup sees past its last row.
  var kEnd = S;
  if (causal) { kEnd = min(S, (wid.x + 1u) * ${BR}u); }
  for (var j0 = 0u; j0 < kEnd; j0 += ${BC}u) {
    for (var t = lid; t < ${BC * E}u; t += ${BR}u) {
      let j = j0 + t / ${E}u;
      var x = 0.0;
      if (j < S) { x = K[rowAt(${META.k}u, b1, h, j) + (t % ${E}u) * M(${META.k + 4}u)]; }
      Ks[t] = x;
    }
    for (var t = lid; t < ${BC * EVC}u; t += ${BR}u) {
      let j = j0 + t / ${EVC}u; let c = t % ${EVC}u;
      var x = 0.0;
      if (j < S && c < evc) { x = V[rowAt(${META.v}u, b1, h, j) + (e0 + c) * M(${META.v + 4}u)]; }
      Vs[t] = x;
    }
    workgroupBarrier();
    if (valid) {
      var sc: array<f32, ${BC}>;
      var live = 0u; // bit jj: key j0 + jj is visible
      var bmax = 0.0;
      for (var jj = 0u; jj < ${BC}u; jj++) {
        let j = j0 + jj;
        if (j >= S || (causal && j > i)) { continue; }
        var dot = 0.0;
        for (var e = 0u; e < ${E}u; e++) { dot += qr[e] * Ks[jj * ${E}u + e]; }
        var s = dot * scale;
        ${mask ? `let mv = MASK[mi + j * M(${META.mask + 4}u)];
        if (isNegInf(mv)) { continue; }
        s += mv;` : ''}
        if (live == 0u || s > bmax) { bmax = s; }
        live |= 1u << jj;
        sc[jj] = s;
      }
      if (live != 0u) {
        var mnew = bmax;
        var corr = 0.0;
        if (seen) { mnew = max(mx, bmax); corr = exp(mx - mnew); }
        l *= corr;
        for (var c = 0u; c < ${EVC}u; c++) { acc[c] *= corr; }
        for (var jj = 0u; jj < ${BC}u; jj++) {
          if ((live & (1u << jj)) == 0u) { continue; }
          let p = exp(sc[jj] - mnew);
          l += p;
          for (var c = 0u; c < ${EVC}u; c++) { acc[c] += p * Vs[jj * ${EVC}u + c]; }
        }
        mx = mnew;
        seen = true;
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  let oi = rowAt(${META.out}u, b1, h, i);
  for (var c = 0u; c < evc; c++) {
    var o = nanF32();
    if (seen) { o = acc[c] / l; }
    O[oi + (e0 + c) * M(${META.out + 4}u)] = o;
  }
  if (wid.z == 0u) {
    var lse = nanF32();
    if (seen) { lse = mx + log(l); }
    LSE[M(7u) + bh * L + i] = lse;
  }
}
`;

export function attention(b: Backend, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
                          out: TensorInfo, lse: TensorInfo): void {
  const gb = b as WebGPUBackend;
  const [B1, H, L, E] = q.shape as [number, number, number, number];
  const Ev = v.shape[3]!, BH = B1 * H;
  if (BH === 0 || L === 0) return;
  const BC = tileRows(E + EVC, 'attention');
  const meta = attentionMeta({ q, k, v, mask, out }, p, lse);
  const buffers = [q, k, v, out, lse, ...(mask ? [mask] : [])].map(bufferOf);
  forHeadSlices(gb, meta, BH, (heads) => gb.dispatch(`attention:${E}:${BC}:${!!mask}`, () => forwardWgsl(E, BC, !!mask), buffers,
    meta, [Math.ceil(L / BR), heads, Math.ceil(Ev / EVC)]));
}

// Fused attention in plain TypeScript: the reference for the WASM kernel and the fallback. One row
// of scores at a time, in float64. Hidden keys (causal or a -inf mask) enter every sum as exact
// zeros rather than being skipped, so a causal call and the same call with an explicit mask agree
// to the bit.

import type { Backend, TensorInfo } from '../../backend.js';
import type { AttentionParams } from '../../registry.js';
import { arr } from './elementwise.js';

// Every operand but lse is a 4-D [B1, heads, rows, cols] view; head bh is (bh / heads, bh % heads).

/** Element offset of row i of head bh of t. */
function rowAt(t: TensorInfo, bh: number, i: number): number {
  const H = t.shape[1]!;
  return t.offset + Math.floor(bh / H) * t.strides[0]! + (bh % H) * t.strides[1]! + i * t.strides[2]!;
}

/** Scores of row i of head bh (scaled, masked; -inf where hidden) into s. */
function rowScores(q: TensorInfo, k: TensorInfo, mask: TensorInfo | null, p: AttentionParams, bh: number, i: number, s: Float64Array): number {
  const Q = arr(q), K = arr(k);
  const E = q.shape[3]!, S = k.shape[2]!;
  const qi = rowAt(q, bh, i), qs = q.strides[3]!, ks = k.strides[3]!;
  const M = mask ? arr(mask) : null;
  const mrow = mask ? rowAt(mask, bh, i) : 0;
  let max = -Infinity;
  for (let j = 0; j < S; j++) {
    let v = -Infinity;
    if (!p.causal || j <= i) {
      const kj = rowAt(k, bh, j);
      let dot = 0;
      for (let e = 0; e < E; e++) dot += Q[qi + e * qs]! * K[kj + e * ks]!;
      v = dot * p.scale;
      if (M) v += M[mrow + j * mask!.strides[3]!]!;
    }
    s[j] = v;
    if (v > max) max = v;
  }
  return max;
}

export function attention(_b: Backend, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
                          out: TensorInfo, lse: TensorInfo): void {
  const [B1, H, L] = q.shape as [number, number, number, number];
  const BH = B1 * H, S = k.shape[2]!, Ev = v.shape[3]!;
  const V = arr(v), O = arr(out), LS = arr(lse), vs = v.strides[3]!, os = out.strides[3]!;
  const s = new Float64Array(S), acc = new Float64Array(Ev);
  for (let bh = 0; bh < BH; bh++) {
    for (let i = 0; i < L; i++) {
      const max = rowScores(q, k, mask, p, bh, i, s);
      const oi = rowAt(out, bh, i);
      if (max === -Infinity) { // every key hidden: NaN, as torch's softmax of all -inf
        for (let e = 0; e < Ev; e++) O[oi + e * os] = NaN;
        LS[lse.offset + bh * L + i] = NaN;
        continue;
      }
      acc.fill(0);
      let sum = 0;
      for (let j = 0; j < S; j++) {
        const w = Math.exp(s[j]! - max);
        sum += w;
        if (w === 0) continue;
        const vj = rowAt(v, bh, j);
        for (let e = 0; e < Ev; e++) acc[e]! += w * V[vj + e * vs]!;
      }
      for (let e = 0; e < Ev; e++) O[oi + e * os] = acc[e]! / sum;
      LS[lse.offset + bh * L + i] = max + Math.log(sum);
    }
  }
}

export function attentionBackward(_b: Backend, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
                                  out: TensorInfo, lse: TensorInfo, gout: TensorInfo, gq: TensorInfo, gk: TensorInfo, gv: TensorInfo): void {
  const [B1, H, L, E] = q.shape as [number, number, number, number];
  const BH = B1 * H, S = k.shape[2]!, Ev = v.shape[3]!;
  const Q = arr(q), K = arr(k), V = arr(v), O = arr(out), LS = arr(lse), G = arr(gout);
  const [qs, ks, vs, os, gs] = [q, k, v, out, gout].map((t) => t.strides[3]!) as [number, number, number, number, number];
  const GQ = arr(gq), GK = arr(gk), GV = arr(gv);
  const s = new Float64Array(S), dq = new Float64Array(E);
  const dk = new Float64Array(S * E), dv = new Float64Array(S * Ev);
  for (let bh = 0; bh < BH; bh++) {
    dk.fill(0); dv.fill(0);
    for (let i = 0; i < L; i++) {
      rowScores(q, k, mask, p, bh, i, s);
      const l = LS[lse.offset + bh * L + i]!;
      const gi = rowAt(gout, bh, i), oi = rowAt(out, bh, i), qi = rowAt(q, bh, i);
      let D = 0;
      for (let e = 0; e < Ev; e++) D += G[gi + e * gs]! * O[oi + e * os]!;
      dq.fill(0);
      for (let j = 0; j < S; j++) {
        const pj = Math.exp(s[j]! - l);
        if (pj === 0) continue;
        const vj = rowAt(v, bh, j), kj = rowAt(k, bh, j);
        let dp = 0;
        for (let e = 0; e < Ev; e++) { dp += G[gi + e * gs]! * V[vj + e * vs]!; dv[j * Ev + e]! += pj * G[gi + e * gs]!; }
        const ds = pj * (dp - D) * p.scale;
        for (let e = 0; e < E; e++) { dq[e]! += ds * K[kj + e * ks]!; dk[j * E + e]! += ds * Q[qi + e * qs]!; }
      }
      const gqi = rowAt(gq, bh, i);
      for (let e = 0; e < E; e++) GQ[gqi + e * gq.strides[3]!] = dq[e]!;
    }
    for (let j = 0; j < S; j++) {
      const gkj = rowAt(gk, bh, j), gvj = rowAt(gv, bh, j);
      for (let e = 0; e < E; e++) GK[gkj + e * gk.strides[3]!] = dk[j * E + e]!;
      for (let e = 0; e < Ev; e++) GV[gvj + e * gv.strides[3]!] = dv[j * Ev + e]!;
    }
  }
}

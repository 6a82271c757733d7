// Fused attention in plain TypeScript: the reference for the WASM kernel and the fallback. One row
// of scores at a time, in float64. Hidden keys (causal or a -inf mask) enter every sum as exact
// zeros rather than being skipped, so a causal call and the same call with an explicit mask agree
// to the bit.

import type { Backend, TensorInfo } from '../../backend.js';
import type { AttentionParams } from '../../registry.js';
import { arr } from './elementwise.js';

/** Scores of row i of head bh (scaled, masked; -inf where hidden) into s. */
function rowScores(q: TensorInfo, k: TensorInfo, mask: TensorInfo | null, p: AttentionParams, bh: number, i: number, s: Float64Array): number {
  const Q = arr(q), K = arr(k);
  const [, L, E] = q.shape as [number, number, number];
  const S = k.shape[1]!;
  const qi = q.offset + (bh * L + i) * E;
  const M = mask ? arr(mask) : null;
  const mrow = mask ? mask.offset + Math.floor(bh / p.heads) * mask.strides[0]! + (bh % p.heads) * mask.strides[1]! + i * mask.strides[2]! : 0;
  let max = -Infinity;
  for (let j = 0; j < S; j++) {
    let v = -Infinity;
    if (!p.causal || j <= i) {
      const kj = k.offset + (bh * S + j) * E;
      let dot = 0;
      for (let e = 0; e < E; e++) dot += Q[qi + e]! * K[kj + e]!;
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
  const [BH, L] = q.shape as [number, number, number];
  const S = k.shape[1]!, Ev = v.shape[2]!;
  const V = arr(v), O = arr(out), LS = arr(lse);
  const s = new Float64Array(S), acc = new Float64Array(Ev);
  for (let bh = 0; bh < BH; bh++) {
    for (let i = 0; i < L; i++) {
      const max = rowScores(q, k, mask, p, bh, i, s);
      const oi = out.offset + (bh * L + i) * Ev;
      if (max === -Infinity) { // every key hidden: NaN, as torch's softmax of all -inf
        O.fill(NaN, oi, oi + Ev);
        LS[lse.offset + bh * L + i] = NaN;
        continue;
      }
      acc.fill(0);
      let sum = 0;
      for (let j = 0; j < S; j++) {
        const w = Math.exp(s[j]! - max);
        sum += w;
        if (w === 0) continue;
        const vj = v.offset + (bh * S + j) * Ev;
        for (let e = 0; e < Ev; e++) acc[e]! += w * V[vj + e]!;
      }
      for (let e = 0; e < Ev; e++) O[oi + e] = acc[e]! / sum;
      LS[lse.offset + bh * L + i] = max + Math.log(sum);
    }
  }
}

export function attentionBackward(_b: Backend, q: TensorInfo, k: TensorInfo, v: TensorInfo, mask: TensorInfo | null, p: AttentionParams,
                                  out: TensorInfo, lse: TensorInfo, gout: TensorInfo, gq: TensorInfo, gk: TensorInfo, gv: TensorInfo): void {
  const [BH, L, E] = q.shape as [number, number, number];
  const S = k.shape[1]!, Ev = v.shape[2]!;
  const Q = arr(q), K = arr(k), V = arr(v), O = arr(out), LS = arr(lse), G = arr(gout);
  const GQ = arr(gq), GK = arr(gk), GV = arr(gv);
  const s = new Float64Array(S), dq = new Float64Array(E);
  const dk = new Float64Array(S * E), dv = new Float64Array(S * Ev);
  for (let bh = 0; bh < BH; bh++) {
    dk.fill(0); dv.fill(0);
    for (let i = 0; i < L; i++) {
      rowScores(q, k, mask, p, bh, i, s);
      const l = LS[lse.offset + bh * L + i]!;
      const gi = gout.offset + (bh * L + i) * Ev, oi = out.offset + (bh * L + i) * Ev, qi = q.offset + (bh * L + i) * E;
      let D = 0;
      for (let e = 0; e < Ev; e++) D += G[gi + e]! * O[oi + e]!;
      dq.fill(0);
      for (let j = 0; j < S; j++) {
        const pj = Math.exp(s[j]! - l);
        if (pj === 0) continue;
        const vj = v.offset + (bh * S + j) * Ev, kj = k.offset + (bh * S + j) * E;
        let dp = 0;
        for (let e = 0; e < Ev; e++) { dp += G[gi + e]! * V[vj + e]!; dv[j * Ev + e]! += pj * G[gi + e]!; }
        const ds = pj * (dp - D) * p.scale;
        for (let e = 0; e < E; e++) { dq[e]! += ds * K[kj + e]!; dk[j * E + e]! += ds * Q[qi + e]!; }
      }
      const gqi = gq.offset + (bh * L + i) * E;
      for (let e = 0; e < E; e++) GQ[gqi + e] = dq[e]!;
    }
    GK.set(dk, gk.offset + bh * S * E);
    GV.set(dv, gv.offset + bh * S * Ev);
  }
}

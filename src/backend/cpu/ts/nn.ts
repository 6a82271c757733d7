// Fused row kernels (softmax, layerNorm), index kernels and the AdamW update, in plain TypeScript.

import type { Backend, TensorInfo } from '../../backend.js';
import type { AdamWParams } from '../../registry.js';
import { arr } from './elementwise.js';

export function softmax(_b: Backend, x: TensorInfo, rows: number, n: number, log: boolean, out: TensorInfo): void {
  const X = arr(x), O = arr(out);
  for (let r = 0; r < rows; r++) {
    const xi = x.offset + r * n, oi = out.offset + r * n;
    let max = -Infinity;
    for (let k = 0; k < n; k++) { const v = X[xi + k]!; if (v > max) max = v; }
    if (max === -Infinity) max = 0; // a fully masked row: exp(-inf - 0) = 0, then 0/0 = NaN as in torch
    let sum = 0;
    if (log) {
      for (let k = 0; k < n; k++) sum += Math.exp(X[xi + k]! - max);
      const lse = max + Math.log(sum);
      for (let k = 0; k < n; k++) O[oi + k] = X[xi + k]! - lse;
    } else {
      for (let k = 0; k < n; k++) { const e = Math.exp(X[xi + k]! - max); O[oi + k] = e; sum += e; }
      const inv = 1 / sum;
      for (let k = 0; k < n; k++) O[oi + k]! *= inv;
    }
  }
}

export function softmaxBackward(_b: Backend, y: TensorInfo, gy: TensorInfo, rows: number, n: number, log: boolean, gx: TensorInfo): void {
  const Y = arr(y), G = arr(gy), O = arr(gx);
  for (let r = 0; r < rows; r++) {
    const yi = y.offset + r * n, gi = gy.offset + r * n, oi = gx.offset + r * n;
    let dot = 0;
    if (log) {
      for (let k = 0; k < n; k++) dot += G[gi + k]!;
      for (let k = 0; k < n; k++) O[oi + k] = G[gi + k]! - Math.exp(Y[yi + k]!) * dot;
    } else {
      for (let k = 0; k < n; k++) dot += G[gi + k]! * Y[yi + k]!;
      for (let k = 0; k < n; k++) O[oi + k] = Y[yi + k]! * (G[gi + k]! - dot);
    }
  }
}

export function layerNorm(_b: Backend, x: TensorInfo, weight: TensorInfo | null, bias: TensorInfo | null, rows: number, n: number,
                          eps: number, out: TensorInfo, mean: TensorInfo, rstd: TensorInfo): void {
  const X = arr(x), O = arr(out), Mn = arr(mean), Rs = arr(rstd);
  const W = weight ? arr(weight) : null, B = bias ? arr(bias) : null;
  const wo = weight?.offset ?? 0, bo = bias?.offset ?? 0;
  for (let r = 0; r < rows; r++) {
    const xi = x.offset + r * n, oi = out.offset + r * n;
    let s = 0;
    for (let k = 0; k < n; k++) s += X[xi + k]!;
    const mu = s / n;
    let ss = 0;
    for (let k = 0; k < n; k++) { const d = X[xi + k]! - mu; ss += d * d; }
    const rs = 1 / Math.sqrt(ss / n + eps);
    Mn[mean.offset + r] = mu;
    Rs[rstd.offset + r] = rs;
    for (let k = 0; k < n; k++) {
      let v = (X[xi + k]! - mu) * rs;
      if (W) v *= W[wo + k]!;
      if (B) v += B[bo + k]!;
      O[oi + k] = v;
    }
  }
}

export function layerNormBackward(_b: Backend, x: TensorInfo, weight: TensorInfo | null, mean: TensorInfo, rstd: TensorInfo, gy: TensorInfo,
                                  rows: number, n: number, gx: TensorInfo, gw: TensorInfo | null, gb: TensorInfo | null): void {
  const X = arr(x), G = arr(gy), O = arr(gx), Mn = arr(mean), Rs = arr(rstd);
  const W = weight ? arr(weight) : null;
  const wo = weight?.offset ?? 0;
  const accW = gw ? new Float64Array(n) : null, accB = gb ? new Float64Array(n) : null;
  for (let r = 0; r < rows; r++) {
    const xi = x.offset + r * n, gi = gy.offset + r * n, oi = gx.offset + r * n;
    const mu = Mn[mean.offset + r]!, rs = Rs[rstd.offset + r]!;
    let sumG = 0, sumGX = 0;
    for (let k = 0; k < n; k++) {
      const xhat = (X[xi + k]! - mu) * rs;
      const g = G[gi + k]!;
      const gh = W ? g * W[wo + k]! : g;
      sumG += gh; sumGX += gh * xhat;
      if (accW) accW[k]! += g * xhat;
      if (accB) accB[k]! += g;
    }
    const mG = sumG / n, mGX = sumGX / n;
    for (let k = 0; k < n; k++) {
      const xhat = (X[xi + k]! - mu) * rs;
      const gh = W ? G[gi + k]! * W[wo + k]! : G[gi + k]!;
      O[oi + k] = rs * (gh - mG - xhat * mGX);
    }
  }
  if (gw && accW) { const A = arr(gw); for (let k = 0; k < n; k++) A[gw.offset + k] = accW[k]!; }
  if (gb && accB) { const A = arr(gb); for (let k = 0; k < n; k++) A[gb.offset + k] = accB[k]!; }
}

const shp = (t: TensorInfo): string => `[${t.shape.join(',')}]`;

/** `where` names the shapes involved, e.g. "input [3,2], index [2]". */
function badIndex(op: string, v: number, n: number, where: string): never {
  throw new Error(`${op}: index ${v} is out of range for a dimension of size ${n} (${where})`);
}

export function indexSelect(_b: Backend, src: TensorInfo, outer: number, n: number, inner: number, idx: TensorInfo, out: TensorInfo): void {
  const S = arr(src), I = arr(idx), O = arr(out);
  const m = idx.shape.reduce((a, b) => a * b, 1);
  for (let j = 0; j < m; j++) {
    const v = I[idx.offset + j]!;
    if (!(v >= 0 && v < n)) badIndex('indexSelect', v, n, `input ${shp(src)}, index ${shp(idx)}`);
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const from = src.offset + (o * n + I[idx.offset + j]!) * inner;
      O.set(S.subarray(from, from + inner), out.offset + (o * m + j) * inner);
    }
  }
}

export function indexAdd(_b: Backend, dst: TensorInfo, outer: number, n: number, inner: number, idx: TensorInfo, src: TensorInfo): void {
  const D = arr(dst), I = arr(idx), S = arr(src);
  const m = idx.shape.reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const row = I[idx.offset + j]!;
      if (!(row >= 0 && row < n)) badIndex('indexAdd', row, n, `input ${shp(dst)}, index ${shp(idx)}`);
      const to = dst.offset + (o * n + row) * inner, from = src.offset + (o * m + j) * inner;
      for (let i = 0; i < inner; i++) D[to + i]! += S[from + i]!;
    }
  }
}

/** Visits every element of index (contiguous), giving its flat position and the offset in x of the same coordinates minus dim. */
function walkIndex(x: TensorInfo, dim: number, index: TensorInfo, visit: (pos: number, base: number, dimStride: number, dimSize: number) => void): void {
  const shape = index.shape, nd = shape.length;
  const coord = new Array<number>(nd).fill(0);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let pos = 0; pos < total; pos++) {
    let base = x.offset;
    for (let d = 0; d < nd; d++) if (d !== dim) base += coord[d]! * x.strides[d]!;
    visit(pos, base, x.strides[dim]!, x.shape[dim]!);
    for (let d = nd - 1; d >= 0; d--) { if (++coord[d]! < shape[d]!) break; coord[d] = 0; }
  }
}

export function gather(_b: Backend, x: TensorInfo, dim: number, index: TensorInfo, out: TensorInfo): void {
  const X = arr(x), I = arr(index), O = arr(out);
  walkIndex(x, dim, index, (pos, base, ds, size) => {
    const v = I[index.offset + pos]!;
    if (!(v >= 0 && v < size)) badIndex('gather', v, size, `input ${shp(x)}, dim ${dim}, index ${shp(index)}`);
    O[out.offset + pos] = X[base + v * ds]!;
  });
}

export function scatterAdd(_b: Backend, dst: TensorInfo, dim: number, index: TensorInfo, src: TensorInfo): void {
  const D = arr(dst), I = arr(index), S = arr(src);
  walkIndex(dst, dim, index, (pos, base, ds, size) => {
    const v = I[index.offset + pos]!;
    if (!(v >= 0 && v < size)) badIndex('scatterAdd', v, size, `input ${shp(dst)}, dim ${dim}, index ${shp(index)}`);
    D[base + v * ds]! += S[src.offset + pos]!;
  });
}

export function adamw(_b: Backend, param: TensorInfo, grad: TensorInfo, m: TensorInfo, v: TensorInfo, p: AdamWParams): void {
  const P = arr(param), G = arr(grad), Mm = arr(m), V = arr(v);
  const n = param.shape.reduce((a, b) => a * b, 1);
  const decay = 1 - p.lr * p.weightDecay;
  const stepSize = p.lr / p.bc1, sqrtBc2 = Math.sqrt(p.bc2);
  const po = param.offset, go = grad.offset, mo = m.offset, vo = v.offset;
  for (let i = 0; i < n; i++) {
    const g = G[go + i]!;
    const mi = p.beta1 * Mm[mo + i]! + (1 - p.beta1) * g;
    const vi = p.beta2 * V[vo + i]! + (1 - p.beta2) * g * g;
    Mm[mo + i] = mi; V[vo + i] = vi;
    P[po + i] = P[po + i]! * decay - stepSize * mi / (Math.sqrt(vi) / sqrtBc2 + p.eps);
  }
}

// Reductions over the middle dim of a contiguous [outer, r, inner] view.

import type { Backend, TensorInfo } from '../../backend.js';
import type { ReduceOp } from '../../registry.js';
import { arr } from './elementwise.js';

export function reduce(_b: Backend, op: ReduceOp, x: TensorInfo, outer: number, r: number, inner: number, out: TensorInfo): void {
  const X = arr(x), O = arr(out);
  const base = x.offset;
  for (let o = 0; o < outer; o++) {
    const src = base + o * r * inner;
    const dst = out.offset + o * inner;
    if (inner === 1) {
      // Sum in float64 with four partials: exact enough and fast for long rows.
      let acc: number;
      if (op === 'sum') {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
        for (; k + 4 <= r; k += 4) { s0 += X[src + k]!; s1 += X[src + k + 1]!; s2 += X[src + k + 2]!; s3 += X[src + k + 3]!; }
        for (; k < r; k++) s0 += X[src + k]!;
        acc = (s0 + s1) + (s2 + s3);
      } else if (op === 'prod') {
        acc = 1;
        for (let k = 0; k < r; k++) acc *= X[src + k]!;
      } else {
        acc = r > 0 ? X[src]! : op === 'max' ? -Infinity : Infinity;
        for (let k = 1; k < r; k++) {
          const v = X[src + k]!;
          if (op === 'max' ? (v > acc || v !== v) : (v < acc || v !== v)) acc = v;
        }
      }
      O[dst] = acc;
      continue;
    }
    // inner > 1: walk the reduced dim row by row, accumulating into the output row.
    if (op === 'sum') {
      // Column sums (a bias gradient: [B·T, C] → [C]): four rows per pass, so the accumulator row
      // is loaded and stored a quarter as often.
      const acc = new Float64Array(inner);
      let k = 0;
      for (; k + 4 <= r; k += 4) {
        const r0 = src + k * inner, r1 = r0 + inner, r2 = r1 + inner, r3 = r2 + inner;
        for (let i = 0; i < inner; i++) acc[i]! += (X[r0 + i]! + X[r1 + i]!) + (X[r2 + i]! + X[r3 + i]!);
      }
      for (; k < r; k++) {
        const row = src + k * inner;
        for (let i = 0; i < inner; i++) acc[i]! += X[row + i]!;
      }
      for (let i = 0; i < inner; i++) O[dst + i] = acc[i]!;
    } else if (op === 'prod') {
      const acc = new Float64Array(inner).fill(1);
      for (let k = 0; k < r; k++) {
        const row = src + k * inner;
        for (let i = 0; i < inner; i++) acc[i]! *= X[row + i]!;
      }
      for (let i = 0; i < inner; i++) O[dst + i] = acc[i]!;
    } else {
      const isMax = op === 'max';
      for (let i = 0; i < inner; i++) O[dst + i] = r > 0 ? X[src + i]! : isMax ? -Infinity : Infinity;
      for (let k = 1; k < r; k++) {
        const row = src + k * inner;
        for (let i = 0; i < inner; i++) {
          const v = X[row + i]!, a = O[dst + i]!;
          if (isMax ? (v > a || v !== v) : (v < a || v !== v)) O[dst + i] = v;
        }
      }
    }
  }
}

export function argReduce(_b: Backend, op: 'argmax' | 'argmin', x: TensorInfo, outer: number, r: number, inner: number, out: TensorInfo): void {
  const X = arr(x), O = arr(out);
  const isMax = op === 'argmax';
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const src = x.offset + o * r * inner + i;
      let best = X[src]!, at = 0;
      if (best !== best) { O[out.offset + o * inner + i] = 0; continue; }
      for (let k = 1; k < r; k++) {
        const v = X[src + k * inner]!;
        if (v !== v) { at = k; break; } // NaN wins, as in torch
        if (isMax ? v > best : v < best) { best = v; at = k; }
      }
      O[out.offset + o * inner + i] = at;
    }
  }
}

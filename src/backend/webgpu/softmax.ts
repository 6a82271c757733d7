// Softmax and logSoftmax over the rows of a contiguous [rows, n], and their backward: one workgroup
// per row (rows.ts). The forward reads the row three times (max, sum of exp, write) rather than
// keeping it in workgroup memory, so a row of any length (a 50k vocabulary) fits.
//
// A row whose entries are all -inf has no distribution: it gives NaN, as torch (and the cpu kernel).

import type { Backend, TensorInfo } from '../backend.js';
import { grid1d, metaWgsl, type WebGPUBackend } from './backend.js';
import { ROW_MAIN, ROW_REDUCE_WGSL, ROW_WG, bufferOf } from './rows.js';

// meta: rows, n, x offset, out offset
const forwardWgsl = (log: boolean) => `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
${metaWgsl(2, 4)}${ROW_REDUCE_WGSL}
${ROW_MAIN}
  if (row >= M(0u)) { return; }
  let n = M(1u);
  let xi = M(2u) + row * n;
  let oi = M(3u) + row * n;
  var mx = negInf();
  for (var k = lid; k < n; k += ${ROW_WG}u) { mx = max(mx, X[xi + k]); }
  mx = wgMax(mx, lid);
  if (mx == negInf()) { mx = 0.0; } // every entry -inf: exp gives zeros, the sum 0 marks the row
  var s = 0.0;
  for (var k = lid; k < n; k += ${ROW_WG}u) { s += exp(X[xi + k] - mx); }
  s = wgSum(s, lid);
  if (s == 0.0) {
    for (var k = lid; k < n; k += ${ROW_WG}u) { O[oi + k] = nanF32(); }
    return;
  }
${log
    ? `  let lse = mx + log(s);
  for (var k = lid; k < n; k += ${ROW_WG}u) { O[oi + k] = X[xi + k] - lse; }`
    : `  let inv = 1.0 / s;
  for (var k = lid; k < n; k += ${ROW_WG}u) { O[oi + k] = exp(X[xi + k] - mx) * inv; }`}
}
`;

// meta: rows, n, y offset, gy offset, gx offset
const backwardWgsl = (log: boolean) => `@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
${metaWgsl(3, 5)}${ROW_REDUCE_WGSL}
${ROW_MAIN}
  if (row >= M(0u)) { return; }
  let n = M(1u);
  let yi = M(2u) + row * n;
  let gi = M(3u) + row * n;
  let oi = M(4u) + row * n;
  var d = 0.0;
${log
    ? `  for (var k = lid; k < n; k += ${ROW_WG}u) { d += G[gi + k]; }
  d = wgSum(d, lid);
  for (var k = lid; k < n; k += ${ROW_WG}u) { GX[oi + k] = G[gi + k] - exp(Y[yi + k]) * d; }`
    : `  for (var k = lid; k < n; k += ${ROW_WG}u) { d += G[gi + k] * Y[yi + k]; }
  d = wgSum(d, lid);
  for (var k = lid; k < n; k += ${ROW_WG}u) { GX[oi + k] = Y[yi + k] * (G[gi + k] - d); }`}
}
`;

export function softmax(b: Backend, x: TensorInfo, rows: number, n: number, log: boolean, out: TensorInfo): void {
  if (rows === 0 || n === 0) return;
  (b as WebGPUBackend).dispatch(`softmax:${log}`, () => forwardWgsl(log), [bufferOf(x), bufferOf(out)],
    Uint32Array.of(rows, n, x.offset, out.offset), grid1d(rows));
}

export function softmaxBackward(b: Backend, y: TensorInfo, gy: TensorInfo, rows: number, n: number, log: boolean, gx: TensorInfo): void {
  if (rows === 0 || n === 0) return;
  (b as WebGPUBackend).dispatch(`softmaxBackward:${log}`, () => backwardWgsl(log), [bufferOf(y), bufferOf(gy), bufferOf(gx)],
    Uint32Array.of(rows, n, y.offset, gy.offset, gx.offset), grid1d(rows));
}

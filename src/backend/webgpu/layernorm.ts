// layerNorm over the rows of a contiguous [rows, n], forward and backward; rmsNorm (inference only:
// training takes the composite, whose gradient autograd derives).
//
// Forward and the input gradient: one workgroup per row (rows.ts). The mean, then the variance of
// the centred values (two passes over the row, as the cpu kernel: no E[x²] - E[x]² cancellation).
//
// The weight and bias gradients are sums over rows, done in two passes so that every run adds in
// the same order (no atomics): each workgroup of the first pass sums one block of rows (32, or more
// when that would take over 65535 blocks) for 256 columns into a scratch [2, blocks, n]; the column
// reduction (reduce.ts) then sums the blocks.

import type { Backend, TensorInfo } from '../backend.js';
import { bitsOf, grid1d, metaWgsl, type WebGPUBackend } from './backend.js';
import { fill } from './elementwise.js';
import { reduce } from './reduce.js';
import { ROW_MAIN, ROW_REDUCE_WGSL, ROW_WG, bufferOf } from './rows.js';

const MIN_ROWS_PER_BLOCK = 32;
const COL_WG = 256;

/** Storage bindings for x, the optional weight and bias, then the outputs; `W`/`B` name what is present. */
function affineBindings(first: number, weight: boolean, bias: boolean): { decl: string; next: number } {
  let at = first, decl = '';
  if (weight) decl += `@group(0) @binding(${at++}) var<storage, read> W: array<f32>;\n`;
  if (bias) decl += `@group(0) @binding(${at++}) var<storage, read> B: array<f32>;\n`;
  return { decl, next: at };
}

// meta: rows, n, x offset, out offset, mean offset, rstd offset, eps bits, w offset, b offset
const forwardWgsl = (weight: boolean, bias: boolean) => {
  const { decl, next } = affineBindings(1, weight, bias);
  return `@group(0) @binding(0) var<storage, read> X: array<f32>;
${decl}@group(0) @binding(${next}) var<storage, read_write> O: array<f32>;
@group(0) @binding(${next + 1}) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(${next + 2}) var<storage, read_write> RSTD: array<f32>;
${metaWgsl(next + 3, 9)}${ROW_REDUCE_WGSL}
${ROW_MAIN}
  if (row >= M(0u)) { return; }
  let n = M(1u);
  let xi = M(2u) + row * n;
  let oi = M(3u) + row * n;
  var s = 0.0;
  for (var k = lid; k < n; k += ${ROW_WG}u) { s += X[xi + k]; }
  let mu = wgSum(s, lid) / f32(n);
  var ss = 0.0;
  for (var k = lid; k < n; k += ${ROW_WG}u) { let d = X[xi + k] - mu; ss += d * d; }
  let rs = 1.0 / sqrt(wgSum(ss, lid) / f32(n) + MF(6u));
  if (lid == 0u) { MEAN[M(4u) + row] = mu; RSTD[M(5u) + row] = rs; }
  for (var k = lid; k < n; k += ${ROW_WG}u) {
    var v = (X[xi + k] - mu) * rs;
    ${weight ? 'v *= W[M(7u) + k];' : ''}
    ${bias ? 'v += B[M(8u) + k];' : ''}
    O[oi + k] = v;
  }
}
`;
};

// meta: rows, n, x offset, gy offset, gx offset, mean offset, rstd offset, w offset
const inputGradWgsl = (weight: boolean) => `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read> RSTD: array<f32>;
${weight ? '@group(0) @binding(4) var<storage, read> W: array<f32>;\n' : ''}@group(0) @binding(${weight ? 5 : 4}) var<storage, read_write> GX: array<f32>;
${metaWgsl(weight ? 6 : 5, 8)}${ROW_REDUCE_WGSL}
fn gh(g: f32, k: u32) -> f32 { return ${weight ? 'g * W[M(7u) + k]' : 'g'}; }
${ROW_MAIN}
  if (row >= M(0u)) { return; }
  let n = M(1u);
  let xi = M(2u) + row * n;
  let gi = M(3u) + row * n;
  let oi = M(4u) + row * n;
  let mu = MEAN[M(5u) + row];
  let rs = RSTD[M(6u) + row];
  var acc = vec2<f32>(0.0, 0.0); // Σ gh, Σ gh·x̂
  for (var k = lid; k < n; k += ${ROW_WG}u) {
    let h = gh(G[gi + k], k);
    acc += vec2<f32>(h, h * (X[xi + k] - mu) * rs);
  }
  let m = wgSum2(acc, lid) / f32(n);
  for (var k = lid; k < n; k += ${ROW_WG}u) {
    let xhat = (X[xi + k] - mu) * rs;
    GX[oi + k] = rs * (gh(G[gi + k], k) - m.x - xhat * m.y);
  }
}
`;

// meta: rows, n, x offset, gy offset, mean offset, rstd offset, blocks, rows per block
const paramGradWgsl = `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read> RSTD: array<f32>;
@group(0) @binding(4) var<storage, read_write> P: array<f32>; // [2][blocks][n]: Σ g·x̂, then Σ g
${metaWgsl(5, 8)}
@compute @workgroup_size(${COL_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = M(1u);
  let c = wid.x * ${COL_WG}u + lid;
  if (c >= n) { return; }
  let block = wid.y;
  let r0 = block * M(7u);
  let r1 = min(r0 + M(7u), M(0u));
  var gw = 0.0;
  var gb = 0.0;
  for (var r = r0; r < r1; r++) {
    let g = G[M(3u) + r * n + c];
    gw += g * (X[M(2u) + r * n + c] - MEAN[M(4u) + r]) * RSTD[M(5u) + r];
    gb += g;
  }
  P[block * n + c] = gw;
  P[(M(6u) + block) * n + c] = gb;
}
`;

export function layerNorm(b: Backend, x: TensorInfo, weight: TensorInfo | null, bias: TensorInfo | null, rows: number, n: number,
                          eps: number, out: TensorInfo, mean: TensorInfo, rstd: TensorInfo): void {
  if (rows === 0) return;
  const buffers = [x, weight, bias, out, mean, rstd].filter((t): t is TensorInfo => t !== null).map(bufferOf);
  const meta = Uint32Array.of(rows, n, x.offset, out.offset, mean.offset, rstd.offset, bitsOf(eps, 'float32'),
    weight?.offset ?? 0, bias?.offset ?? 0);
  (b as WebGPUBackend).dispatch(`layerNorm:${!!weight}:${!!bias}`, () => forwardWgsl(!!weight, !!bias), buffers, meta, grid1d(rows));
}

export function layerNormBackward(b: Backend, x: TensorInfo, weight: TensorInfo | null, mean: TensorInfo, rstd: TensorInfo, gy: TensorInfo,
                                  rows: number, n: number, gx: TensorInfo, gw: TensorInfo | null, gb: TensorInfo | null): void {
  const g = b as WebGPUBackend;
  if (rows === 0) {
    for (const t of [gw, gb]) if (t) fill(b, t, 0);
    return;
  }
  const inputs = [x, gy, mean, rstd].map(bufferOf);
  g.dispatch(`layerNormBackward:${!!weight}`, () => inputGradWgsl(!!weight),
    [...inputs, ...(weight ? [bufferOf(weight)] : []), bufferOf(gx)],
    Uint32Array.of(rows, n, x.offset, gy.offset, gx.offset, mean.offset, rstd.offset, weight?.offset ?? 0), grid1d(rows));
  if (!gw && !gb) return;
  const perBlock = Math.max(MIN_ROWS_PER_BLOCK, Math.ceil(rows / g.limits.maxComputeWorkgroupsPerDimension));
  const blocks = Math.ceil(rows / perBlock);
  const scratch = g.alloc('float32', 2 * blocks * n);
  g.dispatch('layerNormBackward.params', () => paramGradWgsl, [...inputs, scratch.buffer],
    Uint32Array.of(rows, n, x.offset, gy.offset, mean.offset, rstd.offset, blocks, perBlock), [Math.ceil(n / COL_WG), blocks, 1]);
  const part = (offset: number): TensorInfo => ({ storage: scratch, dtype: 'float32', shape: [blocks, n], strides: [n, 1], offset });
  if (gw) reduce(b, 'sum', part(0), 1, blocks, n, gw);
  if (gb) reduce(b, 'sum', part(blocks * n), 1, blocks, n, gb);
  // Released while the recorded dispatches still read it: safe, a later owner's work is queued after (backend.ts).
  g.release(scratch);
}

// meta: rows, n, x offset, out offset, eps bits, w offset
const rmsNormWgsl = (weight: boolean) => `@group(0) @binding(0) var<storage, read> X: array<f32>;
${weight ? '@group(0) @binding(1) var<storage, read> W: array<f32>;\n' : ''}@group(0) @binding(${weight ? 2 : 1}) var<storage, read_write> O: array<f32>;
${metaWgsl(weight ? 3 : 2, 6)}${ROW_REDUCE_WGSL}
${ROW_MAIN}
  if (row >= M(0u)) { return; }
  let n = M(1u);
  let xi = M(2u) + row * n;
  let oi = M(3u) + row * n;
  var ss = 0.0;
  for (var k = lid; k < n; k += ${ROW_WG}u) { let v = X[xi + k]; ss += v * v; }
  let inv = 1.0 / sqrt(wgSum(ss, lid) / f32(n) + MF(4u));
  for (var k = lid; k < n; k += ${ROW_WG}u) { O[oi + k] = X[xi + k] * inv${weight ? ' * W[M(5u) + k]' : ''}; }
}
`;

export function rmsNorm(b: Backend, x: TensorInfo, weight: TensorInfo | null, rows: number, n: number, eps: number, out: TensorInfo): void {
  if (rows === 0 || n === 0) return;
  (b as WebGPUBackend).dispatch(`rmsNorm:${!!weight}`, () => rmsNormWgsl(!!weight),
    [x, ...(weight ? [weight] : []), out].map(bufferOf),
    Uint32Array.of(rows, n, x.offset, out.offset, bitsOf(eps, 'float32'), weight?.offset ?? 0), grid1d(rows));
}

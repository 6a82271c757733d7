// Matmul on weight-only quantized weights (quant_format.ts): out [M, N] = x [M, K] · Wᵀ (+ bias),
// reading the int8 bytes or 4-bit nibbles of qweight in place; no dequantized copy of W is made.
// One thread per output; the sums run in the cpu reference's order (per group: x·q over the group's
// inputs, then times its scale, groups added in order, then the bias).

import type { Backend, TensorInfo } from '../backend.js';
import { rowWords, type QuantLayout } from '../quant_format.js';
import { grid1d, metaWgsl, type WebGPUBackend } from './backend.js';
import { bufferOf } from './rows.js';

const WG = 64;

// meta: M, N, K, words per row, groups per row, group size, x offset, qweight offset, scales offset, out offset, bias offset
function wgsl(bits: 8 | 4, bias: boolean): string {
  // q[n, k]: byte k of the row (8 bits, sign-extended), or nibble k of it minus 8 (4 bits).
  const q = bits === 8
    ? `let w = Q[qrow + (k >> 2u)]; let q = f32(bitcast<i32>(w << (24u - 8u * (k & 3u))) >> 24u);`
    : `let w = Q[qrow + (k >> 3u)]; let q = f32(i32((w >> (4u * (k & 7u))) & 15u) - 8);`;
  return `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Q: array<u32>;
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
${bias ? '@group(0) @binding(4) var<storage, read> B: array<f32>;' : ''}
${metaWgsl(bias ? 5 : 4, 11)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  let N = M(1u); let K = M(2u);
  if (e >= M(0u) * N) { return; }
  let m = e / N; let n = e % N;
  let groups = M(4u); let g = M(5u);
  let xrow = M(6u) + m * K;
  let qrow = M(7u) + n * M(3u);
  var y = 0.0;
  for (var gi = 0u; gi < groups; gi++) {
    var acc = 0.0;
    for (var k = gi * g; k < gi * g + g; k++) {
      ${q}
      acc = acc + X[xrow + k] * q;
    }
    y = y + acc * S[M(8u) + n * groups + gi];
  }
  ${bias ? 'y = y + B[M(10u) + n];' : ''}
  O[M(9u) + e] = y;
}
`;
}

export function quantMatmul(b: Backend, x: TensorInfo, qweight: TensorInfo, scales: TensorInfo, bias: TensorInfo | null,
  l: QuantLayout, out: TensorInfo): void {
  const { N, K, bits } = l;
  const M = out.shape.reduce((p, d) => p * d, 1) / Math.max(N, 1);
  if (M * N === 0) return;
  const groups = K / l.groupSize;
  const meta = Uint32Array.of(M, N, K, rowWords(l), groups, l.groupSize, x.offset, qweight.offset, scales.offset, out.offset, bias?.offset ?? 0);
  const buffers = [x, qweight, scales, out, ...(bias ? [bias] : [])].map(bufferOf);
  (b as WebGPUBackend).dispatch(`quantMatmul${bits}${bias ? 'b' : ''}`, () => wgsl(bits, bias !== null), buffers, meta, grid1d(Math.ceil((M * N) / WG)));
}

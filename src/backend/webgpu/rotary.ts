// Rotary position embedding (rotate-half layout, as GPT-NeoX / Llama) in one pass, for inference:
// out = x·cos + rotate_half(x)·sin, one thread per output element. x [B, H, T, D] and cos, sin
// [B|1, 1, T, D] are read through their strides (head views of a projection, broadcast angles).

import type { Backend, TensorInfo } from '../backend.js';
import { grid1d, metaWgsl, type WebGPUBackend } from './backend.js';
import { bufferOf } from './rows.js';

const WG = 256;

// meta: total, H, T, D, out offset, x offset + 4 strides, cos offset + 4 strides, sin offset + 4 strides
const WGSL = `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> C: array<f32>;
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
${metaWgsl(4, 20)}
/** Offset of (b, h, t, d) in the operand whose offset and strides start at word w. */
fn at(w: u32, b: u32, h: u32, t: u32, d: u32) -> u32 {
  return M(w) + b * M(w + 1u) + h * M(w + 2u) + t * M(w + 3u) + d * M(w + 4u);
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (e >= M(0u)) { return; }
  let H = M(1u); let T = M(2u); let D = M(3u);
  let d = e % D;
  let t = (e / D) % T;
  let h = (e / (D * T)) % H;
  let b = e / (D * T * H);
  let half = D / 2u;
  var rot: f32;
  if (d < half) { rot = -X[at(5u, b, h, t, d + half)]; } else { rot = X[at(5u, b, h, t, d - half)]; }
  O[M(4u) + e] = X[at(5u, b, h, t, d)] * C[at(10u, b, 0u, t, d)] + rot * S[at(15u, b, 0u, t, d)];
}
`;

export function rotary(b: Backend, x: TensorInfo, cos: TensorInfo, sin: TensorInfo, out: TensorInfo): void {
  const [B, H, T, D] = x.shape as [number, number, number, number];
  const total = B * H * T * D;
  if (total === 0) return;
  const meta = Uint32Array.of(total, H, T, D, out.offset, x.offset, ...x.strides, cos.offset, ...cos.strides, sin.offset, ...sin.strides);
  (b as WebGPUBackend).dispatch('rotary', () => WGSL, [x, cos, sin, out].map(bufferOf), meta, grid1d(Math.ceil(total / WG)));
}

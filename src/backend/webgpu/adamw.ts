// The AdamW step as one kernel: per element, both moments and the parameter are read and written
// once (the composite would be a dozen elementwise dispatches and as many temporaries).

import type { Backend, TensorInfo } from '../backend.js';
import type { AdamWParams } from '../registry.js';
import { bitsOf, grid1d, metaWgsl, type WebGPUBackend } from './backend.js';
import { bufferOf } from './rows.js';

const WG = 256;

// meta: n, offsets of param, grad, m, v, then f32 bits: beta1, beta2, eps, decay, step size, √bc2
const WGSL = `@group(0) @binding(0) var<storage, read_write> P: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> M1: array<f32>;
@group(0) @binding(3) var<storage, read_write> M2: array<f32>;
${metaWgsl(4, 11)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= M(0u)) { return; }
  let beta1 = MF(5u); let beta2 = MF(6u);
  let g = G[M(2u) + i];
  let m = beta1 * M1[M(3u) + i] + (1.0 - beta1) * g;
  let v = beta2 * M2[M(4u) + i] + (1.0 - beta2) * g * g;
  M1[M(3u) + i] = m;
  M2[M(4u) + i] = v;
  P[M(1u) + i] = P[M(1u) + i] * MF(8u) - MF(9u) * m / (sqrt(v) / MF(10u) + MF(7u));
}
`;

export function adamw(b: Backend, param: TensorInfo, grad: TensorInfo, m: TensorInfo, v: TensorInfo, p: AdamWParams): void {
  const n = param.shape.reduce((a, d) => a * d, 1);
  if (n === 0) return;
  const f = (x: number) => bitsOf(x, 'float32');
  // The scalar factors are formed in double precision here, as the cpu kernel forms them.
  const meta = Uint32Array.of(n, param.offset, grad.offset, m.offset, v.offset,
    f(p.beta1), f(p.beta2), f(p.eps), f(1 - p.lr * p.weightDecay), f(p.lr / p.bc1), f(Math.sqrt(p.bc2)));
  (b as WebGPUBackend).dispatch('adamw', () => WGSL, [param, grad, m, v].map(bufferOf), meta, grid1d(Math.ceil(n / WG)));
}

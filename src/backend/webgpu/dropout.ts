// The inverted-dropout mask (registry.ts: dropoutMask) on the GPU, from the counter-based generator
// (random_hash.ts): one thread per element, the same bits as the cpu kernel's, no upload.

import type { Backend, TensorInfo } from '../backend.js';
import { COUNTER_HASH_WGSL } from '../random_hash.js';
import { bitsOf, grid1d, metaWgsl, type WebGPUBackend } from './backend.js';
import { bufferOf } from './rows.js';

const WG = 256;

// meta: n, out offset, key0, key1, p (f32 bits), keep scale (f32 bits)
const WGSL = `@group(0) @binding(0) var<storage, read_write> O: array<f32>;
${metaWgsl(1, 6)}
${COUNTER_HASH_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= M(0u)) { return; }
  let u = f32(counter_hash(i, M(2u), M(3u)) >> 8u) / 16777216.0;
  O[M(1u) + i] = select(MF(5u), 0.0, u < MF(4u));
}
`;

export function dropoutMask(b: Backend, out: TensorInfo, p: number, key0: number, key1: number): void {
  const n = out.shape.reduce((a, d) => a * d, 1);
  if (n === 0) return;
  const meta = Uint32Array.of(n, out.offset, key0 >>> 0, key1 >>> 0, bitsOf(p, 'float32'), bitsOf(1 / (1 - p), 'float32'));
  (b as WebGPUBackend).dispatch('dropoutMask', () => WGSL, [bufferOf(out)], meta, grid1d(Math.ceil(n / WG)));
}

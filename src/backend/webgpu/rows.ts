// Shared pieces of the row kernels (softmax, layerNorm, rmsNorm): one workgroup per row of a
// contiguous [rows, n], its threads striding over the row, partial results combined as a tree in
// workgroup memory. The tree keeps f32 sums accurate (each value passes through log2(WG) adds),
// and the same order every run, so results are deterministic.

import type { TensorInfo } from '../backend.js';
import type { GpuStorage } from './backend.js';

/** Threads per row. */
export const ROW_WG = 256;

/** The GPU buffer behind a tensor view. */
export const bufferOf = (t: TensorInfo): GPUBuffer => (t.storage as GpuStorage).buffer;

/**
 * WGSL: wgSum / wgMax reduce one f32 per thread of a ROW_WG-thread workgroup and return the result
 * to every thread; wgSum2 reduces two sums at once. Each must be called by all threads (it holds
 * barriers), and leaves the scratch free for the next call. NaN is written as a bit pattern:
 * WGSL has no NaN or infinity literal, and a constant
 * expression that evaluates to one is a compile error (so the bits go through a var).
 */
export const ROW_REDUCE_WGSL = `
var<workgroup> red: array<vec2<f32>, ${ROW_WG}>;
fn wgSum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wgSum(v: f32, lid: u32) -> f32 { return wgSum2(vec2<f32>(v, 0.0), lid).x; }
fn wgMax(v: f32, lid: u32) -> f32 {
  red[lid] = vec2<f32>(v, 0.0);
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid].x = max(red[lid].x, red[lid + s].x); }
    workgroupBarrier();
  }
  let r = red[0].x;
  workgroupBarrier();
  return r;
}
fn nanF32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn negInf() -> f32 { var bits = 0xff800000u; return bitcast<f32>(bits); }
`;

/** WGSL entry point header of a row kernel: \`row\` is this workgroup's row (the grid is grid1d(rows)). */
export const ROW_MAIN = `@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;`;

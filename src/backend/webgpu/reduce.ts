// Reductions of a contiguous [outer, r, inner] view over r, into [outer, inner].
//  - inner = 1 (a reduction over the last dims: rows): one workgroup per row; threads stride over
//    the row, then combine in workgroup memory as a tree (which also keeps f32 sums accurate).
//  - inner > 1: one thread per output; neighbouring threads read neighbouring columns (coalesced).
// max/min propagate NaN as torch does; the test is on bits, since WGSL lets compilers assume
// that `x != x` is false.

import type { Backend, TensorInfo } from '../backend.js';
import type { ReduceOp } from '../registry.js';
import { bitsOf, grid1d, metaWgsl, wgslType, type GpuStorage, type WebGPUBackend } from './backend.js';

const WG = 256;

const NAN_FN = 'fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }\n';

function combineFn(op: ReduceOp, t: 'f32' | 'i32'): string {
  let body: string;
  switch (op) {
    case 'sum': body = 'return a + b;'; break;
    case 'prod': body = 'return a * b;'; break;
    case 'max': body = t === 'f32' ? 'if (isNan(a)) { return a; } return select(a, b, b > a || isNan(b));' : 'return max(a, b);'; break;
    case 'min': body = t === 'f32' ? 'if (isNan(a)) { return a; } return select(a, b, b < a || isNan(b));' : 'return min(a, b);'; break;
  }
  return `${t === 'f32' ? NAN_FN : ''}fn combine(a: ${t}, b: ${t}) -> ${t} { ${body} }\n`;
}

/** The identity of op as the bits of a WGSL value (±inf cannot be written as a WGSL constant). */
function identityBits(op: ReduceOp, t: 'f32' | 'i32'): number {
  if (t === 'f32') return bitsOf(op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity, 'float32');
  return op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? 0x80000000 : 0x7fffffff;
}

export function reduce(b: Backend, op: ReduceOp, x: TensorInfo, outer: number, r: number, inner: number, out: TensorInfo): void {
  const gb = b as WebGPUBackend;
  if (x.dtype === 'bool') throw new Error('webgpu reduce: bool input must be cast to int32 first');
  const t = wgslType(x.dtype) as 'f32' | 'i32';
  const ot = wgslType(out.dtype);
  const buffers = [(x.storage as GpuStorage).buffer, (out.storage as GpuStorage).buffer];
  const meta = Uint32Array.of(outer, r, inner, x.offset, out.offset, identityBits(op, t));
  const head = `@group(0) @binding(0) var<storage, read> X: array<${t}>;
@group(0) @binding(1) var<storage, read_write> O: array<${ot}>;
${metaWgsl(2, meta.length)}${combineFn(op, t)}`;
  if (inner === 1) {
    gb.dispatch(`reduce.row:${op}:${t}:${ot}`, () => `${head}
var<workgroup> part: array<${t}, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= M(0u)) { return; }
  let r = M(1u);
  let base = M(3u) + row * r;
  var acc = bitcast<${t}>(M(5u));
  for (var k = lid; k < r; k += ${WG}u) { acc = combine(acc, X[base + k]); }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] = combine(part[lid], part[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { O[M(4u) + row] = ${ot}(part[0]); }
}
`, buffers, meta, grid1d(outer));
    return;
  }
  gb.dispatch(`reduce.col:${op}:${t}:${ot}`, () => `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  let r = M(1u);
  let inner = M(2u);
  if (j >= M(0u) * inner) { return; }
  let o = j / inner;
  let i = j - o * inner;
  var at = M(3u) + o * r * inner + i;
  var acc = bitcast<${t}>(M(5u));
  for (var k = 0u; k < r; k++) { acc = combine(acc, X[at]); at += inner; }
  O[M(4u) + j] = ${ot}(acc);
}
`, buffers, meta, grid1d(Math.ceil((outer * inner) / WG)));
}

/** Index of the max/min along r (first on ties; a NaN wins, as in torch); one thread per output. */
export function argReduce(b: Backend, op: 'argmax' | 'argmin', x: TensorInfo, outer: number, r: number, inner: number, out: TensorInfo): void {
  const gb = b as WebGPUBackend;
  if (x.dtype !== 'float32') throw new Error(`webgpu ${op}: expected float32 input, got ${x.dtype}`);
  const cmp = op === 'argmax' ? '>' : '<';
  const meta = Uint32Array.of(outer, r, inner, x.offset, out.offset);
  gb.dispatch(`argReduce:${op}`, () => `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<i32>;
${metaWgsl(2, meta.length)}${NAN_FN}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  let r = M(1u);
  let inner = M(2u);
  if (j >= M(0u) * inner) { return; }
  let o = j / inner;
  let start = M(3u) + o * r * inner + (j - o * inner);
  var best = X[start];
  var at = 0u;
  if (!isNan(best)) {
    for (var k = 1u; k < r; k++) {
      let v = X[start + k * inner];
      if (isNan(v)) { at = k; break; }
      if (v ${cmp} best) { best = v; at = k; }
    }
  }
  O[M(4u) + j] = i32(at);
}
`, [(x.storage as GpuStorage).buffer, (out.storage as GpuStorage).buffer], meta, grid1d(Math.ceil((outer * inner) / WG)));
}

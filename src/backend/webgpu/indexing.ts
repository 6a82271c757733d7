// Index kernels: indexSelect and its gradient indexAdd (the embedding's scatter-add), gather and its
// gradient scatterAdd.
//
// The adds are deterministic, without atomics: two indices may name the same destination, so each
// thread owns a set of destinations that no other thread touches and adds into them in index order
// (the cpu kernel's order, so the sums agree to the bit):
//  - indexAdd: a thread per (outer, inner) column walks the m indices in order. The parallelism is
//    outer·inner (the embedding width), each thread m steps long; an atomic float add (a CAS loop
//    on u32) would spread over m·inner threads but sum in a different order every run.
//  - scatterAdd: collisions happen only along dim, so a thread per line along dim of the index
//    walks that line in order.
// An index out of range is skipped (a selected row reads 0) and recorded in the backend's
// indexErrors buffer, which the next download reports as an error with the message of the cpu
// kernel (op, index, size and the shapes the dispatch was given).

import type { Backend, TensorInfo } from '../backend.js';
import { INDEX_OPS, grid1d, metaWgsl, wgslType, type WebGPUBackend } from './backend.js';
import { bufferOf } from './rows.js';

const WG = 64;

/** WGSL: the indexErrors binding and badIndex(), which records the first bad index of op and the context id in uniform word ctxWord. */
function errorWgsl(binding: number, op: (typeof INDEX_OPS)[number], ctxWord: number): string {
  return `struct IndexError { count: atomic<u32>, op: u32, value: i32, size: u32, context: u32 }
@group(0) @binding(${binding}) var<storage, read_write> ERR: IndexError;
fn badIndex(v: i32, size: u32) {
  if (atomicAdd(&ERR.count, 1u) == 0u) { ERR.op = ${INDEX_OPS.indexOf(op) + 1}u; ERR.value = v; ERR.size = size; ERR.context = M(${ctxWord}u); }
}
fn inRange(v: i32, size: u32) -> bool { return v >= 0 && u32(v) < size; }
`;
}

const THREAD = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * ${WG}u + lid;`;

const numel = (t: TensorInfo) => t.shape.reduce((a, d) => a * d, 1);
const shp = (t: TensorInfo) => `[${t.shape.join(',')}]`;

export function indexSelect(b: Backend, src: TensorInfo, outer: number, n: number, inner: number, idx: TensorInfo, out: TensorInfo): void {
  const gb = b as WebGPUBackend, m = numel(idx), total = outer * m * inner;
  const t = wgslType(src.dtype);
  // meta: total, n, inner, m, src offset, idx offset, out offset, context id
  gb.dispatch(`indexSelect:${t}`, () => `@group(0) @binding(0) var<storage, read> S: array<${t}>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> O: array<${t}>;
${errorWgsl(3, 'indexSelect', 7)}${metaWgsl(4, 8)}
${THREAD}
  if (e >= M(0u)) { return; }
  let n = M(1u); let inner = M(2u); let m = M(3u);
  let i = e % inner;
  let oj = e / inner;
  let j = oj % m;
  let o = oj / m;
  let v = I[M(5u) + j];
  var x = ${t}(0);
  if (inRange(v, n)) { x = S[M(4u) + (o * n + u32(v)) * inner + i]; } else { badIndex(v, n); }
  O[M(6u) + e] = x;
}
`, [bufferOf(src), bufferOf(idx), bufferOf(out), gb.indexErrors],
  Uint32Array.of(total, n, inner, m, src.offset, idx.offset, out.offset, gb.indexContext(`input ${shp(src)}, index ${shp(idx)}`)),
  grid1d(Math.ceil(total / WG)));
}

export function indexAdd(b: Backend, dst: TensorInfo, outer: number, n: number, inner: number, idx: TensorInfo, src: TensorInfo): void {
  const gb = b as WebGPUBackend, m = numel(idx), columns = outer * inner;
  const t = wgslType(dst.dtype);
  // meta: columns, n, inner, m, dst offset, idx offset, src offset, context id
  gb.dispatch(`indexAdd:${t}`, () => `@group(0) @binding(0) var<storage, read_write> D: array<${t}>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read> S: array<${t}>;
${errorWgsl(3, 'indexAdd', 7)}${metaWgsl(4, 8)}
${THREAD}
  if (e >= M(0u)) { return; }
  let n = M(1u); let inner = M(2u); let m = M(3u);
  let i = e % inner;
  let o = e / inner;
  let to = M(4u) + o * n * inner + i;
  var at = M(6u) + o * m * inner + i;
  for (var j = 0u; j < m; j++) {
    let v = I[M(5u) + j];
    if (inRange(v, n)) { D[to + u32(v) * inner] += S[at]; } else { badIndex(v, n); }
    at += inner;
  }
}
`, [bufferOf(dst), bufferOf(idx), bufferOf(src), gb.indexErrors],
  Uint32Array.of(columns, n, inner, m, dst.offset, idx.offset, src.offset, gb.indexContext(`input ${shp(dst)}, index ${shp(idx)}`)),
  grid1d(Math.ceil(columns / WG)));
}

/**
 * Uniform words shared by gather and scatterAdd: count, rank, dim, x offset, index offset, other
 * offset, x's size along dim, then index's shape, x's strides and index's (contiguous) strides,
 * and last the context id of an error report.
 */
function walkMeta(count: number, x: TensorInfo, dim: number, index: TensorInfo, other: TensorInfo, context: number): Uint32Array {
  const R = index.shape.length;
  const istrides: number[] = new Array<number>(R);
  for (let d = R - 1, s = 1; d >= 0; d--) { istrides[d] = s; s *= index.shape[d]!; }
  return Uint32Array.of(count, R, dim, x.offset, index.offset, other.offset, x.shape[dim]!, ...index.shape, ...x.strides, ...istrides, context);
}

/** WGSL: flat position e over index's shape (over its lines along dim, with skipDim) → offset in x and position in index. */
const WALK_WGSL = `fn SH(d: u32) -> u32 { return M(7u + d); }
fn XS(d: u32) -> u32 { return M(7u + M(1u) + d); }
fn IS(d: u32) -> u32 { return M(7u + 2u * M(1u) + d); }
fn walk(e: u32, skipDim: bool) -> vec2<u32> {
  var rem = e;
  var xo = M(3u);
  var io = 0u;
  for (var d = M(1u); d > 0u; d--) {
    let k = d - 1u;
    if (k == M(2u)) { if (!skipDim) { io += (rem % SH(k)) * IS(k); rem /= SH(k); } continue; }
    let c = rem % SH(k);
    rem /= SH(k);
    xo += c * XS(k);
    io += c * IS(k);
  }
  return vec2<u32>(xo, io);
}
`;

export function gather(b: Backend, x: TensorInfo, dim: number, index: TensorInfo, out: TensorInfo): void {
  const gb = b as WebGPUBackend, total = numel(index);
  if (total === 0) return;
  const t = wgslType(x.dtype);
  const meta = walkMeta(total, x, dim, index, out, gb.indexContext(`input ${shp(x)}, dim ${dim}, index ${shp(index)}`));
  gb.dispatch(`gather:${t}:${meta.length}`, () => `@group(0) @binding(0) var<storage, read> X: array<${t}>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> O: array<${t}>;
${errorWgsl(3, 'gather', meta.length - 1)}${metaWgsl(4, meta.length)}${WALK_WGSL}
${THREAD}
  if (e >= M(0u)) { return; }
  let w = walk(e, false);
  let v = I[M(4u) + w.y];
  let size = M(6u);
  var r = ${t}(0);
  if (inRange(v, size)) { r = X[w.x + u32(v) * XS(M(2u))]; } else { badIndex(v, size); }
  O[M(5u) + w.y] = r;
}
`, [bufferOf(x), bufferOf(index), bufferOf(out), gb.indexErrors], meta, grid1d(Math.ceil(total / WG)));
}

export function scatterAdd(b: Backend, dst: TensorInfo, dim: number, index: TensorInfo, src: TensorInfo): void {
  const gb = b as WebGPUBackend, len = index.shape[dim]!;
  const lines = len === 0 ? 0 : numel(index) / len;
  if (lines === 0) return;
  const t = wgslType(dst.dtype);
  const meta = walkMeta(lines, dst, dim, index, src, gb.indexContext(`input ${shp(dst)}, dim ${dim}, index ${shp(index)}`));
  gb.dispatch(`scatterAdd:${t}:${meta.length}`, () => `@group(0) @binding(0) var<storage, read_write> X: array<${t}>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read> S: array<${t}>;
${errorWgsl(3, 'scatterAdd', meta.length - 1)}${metaWgsl(4, meta.length)}${WALK_WGSL}
${THREAD}
  if (e >= M(0u)) { return; }
  let w = walk(e, true);
  let dim = M(2u);
  let size = M(6u);
  for (var c = 0u; c < SH(dim); c++) {
    let at = w.y + c * IS(dim);
    let v = I[M(4u) + at];
    if (inRange(v, size)) { X[w.x + u32(v) * XS(dim)] += S[M(5u) + at]; } else { badIndex(v, size); }
  }
}
`, [bufferOf(dst), bufferOf(index), bufferOf(src), gb.indexErrors], meta, grid1d(Math.ceil(lines / WG)));
}

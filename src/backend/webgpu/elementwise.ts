// Elementwise kernels over strided views: copy, fill, cast, unary, binary, binaryScalar, where.
// One shader generator serves them all: each thread finds its element's offset in every operand
// from the output shape and the operands' strides (a uniform block), so transposed and expanded
// (stride 0) views are read in place. The op expressions come from backend/elementwise.ts, the
// same declarations the cpu backend compiles; arithmetic runs in f32 (an int32 tensor's values
// are exact up to 2^24 there) and the result converts to the output dtype.

import type { Backend, TensorInfo } from '../backend.js';
import { BINARY, UNARY, WGSL_HELPERS } from '../elementwise.js';
import type { DType } from '../../tensor/dtype.js';
import { planStrided } from '../strided.js';
import { bitsOf, grid1d, metaWgsl, wgslType, type GpuStorage, type WebGPUBackend } from './backend.js';

const WG = 256;

/** Merged dims (see planStrided), in the shape this file uses. */
export function mergeDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const plan = planStrided(shape, strides);
  return { shape: plan.dims, strides: plan.strides };
}

/** Converts a value expression of WGSL type `from` to the storage type of `to`. */
function convert(expr: string, from: 'f32' | 'i32' | 'u32', to: DType): string {
  const t = wgslType(to);
  if (t === from) return expr;
  if (to === 'bool') return `select(0u, 1u, (${expr}) != ${from}(0))`;
  return `${t}(${expr})`;
}

interface Ew {
  /** Cache key prefix naming the op; dtypes, rank and aliasing are appended here. */
  key: string;
  inputs: readonly TensorInfo[];
  out: TensorInfo;
  /** WGSL statements; in0, in1... are the loaded input values (storage types); must assign `v`. */
  body: string;
  /** WGSL type of v. */
  vType: 'f32' | 'i32' | 'u32';
  /** Extra uniform words, read in body as M(EXTRA + i) / MF(EXTRA + i). */
  extra?: readonly number[];
}

function runElementwise(b: Backend, ew: Ew): void {
  const gb = b as WebGPUBackend;
  const ops = [...ew.inputs, ew.out];
  const n = ew.out.shape.reduce((p, d) => p * d, 1);
  if (n === 0) return;
  const { shape, strides } = mergeDims(ew.out.shape, ops.map((t) => t.strides));
  const R = shape.length;
  // One binding per distinct buffer: an input that shares the output's buffer (an in-place copy)
  // reads through the output's read_write binding, since WebGPU forbids aliasing a writable binding.
  const buffers: GPUBuffer[] = [];
  const slotOf = ops.map((t) => {
    const buf = (t.storage as GpuStorage).buffer;
    let i = buffers.indexOf(buf);
    if (i < 0) { buffers.push(buf); i = buffers.length - 1; }
    return i;
  });
  const outSlot = slotOf[ops.length - 1]!;
  const K = ops.length;
  const SHAPE = 1 + K, STRIDE = SHAPE + R, EXTRA = STRIDE + K * R;
  const words = EXTRA + (ew.extra?.length ?? 0);
  const meta = new Uint32Array(words);
  meta[0] = n;
  ops.forEach((t, k) => { meta[1 + k] = t.offset; });
  shape.forEach((d, i) => { meta[SHAPE + i] = d; });
  strides.forEach((s, k) => s.forEach((v, i) => { meta[STRIDE + k * R + i] = v; }));
  ew.extra?.forEach((v, i) => { meta[EXTRA + i] = v; });
  const key = `ew:${ew.key}:${ops.map((t) => t.dtype).join(',')}:${R}:${slotOf.join('')}:${words}`;
  const wgsl = () => {
    const decl = buffers.map((_, s) => {
      const dtype = ops[slotOf.indexOf(s)]!.dtype;
      const access = s === outSlot ? 'read_write' : 'read';
      return `@group(0) @binding(${s}) var<storage, ${access}> b${s}: array<${wgslType(dtype)}>;`;
    }).join('\n');
    const idx: string[] = [];
    for (let k = 0; k < K; k++) idx.push(`var o${k} = M(${1 + k}u);`);
    idx.push('var rem = i;');
    for (let d = R - 1; d >= 0; d--) {
      const c = d === 0 ? 'rem' : `rem % M(${SHAPE + d}u)`;
      idx.push(`{ let c = ${c};${d > 0 ? ` rem = rem / M(${SHAPE + d}u);` : ''}`);
      for (let k = 0; k < K; k++) idx.push(`  o${k} += c * M(${STRIDE + k * R + d}u);`);
      idx.push('}');
    }
    const loads = ew.inputs.map((_, k) => `let in${k} = b${slotOf[k]}[o${k}];`).join('\n  ');
    const body = ew.body.replaceAll('EXTRA', String(EXTRA));
    const helpers = /erfc|geluTanhGrad|isNan|powf/.test(body) ? WGSL_HELPERS : '';
    return `${decl}
${metaWgsl(buffers.length, words)}${helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= M(0u)) { return; }
  ${idx.join('\n  ')}
  ${loads}
  var v: ${ew.vType};
  ${body}
  b${outSlot}[o${K - 1}] = ${convert('v', ew.vType, ew.out.dtype)};
}
`;
  };
  gb.dispatch(key, wgsl, buffers, meta, grid1d(Math.ceil(n / WG)));
}

/** The f32 value of a loaded input of this dtype. */
const asF32 = (name: string, dtype: DType) => (dtype === 'float32' ? name : `f32(${name})`);

export function copy(b: Backend, src: TensorInfo, dst: TensorInfo): void {
  if (src.dtype !== dst.dtype) { cast(b, src, dst); return; }
  runElementwise(b, { key: 'copy', inputs: [src], out: dst, body: 'v = in0;', vType: wgslType(dst.dtype) });
}

export function cast(b: Backend, src: TensorInfo, dst: TensorInfo): void {
  // f32 → i32 truncates toward zero (WGSL's conversion), as torch's .int().
  runElementwise(b, { key: 'cast', inputs: [src], out: dst, body: 'v = in0;', vType: wgslType(src.dtype) });
}

export function fill(b: Backend, dst: TensorInfo, value: number): void {
  const t = wgslType(dst.dtype);
  runElementwise(b, { key: 'fill', inputs: [], out: dst, body: `v = bitcast<${t}>(M(EXTRAu));`, vType: t, extra: [bitsOf(value, dst.dtype)] });
}

export function unary(b: Backend, op: string, x: TensorInfo, out: TensorInfo): void {
  const spec = UNARY[op];
  if (spec === undefined) throw new Error(`unary op '${op}' is not defined`);
  runElementwise(b, { key: `u.${op}`, inputs: [x], out, body: `let x = ${asF32('in0', x.dtype)};\n  v = ${spec.wgsl};`, vType: 'f32' });
}

export function binary(b: Backend, op: string, a: TensorInfo, c: TensorInfo, out: TensorInfo): void {
  const spec = BINARY[op];
  if (spec === undefined) throw new Error(`binary op '${op}' is not defined`);
  runElementwise(b, {
    key: `b.${op}`, inputs: [a, c], out, vType: 'f32',
    body: `let a = ${asF32('in0', a.dtype)};\n  let b = ${asF32('in1', c.dtype)};\n  v = ${spec.wgsl};`,
  });
}

export function binaryScalar(b: Backend, op: string, a: TensorInfo, scalar: number, scalarFirst: boolean, out: TensorInfo): void {
  const spec = BINARY[op];
  if (spec === undefined) throw new Error(`binary op '${op}' is not defined`);
  const x = asF32('in0', a.dtype), s = 'MF(EXTRAu)';
  runElementwise(b, {
    key: `bs.${op}.${scalarFirst ? 1 : 0}`, inputs: [a], out, vType: 'f32', extra: [bitsOf(scalar, 'float32')],
    body: `let a = ${scalarFirst ? s : x};\n  let b = ${scalarFirst ? x : s};\n  v = ${spec.wgsl};`,
  });
}

export function where(b: Backend, cond: TensorInfo, a: TensorInfo, c: TensorInfo, out: TensorInfo): void {
  runElementwise(b, {
    key: 'where', inputs: [cond, a, c], out, vType: wgslType(a.dtype),
    body: `v = select(in2, in1, in0 != ${wgslType(cond.dtype)}(0));`,
  });
}

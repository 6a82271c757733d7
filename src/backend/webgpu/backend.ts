/// <reference types="@webgpu/types" />
// The WebGPU backend: a thin runtime. It owns buffers (pooled by size), compiles WGSL into cached
// pipelines, and records dispatches into one command encoder that it submits in batches.
//
// Storage layout: float32 as f32, int32 as i32, bool as u32 (0/1, four bytes per element: WGSL has
// no 8-bit storage type, and packing four bools per word would make every write a read-modify-write
// race between threads). upload/download convert bools between Uint8Array and u32.
//
// Ordering: kernels only record work; everything reaches the GPU in program order because
//  - dispatches go into one encoder, submitted by flush() (at the end of the current JS task via a
//    microtask, and before any upload or download);
//  - upload() flushes first, so queue.writeBuffer cannot overtake a recorded dispatch that reads a
//    pooled buffer's previous contents;
//  - a buffer released to the pool while a recorded dispatch still uses it is safe to hand out
//    again: the new owner's work is recorded after, and the queue runs it after.

import type { Backend, MemoryInfo, Storage } from '../backend.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import { acquireDevice } from './device.js';

// GPUBufferUsage / GPUMapMode values, spelled out: in Node the globals exist only if the caller
// installed the package's `globals`, and this module must not depend on that.
const USAGE_MAP_READ = 0x0001, USAGE_COPY_SRC = 0x0004, USAGE_COPY_DST = 0x0008, USAGE_UNIFORM = 0x0040, USAGE_STORAGE = 0x0080;
const MAP_READ = 0x0001;

/** The index kernels, numbered from 1 in the op code of indexErrors. */
export const INDEX_OPS = ['indexSelect', 'indexAdd', 'gather', 'scatterAdd'] as const;
const INDEX_ERROR_BYTES = 32;
/** Index dispatches whose description is kept (a ring): enough for any realistic gap between reads. */
const INDEX_CONTEXTS = 4096;

/** Uniform data of one batch of dispatches; each dispatch's block starts on a 256-byte boundary. */
const ARENA_BYTES = 64 * 1024;

export class GpuStorage implements Storage {
  refs = 0;
  released = false;
  constructor(readonly backend: WebGPUBackend, readonly dtype: DType, readonly size: number,
              readonly buffer: GPUBuffer, readonly bytes: number) {}
}

export type Grid = readonly [number, number, number];

interface Kernel { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

/** Pool buckets: sizes round up to a quarter of their power of two, so reuse is likely and waste ≤ 25%. */
function bucketBytes(bytes: number): number {
  if (bytes <= 256) return 256;
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 2);
  return Math.ceil(bytes / step) * step;
}

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  /** Free buffers by size. */
  private pool = new Map<number, GPUBuffer[]>();
  private readPool = new Map<number, GPUBuffer[]>();
  private poolBytes = 0;
  private liveBytes = 0;
  private peakBytes = 0;
  private live = 0;
  private kernels = new Map<string, Kernel>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arena = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  /**
   * Uniform buffers of the encoder being recorded: when one arena's worth fills, its bytes go to
   * the current buffer and recording goes on into the next, so a whole training step stays one
   * command buffer (one submit) however many dispatches it has.
   */
  private uniformBuffers: GPUBuffer[] = [];
  private uniformIndex = 0;
  private flushQueued = false;
  /** Dispatches recorded since creation (for tests and benchmarks). */
  dispatches = 0;
  /** Command buffers submitted since creation (for tests: one per step where nothing is read back). */
  submits = 0;
  /** The first error the device reported; thrown by the next download or sync. */
  private deviceError: string | null = null;

  /**
   * The first out-of-range index an index kernel met (indexing.ts): [count, op code, value, dim
   * size, context id]. A kernel cannot throw, so the next download reports it (as CUDA's
   * device-side asserts) and clears it; the kernel itself skips the bad index.
   */
  readonly indexErrors: GPUBuffer;
  /** What each recent index dispatch was given ("input [3,2], index [2]"), by context id, for that report. */
  private indexContexts = new Array<string>(INDEX_CONTEXTS);
  private nextIndexContext = 0;

  private constructor(readonly device: GPUDevice, readonly adapter: string) {
    this.indexErrors = device.createBuffer({ size: INDEX_ERROR_BYTES, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
    device.onuncapturederror = (ev) => { this.deviceError ??= ev.error.message; };
    void device.lost.then((info) => { this.deviceError ??= `device lost: ${info.message}`; });
  }

  static async create(): Promise<WebGPUBackend> {
    const { device, adapter } = await acquireDevice();
    return new WebGPUBackend(device, adapter);
  }

  get limits(): GPUSupportedLimits { return this.device.limits; }

  // ---- memory ----

  alloc(dtype: DType, size: number): GpuStorage {
    // A kernel binds a whole tensor, so each must fit one binding and one buffer: say which limit,
    // rather than let the device fail. The pool's rounding never crosses maxBufferSize.
    const { maxStorageBufferBindingSize: maxBinding, maxBufferSize } = this.device.limits;
    for (const [name, limit] of [['maxStorageBufferBindingSize', maxBinding], ['maxBufferSize', maxBufferSize]] as const) {
      if (size * 4 > limit) {
        throw new Error(`webgpu: a ${dtype} tensor of ${size} elements (${size * 4} bytes) exceeds this adapter's ${name} of ${limit} bytes`);
      }
    }
    const bytes = Math.min(bucketBytes(size * 4), maxBufferSize);
    let buffer = this.pool.get(bytes)?.pop();
    if (buffer !== undefined) this.poolBytes -= bytes;
    else buffer = this.device.createBuffer({ size: bytes, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
    this.live++;
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return new GpuStorage(this, dtype, size, buffer, bytes);
  }

  release(storage: Storage): void {
    const s = storage as GpuStorage;
    if (s.released) return;
    s.released = true;
    this.live--;
    this.liveBytes -= s.bytes;
    this.poolBytes += s.bytes;
    let list = this.pool.get(s.bytes);
    if (list === undefined) this.pool.set(s.bytes, list = []);
    list.push(s.buffer);
  }

  /** Destroys the pooled (free) buffers, giving their memory back to the driver. */
  emptyPool(): void {
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    for (const list of this.readPool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.readPool.clear();
    this.poolBytes = 0;
  }

  memory(): MemoryInfo {
    return { bytesInUse: this.liveBytes, poolBytes: this.poolBytes, storages: this.live, peakBytes: this.peakBytes };
  }

  resetPeakMemory(): void {
    this.peakBytes = this.liveBytes;
  }

  upload(storage: Storage, data: TypedArray): void {
    const s = storage as GpuStorage;
    if (data.length > s.size) throw new Error(`webgpu upload: ${data.length} values do not fit a storage of ${s.size}`);
    let src: Float32Array | Int32Array | Uint32Array = data instanceof Uint8Array ? Uint32Array.from(data) : data;
    // Dawn reads from the JS heap; views of shared memory (the cpu backend's heap) are copied first.
    if (!(src.buffer instanceof ArrayBuffer)) src = src.slice();
    this.flush();
    this.device.queue.writeBuffer(s.buffer, 0, src.buffer, src.byteOffset, src.byteLength);
  }

  async download(storage: Storage): Promise<TypedArray> {
    const s = storage as GpuStorage;
    const bytes = s.size * 4;
    if (bytes === 0) return s.dtype === 'float32' ? new Float32Array(0) : s.dtype === 'int32' ? new Int32Array(0) : new Uint8Array(0);
    // The index-error words ride along after the data, in the same staging buffer.
    const total = bytes + INDEX_ERROR_BYTES;
    const size = bucketBytes(total);
    const staging = this.readPool.get(size)?.pop() ?? this.device.createBuffer({ size, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    this.encoder.copyBufferToBuffer(this.indexErrors, 0, staging, bytes, INDEX_ERROR_BYTES);
    this.flush();
    try {
      await staging.mapAsync(MAP_READ, 0, total);
    } catch (err) {
      this.checkError();
      throw err;
    }
    const mapped = staging.getMappedRange(0, total);
    const raw = mapped.slice(0, bytes);
    const indexError = Array.from(new Int32Array(mapped, bytes, INDEX_ERROR_BYTES / 4));
    staging.unmap();
    let list = this.readPool.get(size);
    if (list === undefined) this.readPool.set(size, list = []);
    list.push(staging);
    this.checkError();
    if (indexError[0] !== 0) {
      this.device.queue.writeBuffer(this.indexErrors, 0, new Uint32Array(INDEX_ERROR_BYTES / 4));
      const [, op, value, dimSize, ctx] = indexError as [number, number, number, number, number];
      const age = (this.nextIndexContext - (ctx >>> 0)) >>> 0;
      const where = age > 0 && age <= INDEX_CONTEXTS ? ` (${this.indexContexts[(ctx >>> 0) % INDEX_CONTEXTS]})` : '';
      throw new Error(`${INDEX_OPS[op - 1] ?? 'an index kernel'}: index ${value} is out of range for a dimension of size ${dimSize}${where}; ` +
        'found on webgpu by a kernel queued before this read, which skipped the index');
    }
    if (s.dtype === 'float32') return new Float32Array(raw);
    if (s.dtype === 'int32') return new Int32Array(raw);
    return Uint8Array.from(new Uint32Array(raw));
  }

  /** Records what an index dispatch was given; its id goes into the kernel's uniforms, for an error report. */
  indexContext(description: string): number {
    const id = this.nextIndexContext;
    this.indexContexts[id % INDEX_CONTEXTS] = description;
    this.nextIndexContext = (id + 1) >>> 0;
    return id;
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkError();
  }

  private checkError(): void {
    // Reported once: a broken pipeline reports again each time it is used.
    const msg = this.deviceError;
    this.deviceError = null;
    if (msg !== null) throw new Error(`webgpu: ${msg}`);
  }

  // ---- kernels ----

  /** The pipeline for `key`, compiled from wgsl() the first time. */
  private kernel(key: string, wgsl: () => string): Kernel {
    let k = this.kernels.get(key);
    if (k === undefined) {
      const module = this.device.createShaderModule({ code: wgsl(), label: key });
      const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      k = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.kernels.set(key, k);
    }
    return k;
  }

  /**
   * Records one dispatch. Bindings 0..n-1 are the storage buffers in order; if `meta` is given it
   * is binding n, a uniform block of vec4<u32> (callers size their WGSL struct with metaVec4s).
   */
  dispatch(key: string, wgsl: () => string, buffers: readonly GPUBuffer[], meta: Uint32Array | null, grid: Grid): void {
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (grid[0] > max || grid[1] > max || grid[2] > max) throw new Error(`webgpu ${key}: grid ${grid.join('×')} exceeds ${max} workgroups per dimension`);
    const k = this.kernel(key, wgsl);
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    if (meta !== null) {
      const size = metaVec4s(meta.length) * 16;
      if (this.arenaUsed + size > ARENA_BYTES) this.nextUniforms();
      const at = this.arenaUsed;
      new Uint32Array(this.arena.buffer, at, meta.length).set(meta);
      this.arenaUsed = Math.ceil((at + size) / 256) * 256;
      entries.push({ binding: buffers.length, resource: { buffer: this.uniforms(), offset: at, size } });
    }
    const group = this.device.createBindGroup({ layout: k.layout, entries });
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(k.pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.dispatches++;
    if (!this.flushQueued) {
      // Work recorded during this JS task reaches the GPU when the task ends, even if nothing reads it.
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** The uniform buffer the arena is written to at the end of this encoder's recording. */
  private uniforms(): GPUBuffer {
    let b = this.uniformBuffers[this.uniformIndex];
    if (b === undefined) {
      b = this.device.createBuffer({ size: ARENA_BYTES, usage: USAGE_UNIFORM | USAGE_COPY_DST });
      this.uniformBuffers.push(b);
    }
    return b;
  }

  /** The arena is full: its bytes go to the current uniform buffer (queued before the submit that reads them). */
  private nextUniforms(): void {
    this.device.queue.writeBuffer(this.uniforms(), 0, this.arena.buffer, 0, this.arenaUsed);
    this.uniformIndex++;
    this.arenaUsed = 0;
  }

  private endPass(): void {
    if (this.pass !== null) { this.pass.end(); this.pass = null; }
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.flushQueued = false;
    if (this.encoder === null) return;
    this.endPass();
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.uniforms(), 0, this.arena.buffer, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.encoder = null;
    this.arenaUsed = 0;
    // The queue runs later writes after this submit's reads, so the buffers serve the next encoder.
    this.uniformIndex = 0;
  }
}

/** vec4<u32> slots needed for `words` u32 values. */
export function metaVec4s(words: number): number {
  return Math.max(1, Math.ceil(words / 4));
}

/** WGSL declaring the uniform block at `binding` and M(i), its i-th u32. */
export function metaWgsl(binding: number, words: number): string {
  return `struct Meta { v: array<vec4<u32>, ${metaVec4s(words)}> }
@group(0) @binding(${binding}) var<uniform> U: Meta;
fn M(i: u32) -> u32 { return U.v[i >> 2u][i & 3u]; }
fn MF(i: u32) -> f32 { return bitcast<f32>(M(i)); }
`;
}

/** A 1-D count of workgroups spread over x and y (x at most 65535), for kernels that index linearly. */
export function grid1d(groups: number): Grid {
  if (groups === 0) return [0, 1, 1];
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}

/** The f32 bit pattern of v, as a u32 for a uniform block. */
const f32Bits = new Float32Array(1), f32Word = new Uint32Array(f32Bits.buffer);
export function bitsOf(v: number, dtype: DType): number {
  if (dtype === 'float32') { f32Bits[0] = v; return f32Word[0]!; }
  if (dtype === 'bool') return v ? 1 : 0;
  return (Math.trunc(v) | 0) >>> 0;
}

export function wgslType(dtype: DType): 'f32' | 'i32' | 'u32' {
  return dtype === 'float32' ? 'f32' : dtype === 'int32' ? 'i32' : 'u32';
}

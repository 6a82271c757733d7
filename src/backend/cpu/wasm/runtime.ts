// The WASM kernels of one cpu backend: the module instantiated on the backend's shared memory, the
// thread pool that runs jobs over it, and small helpers the kernels share (pointers, scratch).

import type { TensorInfo } from '../../backend.js';
import type { CpuBackend, CpuStorage } from '../backend.js';
import { ThreadPool } from '../threads/pool.js';
import type { JobFn, JobName } from '../threads/protocol.js';
import { kernelModule } from './loader.js';
import { nativeJob, nativeKernels, nativeKernelsOrNotice, type NativeKernels } from '../native.js';
import { namedKernels } from '../kernel_env.js';
import { sharedMemoryAvailable } from '../heap.js';

/** The module's exports (see assembly/index.ts); parallel ones take (start, end, tid, ...args). */
export type Exports = Record<JobName, JobFn> & {
  layerNormReduce(part: number, parts: number, n: number, gw: number, gb: number): void;
  quantPrepareX(x: number, M: number, K: number, bits: number, out: number, scales: number): void;
};

const MAX_THREADS = 64;
/** Below this many estimated microseconds of work a kernel runs on the calling thread alone. */
const PARALLEL_MIN_US = 20;

function defaultThreads(): number {
  const env = Number(globalThis.process?.env?.TLM_NUM_THREADS);
  if (Number.isInteger(env) && env >= 1) return Math.min(env, MAX_THREADS);
  const os = globalThis.process?.getBuiltinModule?.('node:os') as typeof import('node:os') | undefined;
  if (os) return Math.min(os.availableParallelism?.() ?? 1, MAX_THREADS);
  // A browser: one thread unless the page is cross-origin isolated (no shared memory otherwise).
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return sharedMemoryAvailable() ? Math.min(Math.max(cores, 1), MAX_THREADS) : 1;
}

let numThreads = defaultThreads();
/** Whether the native kernels (where they load) take the operations they have. */
let nativeWanted = (namedKernels() ?? 'native') === 'native';
export function setNativeWanted(on: boolean): void { nativeWanted = on; }
export function nativeInUse(): boolean { return nativeWanted && nativeKernels() !== null; }
const runtimes = new Set<WasmRuntime>();

export class WasmRuntime {
  readonly x: Exports;
  private pool: ThreadPool | null = null;
  /** 128-byte edge tiles, one per thread. */
  readonly tiles: number;
  /** 4 bytes for a scalar operand (binaryScalar). */
  readonly scalar: number;
  /** 128 bytes for the attention kernels' layout descriptor (one job runs at a time). */
  readonly desc: number;

  constructor(readonly backend: CpuBackend, private readonly module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, { env: { memory: backend.heap.memory } });
    // 'native' runs a plan of the native kernels: the same threads run both kernel sets.
    this.x = { ...instance.exports, native: nativeJob } as unknown as Exports;
    this.tiles = backend.heap.alloc(MAX_THREADS * 128 + 64 + 128).ptr;
    this.scalar = this.tiles + MAX_THREADS * 128;
    this.desc = this.scalar + 64;
    runtimes.add(this);
  }

  /** Threads a parallel job may use (the calling thread included): per-thread scratch is sized by it. */
  get threads(): number {
    return numThreads;
  }

  private heapView: Float32Array | null = null;
  /** The native kernels when they are wanted and loaded, else null (the first time, saying why on stderr). */
  get native(): NativeKernels | null {
    return nativeWanted ? nativeKernelsOrNotice() : null;
  }
  /** The whole heap as floats, for the native kernels (remade when the memory grows). */
  heapF32(): Float32Array {
    const buf = this.backend.heap.buffer;
    if (this.heapView === null || this.heapView.buffer !== buf) this.heapView = new Float32Array(buf);
    return this.heapView;
  }

  private getPool(): ThreadPool | null {
    if (numThreads <= 1) return null;
    if (this.pool === null || this.pool.size !== numThreads) {
      void this.pool?.shutdown();
      this.pool = new ThreadPool(numThreads, this.module, this.backend.heap.memory, this.x);
    }
    return this.pool;
  }

  /** Items run by worker threads of the current pool (a statistic for tests). */
  get workerItems(): number {
    return this.pool?.workerItems ?? 0;
  }

  /** Waits until every worker is up (only tests need this: jobs run before that, on fewer threads). */
  async ready(): Promise<void> {
    await this.getPool()?.ready;
  }

  /**
   * Runs job `name` over items [0, n): on the calling thread alone when the work (estimated
   * microseconds on one thread) is too small to pay for waking the workers.
   */
  run(name: JobName, n: number, us: number, args: readonly number[], chunk = 0): void {
    if (n <= 0) return;
    const pool = us >= PARALLEL_MIN_US && n > 1 ? this.getPool() : null;
    if (pool === null) { this.x[name](0, n, 0, ...args); return; }
    pool.run(name, n, chunk > 0 ? chunk : Math.max(1, Math.ceil(n / (pool.threads * 4))), args);
  }

  /** A scratch block of the heap (not a tensor); give it back with free(). */
  alloc(bytes: number): { ptr: number; bytes: number } {
    return this.backend.heap.alloc(bytes);
  }

  free(block: { ptr: number; bytes: number }): void {
    this.backend.heap.release(block.ptr, block.bytes);
  }

  shutdown(): Promise<void> {
    const p = this.pool?.shutdown() ?? Promise.resolve();
    this.pool = null;
    return p;
  }
}

/** Byte address of a tensor view's first element in the heap. */
export function ptr(t: TensorInfo): number {
  const s = t.storage as CpuStorage;
  return s.ptr + t.offset * (t.dtype === 'bool' ? 1 : 4);
}

const byBackend = new WeakMap<CpuBackend, WasmRuntime>();

/** The runtime of this backend, or null while the module is not loaded (in a browser it may arrive later). */
export function runtimeFor(b: CpuBackend): WasmRuntime | null {
  let r = byBackend.get(b);
  if (r === undefined) {
    const module = kernelModule();
    if (module === null) return null;
    r = new WasmRuntime(b, module);
    byBackend.set(b, r);
  }
  return r;
}

/** Sets the thread count of every runtime (pools restart lazily with the new size). */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setCpuThreads: expected a positive integer, got ${n}`);
  numThreads = Math.min(n, MAX_THREADS);
  for (const r of runtimes) void r.shutdown();
}

export function getThreads(): number {
  return numThreads;
}

/** Stops every worker (they never keep the process alive; this is for a clean, explicit exit). */
export async function shutdownThreads(): Promise<void> {
  await Promise.all([...runtimes].map((r) => r.shutdown()));
}

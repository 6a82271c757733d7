// The contract between tensors and the machines that hold their numbers.
//
// A Backend owns memory (Storage) and moves bytes in and out of it. Kernels, registered per
// (kernel, backend) in registry.ts, do the arithmetic. Tensors above never touch a typed array of
// another backend: everything they do goes through these two interfaces, which is what lets an
// asynchronous GPU backend sit beside the CPU one.

import type { DType, TypedArray } from '../tensor/dtype.js';

export interface Storage {
  readonly backend: Backend;
  readonly dtype: DType;
  /** Elements, not bytes. */
  readonly size: number;
  /** Number of live tensors viewing this storage; released to the backend's pool at zero. */
  refs: number;
}

/** A strided view of a storage, as kernels see it. */
export interface TensorInfo {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface MemoryInfo {
  /** Bytes held by live storages. */
  bytesInUse: number;
  /** Bytes freed into the pool, ready for reuse. */
  poolBytes: number;
  /** Live storages. */
  storages: number;
  /** The most bytesInUse has been since the backend started or resetPeakMemory (torch.cuda.max_memory_allocated). */
  peakBytes?: number;
}

export interface Backend {
  readonly name: string;
  alloc(dtype: DType, size: number): Storage;
  /** Gives the storage's memory back to the pool (called when refs reaches zero). */
  release(storage: Storage): void;
  upload(storage: Storage, data: TypedArray): void;
  download(storage: Storage): Promise<TypedArray>;
  /** Synchronous read; only backends whose memory the host can see implement it. */
  downloadSync?(storage: Storage): TypedArray;
  memory(): MemoryInfo;
  /** Starts peakBytes over from the bytes in use now (torch.cuda.reset_peak_memory_stats). */
  resetPeakMemory?(): void;
  /** Waits for queued work (GPU). */
  sync?(): Promise<void>;
}

export function isContiguous(info: { shape: readonly number[]; strides: readonly number[] }): boolean {
  let expected = 1;
  for (let i = info.shape.length - 1; i >= 0; i--) {
    const d = info.shape[i]!;
    if (d !== 1 && info.strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

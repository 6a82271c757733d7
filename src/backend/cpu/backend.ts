// The CPU backend: storages are blocks of the shared WASM heap; reads and writes are synchronous.

import type { Backend, MemoryInfo, Storage } from '../backend.js';
import { arrayType, bytesPerElement, type DType, type TypedArray } from '../../tensor/dtype.js';
import { WasmHeap } from './heap.js';

export class CpuStorage implements Storage {
  refs = 0;
  released = false;
  private cached: TypedArray | null = null;
  constructor(readonly backend: CpuBackend, readonly dtype: DType, readonly size: number,
              readonly ptr: number, readonly blockBytes: number) {}

  /**
   * A typed-array view of the whole storage (no copy). Remade if the memory grew under a view of
   * unshared memory (growing detaches an ArrayBuffer: a browser page without cross-origin isolation).
   */
  get array(): TypedArray {
    if (this.cached === null || (this.cached.length === 0 && this.size > 0)) {
      const Ctor = arrayType(this.dtype);
      this.cached = new Ctor(this.backend.heap.buffer as unknown as ArrayBuffer, this.ptr, this.size);
    }
    return this.cached;
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly heap = new WasmHeap();
  private storages = 0;

  alloc(dtype: DType, size: number): CpuStorage {
    const { ptr, bytes } = this.heap.alloc(size * bytesPerElement(dtype));
    this.storages++;
    return new CpuStorage(this, dtype, size, ptr, bytes);
  }

  release(storage: Storage): void {
    const s = storage as CpuStorage;
    if (s.released) return;
    s.released = true;
    this.storages--;
    this.heap.release(s.ptr, s.blockBytes);
  }

  upload(storage: Storage, data: TypedArray): void {
    (storage as CpuStorage).array.set(data);
  }

  downloadSync(storage: Storage): TypedArray {
    return (storage as CpuStorage).array.slice();
  }

  download(storage: Storage): Promise<TypedArray> {
    return Promise.resolve(this.downloadSync(storage));
  }

  memory(): MemoryInfo {
    const s = this.heap.stats();
    return { bytesInUse: s.bytesInUse, poolBytes: s.poolBytes, storages: this.storages, peakBytes: this.heap.peakBytesInUse };
  }

  resetPeakMemory(): void {
    this.heap.resetPeak();
  }
}

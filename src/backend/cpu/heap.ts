// The CPU backend keeps every tensor inside one shared WebAssembly.Memory, so WASM kernels and
// worker threads read and write tensors in place: no copies in or out of kernels.
//
// Allocation: a bump pointer plus free lists keyed by size class (1/8-octave steps, so a block wastes
// at most 12.5%). Freed blocks go to their class's list and are reused by the next allocation of that
// class: a training loop, which allocates the same sizes every step, reaches a steady state where
// the pool neither grows nor shrinks. A freed block merges with free neighbours (and free memory at
// the top returns to the bump region), and before the memory grows, an allocation with no block of
// its class cuts a larger one: loops whose shapes vary (seq2seq batches, generation) reuse the pool
// instead of fragmenting it.

import { namedKernels } from './kernel_env.js';
import { nativeKernels } from './native.js';

const PAGE = 65536;
const ALIGN = 64; // a cache line; also SIMD-aligned
/** The first bytes belong to the WASM kernels' own stack and statics. */
export const HEAP_BASE = 1 << 20;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

export function sizeClass(bytes: number): number {
  if (bytes <= 4096) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 8;
  return Math.ceil(bytes / step) * step;
}

/**
 * Whether memory can be shared between threads here: always in Node; in a browser only on a
 * cross-origin isolated page (COOP + COEP headers), elsewhere the heap and kernels are single-threaded.
 */
export function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top = HEAP_BASE;
  /** Free blocks by size class (a Set: a block merged with a neighbour leaves its class in O(1)). */
  private readonly free = new Map<number, Set<number>>();
  /** Every free block: start → size, and end → start, so a freed block merges with free neighbours. */
  private readonly freeAt = new Map<number, number>();
  private readonly freeEnding = new Map<number, number>();
  private poolBytes = 0;
  private liveBytes = 0;
  private peakBytes = 0;
  private liveBlocks = 0;

  constructor(initialBytes = 32 << 20) {
    const initial = Math.ceil(Math.max(initialBytes, HEAP_BASE + PAGE) / PAGE);
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: sharedMemoryAvailable() });
    this.adviseHugePages();
  }

  /**
   * 2 MiB pages where the native addon can ask for them (fewer TLB misses streaming the weights);
   * never loads the addon when TLM_CPU_KERNELS names the WebAssembly or TypeScript kernels.
   */
  private adviseHugePages(): void {
    if ((namedKernels() ?? 'native') === 'native') nativeKernels()?.adviseHugePages(new Uint8Array(this.memory.buffer));
  }

  get buffer(): SharedArrayBuffer {
    return this.memory.buffer as unknown as SharedArrayBuffer;
  }

  /**
   * Returns the byte offset of a block of at least `bytes` bytes (its size class): a pooled block of
   * that class; else fresh memory past the top while the memory has room; else, before the memory
   * grows, a larger pooled block cut to size (its rest stays pooled).
   */
  alloc(bytes: number): { ptr: number; bytes: number } {
    const size = sizeClass(Math.max(bytes, 1));
    let ptr = this.takeExact(size);
    if (ptr === null) {
      const end = this.top + size;
      if (end > this.memory.buffer.byteLength) ptr = this.takeSplit(size);
      if (ptr === null) {
        if (end > this.memory.buffer.byteLength) this.grow(end);
        ptr = this.top;
        this.top = end;
      }
    }
    this.liveBytes += size;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    this.liveBlocks++;
    return { ptr, bytes: size };
  }

  /** Returns a block to the pool, merged with free neighbours; free memory at the top goes back to the bump region. */
  release(ptr: number, size: number): void {
    this.liveBytes -= size;
    this.liveBlocks--;
    let start = ptr, end = ptr + size;
    const before = this.freeEnding.get(start);
    if (before !== undefined) { this.unpool(before); start = before; }
    const afterSize = this.freeAt.get(end);
    if (afterSize !== undefined) { this.unpool(end); end += afterSize; }
    if (end === this.top) { this.top = start; return; }
    this.pool(start, end - start);
  }

  /** The most live bytes since the heap was made or resetPeak(). */
  get peakBytesInUse(): number {
    return this.peakBytes;
  }

  /** Starts the peak of live bytes over from the live bytes now. */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  stats(): { bytesInUse: number; poolBytes: number; blocks: number; heapBytes: number } {
    return { bytesInUse: this.liveBytes, poolBytes: this.poolBytes, blocks: this.liveBlocks, heapBytes: this.top - HEAP_BASE };
  }

  private pool(ptr: number, size: number): void {
    let set = this.free.get(size);
    if (set === undefined) this.free.set(size, (set = new Set()));
    set.add(ptr);
    this.freeAt.set(ptr, size);
    this.freeEnding.set(ptr + size, ptr);
    this.poolBytes += size;
  }

  private unpool(ptr: number): number {
    const size = this.freeAt.get(ptr)!;
    const set = this.free.get(size)!;
    set.delete(ptr);
    // Split and merged blocks have any size: keep only classes that hold blocks, or takeSplit's
    // scan grows with every size ever freed (thousands in a long generation).
    if (set.size === 0) this.free.delete(size);
    this.freeAt.delete(ptr);
    this.freeEnding.delete(ptr + size);
    this.poolBytes -= size;
    return size;
  }

  private takeExact(size: number): number | null {
    const set = this.free.get(size);
    if (set === undefined || set.size === 0) return null;
    const ptr = set.values().next().value as number;
    this.unpool(ptr);
    return ptr;
  }

  /** The smallest pooled block larger than size, cut to size (the rest pooled); null if none. */
  private takeSplit(size: number): number | null {
    let best = Infinity;
    for (const cls of this.free.keys()) if (cls > size && cls < best) best = cls;
    if (best === Infinity) return null;
    const ptr = this.free.get(best)!.values().next().value as number;
    this.unpool(ptr);
    this.pool(ptr + size, best - size);
    return ptr;
  }

  private grow(end: number): void {
    const have = this.memory.buffer.byteLength;
    // Grow geometrically so that a growing model does not grow the memory once per tensor.
    const want = Math.max(end, Math.min(have * 1.5, MAX_PAGES * PAGE));
    const pages = Math.ceil((want - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) {
      throw new Error(`cpu backend: out of memory: ${(end / 2 ** 30).toFixed(2)} GiB needed, the WebAssembly heap holds at most 4 GiB`);
    }
    this.memory.grow(pages);
    this.adviseHugePages();
  }
}

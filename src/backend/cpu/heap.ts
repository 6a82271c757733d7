// The CPU backend keeps every tensor inside one shared WebAssembly.Memory, so WASM kernels and
// worker threads read and write tensors in place: no copies in or out of kernels.
//
// Allocation: a bump pointer plus free lists keyed by size class (1/8-octave steps, so a block wastes
// at most 12.5%). Freed blocks go to their class's list and are reused by the next allocation of that
// class: a training loop, which allocates the same sizes every step, reaches a steady state where
// the pool neither grows nor shrinks.

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

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top = HEAP_BASE;
  private readonly free = new Map<number, number[]>();
  private poolBytes = 0;
  private liveBytes = 0;
  private liveBlocks = 0;

  constructor(initialBytes = 32 << 20) {
    const initial = Math.ceil(Math.max(initialBytes, HEAP_BASE + PAGE) / PAGE);
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
  }

  get buffer(): SharedArrayBuffer {
    return this.memory.buffer as unknown as SharedArrayBuffer;
  }

  /** Returns the byte offset of a block of at least `bytes` bytes (its size class). */
  alloc(bytes: number): { ptr: number; bytes: number } {
    const size = sizeClass(Math.max(bytes, 1));
    const list = this.free.get(size);
    let ptr: number;
    if (list !== undefined && list.length > 0) {
      ptr = list.pop()!;
      this.poolBytes -= size;
    } else {
      ptr = this.top;
      const end = ptr + size;
      if (end > this.memory.buffer.byteLength) this.grow(end);
      this.top = end;
    }
    this.liveBytes += size;
    this.liveBlocks++;
    return { ptr, bytes: size };
  }

  release(ptr: number, size: number): void {
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(ptr);
    this.poolBytes += size;
    this.liveBytes -= size;
    this.liveBlocks--;
  }

  stats(): { bytesInUse: number; poolBytes: number; blocks: number; heapBytes: number } {
    return { bytesInUse: this.liveBytes, poolBytes: this.poolBytes, blocks: this.liveBlocks, heapBytes: this.top - HEAP_BASE };
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
  }
}

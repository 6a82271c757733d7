// The CPU heap's allocator: exact-class reuse in steady state, freed neighbours merged, free memory
// at the top returned, and larger pooled blocks cut to size before the memory grows — so loops whose
// shapes vary do not fragment the pool until the 4 GiB heap runs out.

import test from 'node:test';
import assert from 'node:assert/strict';
import { WasmHeap, HEAP_BASE, sizeClass } from '../src/backend/cpu/heap.js';

test('exact-class reuse, merging of neighbours, and the top returned', () => {
  const h = new WasmHeap(4 << 20);
  const a = h.alloc(1000), b = h.alloc(1000), c = h.alloc(1000);
  assert.equal(a.ptr, HEAP_BASE);
  h.release(b.ptr, b.bytes);
  assert.equal(h.alloc(1000).ptr, b.ptr, 'the same class reuses the freed block');
  h.release(b.ptr, b.bytes);
  h.release(a.ptr, a.bytes);
  assert.equal(h.stats().poolBytes, a.bytes + b.bytes, 'a and b merged into one pooled block');
  h.release(c.ptr, c.bytes);
  assert.deepEqual(h.stats(), { bytesInUse: 0, poolBytes: 0, blocks: 0, heapBytes: 0 }, 'everything back to the bump region');
});

test('shapes that vary reuse the pool: a larger block is cut to size before the memory grows', () => {
  const h = new WasmHeap(4 << 20);
  const cap = h.memory.buffer.byteLength;
  // Fill the memory, free one big block in the middle, then ask for many smaller, different sizes.
  const big = h.alloc(1 << 20), keep = h.alloc(64);
  const rest: { ptr: number; bytes: number }[] = [];
  while (h.stats().heapBytes + HEAP_BASE + 65536 <= cap) rest.push(h.alloc(65536));
  while (h.stats().heapBytes + HEAP_BASE + 64 <= cap) rest.push(h.alloc(64));
  h.release(big.ptr, big.bytes);
  const got = [1000, 5000, 30000, 70000, 200000].map((n) => h.alloc(n));
  assert.equal(h.memory.buffer.byteLength, cap, 'no growth: the freed block served them all');
  for (const g of got) assert.ok(g.ptr >= big.ptr && g.ptr + g.bytes <= big.ptr + big.bytes);
  for (const g of got) h.release(g.ptr, g.bytes);
  assert.equal(h.stats().poolBytes, big.bytes, 'the pieces merge back into one block');
  for (const r of rest) h.release(r.ptr, r.bytes);
  h.release(keep.ptr, keep.bytes);
  assert.equal(h.stats().heapBytes, 0);
  assert.equal(sizeClass(1000), 1024);
});

test('the free lists keep only sizes that hold blocks: cutting and merging many sizes leaves no empty classes behind', () => {
  // A generation loop cuts a pooled block to ever new sizes (the KV cache grows by one position per
  // step); every size it ever freed must not stay in the lists, or each cut scans them all.
  const h = new WasmHeap(4 << 20);
  const cap = h.memory.buffer.byteLength;
  const big = h.alloc(1 << 20), keep = h.alloc(64);
  const rest: { ptr: number; bytes: number }[] = [];
  while (h.stats().heapBytes + HEAP_BASE + 65536 <= cap) rest.push(h.alloc(65536));
  while (h.stats().heapBytes + HEAP_BASE + 64 <= cap) rest.push(h.alloc(64));
  h.release(big.ptr, big.bytes);
  for (let step = 1; step <= 300; step++) {
    const a = h.alloc(64 * step + 8), b = h.alloc(3000 + 37 * step);
    h.release(a.ptr, a.bytes);
    h.release(b.ptr, b.bytes);
  }
  const lists = (h as unknown as { free: Map<number, Set<number>> }).free;
  assert.equal(lists.size, 1, 'one size class: the one merged block');
  assert.ok([...lists.values()].every((s) => s.size > 0));
  assert.equal(h.stats().poolBytes, big.bytes);
  assert.equal(h.memory.buffer.byteLength, cap);
  for (const r of rest) h.release(r.ptr, r.bytes);
  h.release(keep.ptr, keep.bytes);
  assert.equal(lists.size, 0);
});

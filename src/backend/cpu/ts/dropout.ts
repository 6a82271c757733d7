// The inverted-dropout mask (registry.ts: dropoutMask) from the counter-based generator, the same
// bits as the webgpu kernel's.

import type { Backend, TensorInfo } from '../../backend.js';
import { counterHash } from '../../random_hash.js';
import { arr } from './elementwise.js';

export function dropoutMask(_b: Backend, out: TensorInfo, p: number, key0: number, key1: number): void {
  const O = arr(out) as Float32Array, n = out.shape.reduce((a, d) => a * d, 1);
  const keep = Math.fround(1 / (1 - p)), drop = Math.fround(p);
  for (let i = 0; i < n; i++) O[out.offset + i] = (counterHash(i, key0, key1) >>> 8) / 16777216 < drop ? 0 : keep;
}

// Helpers every op uses: output allocation, views, kernel lookup, device checks.

import type { Backend } from '../../backend/backend.js';
import { getKernel, type KernelMap, type KernelName } from '../../backend/registry.js';
import { assertDType, type DType } from '../dtype.js';
import { backend as currentBackend, findBackend } from '../engine.js';
import { contiguousStrides } from '../shape.js';
import { Tensor } from '../tensor.js';

/** A new contiguous tensor with uninitialised values. */
export function empty(shape: readonly number[], dtype: DType = 'float32', b: Backend = currentBackend()): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  // Every op allocates here: a shape computed wrong upstream (NaN, negative, fractional) must stop
  // with an error, not reach the allocator (a NaN size would corrupt the cpu heap's bump pointer).
  if (!Number.isSafeInteger(n) || n < 0 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`empty: invalid shape [${shape.join(',')}]`);
  }
  assertDType(dtype);
  return new Tensor(b.alloc(dtype, n), shape.slice(), contiguousStrides(shape), 0);
}

/** A view sharing t's storage. */
export function viewOf(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(t.storage, shape, strides, offset);
}

/** The backend all inputs live on; an error naming the op if they differ. */
export function deviceOf(op: string, ...ts: Tensor[]): Backend {
  const b = ts[0]!.storage.backend;
  for (let i = 1; i < ts.length; i++) {
    const other = ts[i]!.storage.backend;
    if (other !== b) throw new Error(`${op}: tensors are on different devices (${b.name} and ${other.name})`);
  }
  return b;
}

export function kernel<K extends KernelName>(name: K, b: Backend): KernelMap[K] {
  return getKernel(name, b.name);
}

export function backendNamed(name: string): Backend {
  return findBackend(name);
}

export function requireFloat(op: string, t: Tensor): void {
  if (t.dtype !== 'float32') throw new Error(`${op}: expected a float32 tensor, got ${t.dtype} ${'[' + t.shape.join(',') + ']'}`);
}

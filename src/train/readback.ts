// Reading scalars (losses) back from the device. A training loop or an evaluation keeps its losses
// as tensors and reads them together, in one transfer: on a GPU the host waits once per log line or
// evaluation, not once per step or batch. On cpu the read is a copy; the numbers are the same either way.

import { noGrad, tidy } from '../tensor/engine.js';
import { cat } from '../tensor/ops/indexing.js';
import type { Tensor } from '../tensor/tensor.js';

/** The values of one-element tensors, in order, read in one transfer; the tensors are disposed. */
export async function readScalarsAndDispose(scalars: readonly Tensor[]): Promise<number[]> {
  if (scalars.length === 0) return [];
  try {
    for (const s of scalars) if (s.numel !== 1) throw new Error(`readScalarsAndDispose: expected one-element tensors, got ${s.describe()}`);
    const joined = scalars.length === 1 ? scalars[0]! : noGrad(() => tidy(() => cat(scalars.map((s) => s.reshape(1)))));
    try {
      return Array.from(await joined.data(), Number);
    } finally {
      if (joined !== scalars[0]) joined.dispose();
    }
  } finally {
    for (const s of scalars) s.dispose();
  }
}

// Reading the PyTorch fixtures written by scripts/gen_fixtures.py (never run by the tests).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, type Tensor } from '../../src/index.js';
import { assertClose } from './assert.js';

export interface Encoded { shape: number[]; dtype: 'float32' | 'int32' | 'bool'; data: number[] }
export interface FixtureCase {
  name: string;
  args: Record<string, unknown>;
  inputs: Record<string, Encoded>;
  output: Encoded;
  upstream: Encoded;
  grads: Record<string, Encoded>;
}
export interface Fixture { op: string; torch: string; cases: FixtureCase[] }

export function loadFixture(op: string): Fixture {
  // Tests run from the repo root (npm test, node --test), so fixtures resolve from cwd.
  return JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'ops', `${op}.json`), 'utf8')) as Fixture;
}

export function fromEncoded(e: Encoded, requiresGrad = false): Tensor {
  const data = e.dtype === 'int32' ? Int32Array.from(e.data) : e.dtype === 'bool' ? Uint8Array.from(e.data) : Float32Array.from(e.data);
  return tensor(data, { shape: e.shape, dtype: e.dtype, requiresGrad: requiresGrad && e.dtype === 'float32' });
}

/**
 * The fixture tolerance: 1e-5 relative, where "relative" is measured against max(|expected|, floor)
 * with floor = 1e-3 × the largest |expected| in the tensor. Elements a thousand times smaller than
 * their tensor's scale come out of cancellation (a matmul row that sums to ~0, a softmax gradient
 * whose terms nearly cancel), where float32 can only promise an absolute error of a few ulps of the
 * terms; for them the check is an absolute 1e-8 × scale.
 */
export const FIXTURE_RTOL = 1e-5;
export const FIXTURE_FLOOR = 1e-3;

/** Worst relative error per fixture file, for the report printed at the end of a run. */
export const worstErrors = new Map<string, number>();

export async function expectFixture(t: Tensor, e: Encoded, what: string, file: string): Promise<number> {
  if (t.shape.join(',') !== e.shape.join(',')) throw new Error(`${what}: shape [${t.shape}] differs from torch's [${e.shape}]`);
  const scale = e.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const err = assertClose(await t.data(), e.data, FIXTURE_RTOL, what, Math.max(FIXTURE_FLOOR * scale, 1e-30));
  worstErrors.set(file, Math.max(worstErrors.get(file) ?? 0, err));
  return err;
}

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
 * with floor = 1e-2 × the largest |expected| in the tensor. Elements below 1% of their tensor's
 * scale come out of cancellation (a softmax gradient's terms, log-softmax of large logits, b + w·x̂
 * near zero), where float32 can promise only an absolute error of a few ulps of the scale; for them
 * the check is absolute: 1e-7 × scale, about 2 float32 ulps. (The WASM kernels, which accumulate in
 * float32, stay within half of that; a floor of 1e-3 would accept only float64 accumulation.)
 */
export const FIXTURE_RTOL = 1e-5;
export const FIXTURE_FLOOR = 1e-2;

/** Worst relative error per fixture file, for the report printed at the end of a run. */
export const worstErrors = new Map<string, number>();

export async function expectFixture(t: Tensor, e: Encoded, what: string, file: string): Promise<number> {
  if (t.shape.join(',') !== e.shape.join(',')) throw new Error(`${what}: shape [${t.shape}] differs from torch's [${e.shape}]`);
  const scale = e.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const err = assertClose(await t.data(), e.data, FIXTURE_RTOL, what, Math.max(FIXTURE_FLOOR * scale, 1e-30));
  worstErrors.set(file, Math.max(worstErrors.get(file) ?? 0, err));
  return err;
}

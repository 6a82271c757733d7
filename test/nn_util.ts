// Helpers for the nn and models tests: reading the layer fixtures and measuring relative error.
import fs from 'node:fs';
import path from 'node:path';
import { tensor, type Tensor } from '../src/index.js';

export interface FixtureTensor { shape: number[]; dtype: 'float32' | 'int32' | 'bool'; data: (number | string)[] }

export function fromFixture(t: FixtureTensor, requiresGrad = false): Tensor {
  if (t.dtype === 'bool') return tensor(Uint8Array.from(t.data as number[]), { shape: t.shape, dtype: 'bool' });
  if (t.dtype === 'int32') return tensor(Int32Array.from(t.data as number[]), { shape: t.shape, dtype: 'int32' });
  const v = Float32Array.from(t.data, (x) => (x === 'inf' ? Infinity : x === '-inf' ? -Infinity : (x as number)));
  return tensor(v, { shape: t.shape, requiresGrad });
}

export function floats(t: FixtureTensor): Float32Array {
  return Float32Array.from(t.data, (x) => (x === 'inf' ? Infinity : x === '-inf' ? -Infinity : (x as number)));
}

/** One case of scripts/gen_layer_fixtures.py. */
export interface LayerCase {
  name: string;
  options: Record<string, unknown>;
  forward: { needWeights?: boolean; averageAttnWeights?: boolean; causal?: boolean };
  inputs: Record<string, FixtureTensor>;
  masks: Record<string, FixtureTensor>;
  state: Record<string, FixtureTensor>;
  outputs: { output: FixtureTensor; weights?: FixtureTensor };
  gradOutputs: { output: FixtureTensor; weights?: FixtureTensor };
  grads: Record<string, FixtureTensor>;
  stateAfter?: Record<string, FixtureTensor>;
}

export function readLayerFixture(name: string): { torch: string; cases: LayerCase[] } {
  const file = path.join(process.cwd(), 'test', 'fixtures', 'layers', `${name}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * Largest elementwise |a − e| / max(|e|, floor), floor = 1e-2·max|e|: entries far smaller than the
 * rest of their tensor are judged against 1% of its scale, not their own near-zero size (there
 * float32 cancellation dominates: torch's own float32 gradients differ from the float64 reference
 * by up to 1.9e-4 on such entries, but by at most 4.5e-5 under this measure).
 */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): { err: number; at: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} differs from expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i]!)) scale = Math.max(scale, Math.abs(expected[i]!));
  const floor = Math.max(scale * 1e-2, 1e-12);
  let err = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const r = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (!(r <= err)) { err = r; at = i; }
  }
  return { err, at };
}

/** Tracks the worst relative error per fixture and checks each comparison against tol. */
export class ErrorLog {
  readonly worst = new Map<string, number>();
  check(fixture: string, what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): number {
    const { err, at } = relErr(actual, expected);
    this.worst.set(fixture, Math.max(this.worst.get(fixture) ?? 0, err));
    if (!(err <= tol)) throw new Error(`${fixture} ${what}: relative error ${err.toExponential(2)} > ${tol} at [${at}]: got ${actual[at]}, expected ${expected[at]}`);
    return err;
  }
  report(title: string): void {
    for (const [k, v] of this.worst) console.log(`# ${title} ${k}: largest relative error ${v.toExponential(2)}`);
  }
}

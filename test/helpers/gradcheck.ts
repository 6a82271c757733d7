// Finite-difference gradient check.
//
// The objective is S = Σ_k Σ_i w_k,i · y_k,i over the op's outputs y_k, with fixed random weights w
// (float32-exact values in [-1, 1]), so every output element and every input element is checked at
// once: the analytic gradient comes from y_k.backward(w_k); the numerical one from central
// differences of S, where S is accumulated in float64 from the float32 outputs:
//
//     dS/dx_j ≈ (S(x + e·1_j) - S(x - e·1_j)) / (x_j⁺ - x_j⁻)
//
// with x_j± = fround(x_j ± e), so the step is the one float32 actually took.
//
// Choice of e and tolerance. The forward pass is float32: each output carries a rounding error of a
// few ulps, u ≈ 6e-8 relative, so S is noisy by about u·Σ|w·y| and the difference quotient by
// u·Σ|w·y| / e. The truncation error of a central difference is e²/6·|S'''|. For the small tensors
// used here (Σ|w·y| ≲ 10) the noise is ~3e-5 at e = 1e-2, and the truncation error stays below it
// except for ops with large third derivatives (1/x at x ≈ 0.5: 6/x⁴ ≈ 100). Smaller e would trade
// that truncation for more noise; e = 1e-2 balances them. A gradient passes when
//     |numerical - analytic| ≤ atol + rtol·|numerical|,   atol = 2e-4, rtol = 2e-3,
// which is 4× the largest error seen over all cases (reciprocal / 3÷x), and ≥ 40× for all the
// smooth non-rational ops; a wrong gradient (a missing term, a factor, a transposed index) is off by
// O(|gradient|). Non-smooth ops get inputs at least 5e away from their kinks and ties.

import assert from 'node:assert/strict';
import { noGrad, tensor, tidy, type Tensor } from '../../src/index.js';

export interface GradInput { shape: number[]; data: number[] }
export interface GradcheckOptions { eps?: number; atol?: number; rtol?: number; seed?: number }
export type GradFn = (...xs: Tensor[]) => Tensor | readonly Tensor[];

export const GRADCHECK_EPS = 1e-2;
export const GRADCHECK_ATOL = 2e-4;
export const GRADCHECK_RTOL = 2e-3;

/** Deterministic uniform numbers in [lo, hi), rounded to float32. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  const out: number[] = [];
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(Math.fround(lo + (hi - lo) * (s / 2 ** 32)));
  }
  return out;
}

/** Random inputs of a shape; `away` keeps |x| ≥ away (kinks at 0), `positive` keeps x in [0.5, 2). */
export function input(shape: number[], seed: number, opts: { away?: number; positive?: boolean; scale?: number } = {}): GradInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const scale = opts.scale ?? 1;
  let data = opts.positive ? uniform(n, seed, 0.5, 2) : uniform(n, seed, -scale, scale);
  if (opts.away) data = data.map((v) => Math.fround(Math.sign(v || 1) * (opts.away! + Math.abs(v))));
  return { shape, data };
}

/** Distinct values 0.1 apart in a shuffled order (no ties for max/min/maximum/argmax-like ops). */
export function distinct(shape: number[], seed: number): GradInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const keys = uniform(n, seed);
  const order = [...keys.keys()].sort((a, b) => keys[a]! - keys[b]!);
  const data = new Array<number>(n);
  order.forEach((pos, rank) => { data[pos] = Math.fround((rank - n / 2) * 0.1); });
  return { shape, data };
}

const asList = (y: Tensor | readonly Tensor[]): Tensor[] => (Array.isArray(y) ? [...y] : [y as Tensor]);

async function objective(ys: readonly Tensor[], ws: readonly number[][]): Promise<number> {
  let s = 0;
  for (let k = 0; k < ys.length; k++) {
    const y = await ys[k]!.data(), w = ws[k]!;
    for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!;
  }
  return s;
}

function leaves(inputs: readonly GradInput[], data: readonly Float32Array[], requiresGrad: boolean): Tensor[] {
  return inputs.map((x, i) => tensor(data[i]!, { shape: x.shape, requiresGrad }));
}

/** S at the given input values, with no graph and no tensors left behind. */
async function evaluate(fn: GradFn, inputs: readonly GradInput[], data: readonly Float32Array[], ws: readonly number[][]): Promise<number> {
  const xs = leaves(inputs, data, false);
  const ys = noGrad(() => tidy(() => asList(fn(...xs))));
  try {
    return await objective(ys, ws);
  } finally {
    for (const t of [...ys, ...xs]) t.dispose();
  }
}

/**
 * Checks the gradient of fn with respect to every element of every input. Returns the worst
 * |numerical - analytic| / (atol + rtol·|numerical|) (≤ 1 passes); throws naming the element otherwise.
 */
export async function gradcheck(name: string, fn: GradFn, inputs: readonly GradInput[], opts: GradcheckOptions = {}): Promise<number> {
  const eps = opts.eps ?? GRADCHECK_EPS, atol = opts.atol ?? GRADCHECK_ATOL, rtol = opts.rtol ?? GRADCHECK_RTOL;
  const base = inputs.map((x) => Float32Array.from(x.data));

  // Analytic: backward of each output with its weights as the upstream gradient. The graph lives in
  // a tidy scope; the leaves' .grad are kept by backward itself.
  const xs = leaves(inputs, base, true);
  const ws = tidy(() => {
    const ys = asList(fn(...xs));
    const w = ys.map((y, k) => uniform(y.numel, (opts.seed ?? 7) + 101 * k));
    ys.forEach((y, k) => {
      assert.equal(y.dtype, 'float32', `${name}: output ${k} is ${y.dtype}`);
      assert.ok(y.requiresGrad, `${name}: output ${k} does not require grad (the op recorded no gradient)`);
      y.backward(tensor(Float32Array.from(w[k]!), { shape: y.shape }), { retainGraph: true });
    });
    return w;
  });
  const analytic: number[][] = [];
  for (const x of xs) analytic.push(x.grad === null ? new Array<number>(x.numel).fill(0) : Array.from(await x.grad.data()));
  for (const x of xs) x.dispose();

  // Numerical: central differences of S, element by element.
  let worst = 0;
  for (let i = 0; i < inputs.length; i++) {
    for (let j = 0; j < base[i]!.length; j++) {
      const x0 = base[i]![j]!;
      const plus = base.map((d) => d.slice()), minus = base.map((d) => d.slice());
      plus[i]![j] = x0 + eps; minus[i]![j] = x0 - eps;
      const h = plus[i]![j]! - minus[i]![j]!;
      const numerical = ((await evaluate(fn, inputs, plus, ws)) - (await evaluate(fn, inputs, minus, ws))) / h;
      const a = analytic[i]![j]!;
      const ratio = Math.abs(numerical - a) / (atol + rtol * Math.abs(numerical));
      if (!(ratio <= 1)) {
        assert.fail(`${name}: d/d input${i}[${j}] (x = ${x0}): analytic ${a}, numerical ${numerical} ` +
          `(|diff| ${Math.abs(numerical - a).toExponential(2)} > ${atol} + ${rtol}·|numerical|)`);
      }
      worst = Math.max(worst, ratio);
    }
  }
  return worst;
}

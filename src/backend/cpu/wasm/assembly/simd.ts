// Vector math shared by the kernels: exp, erfc, GELU, and row reductions, on f32x4.
//
// No lookup tables on purpose: the module imports one shared memory and every thread instantiates
// it, so it must own no data segment (they would be rewritten by each instantiation). The std
// Math.exp/log of AssemblyScript use tables; these polynomials do not.

/**
 * e^x with ~1 ulp error (Cephes expf): e^x = 2^n · e^r, r = x - n·ln2 in [-ln2/2, ln2/2], degree-6
 * polynomial for e^r. Underflows to exactly 0 below ln(FLT_MIN) (so exp(-inf) = 0 for masked
 * scores); saturates at e^88 above (callers pass arguments <= 0 or tolerate the clamp).
 */
// @ts-ignore: decorator
@inline export function vexp(x: v128): v128 {
  const lo = f32x4.splat(-87.33654475);
  const xc = f32x4.pmin(f32x4.pmax(x, lo), f32x4.splat(88.0));
  const n = f32x4.floor(f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504088896341)), f32x4.splat(0.5)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(1.9875691500e-4), r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.bitselect(f32x4.splat(0), f32x4.mul(p, pow2), f32x4.lt(x, lo));
}

/** Scalar e^x through the vector code, for loop tails (the same rounding as the vector body). */
// @ts-ignore: decorator
@inline export function sexp(x: f32): f32 {
  return f32x4.extract_lane(vexp(f32x4.splat(x)), 0);
}

/** ln(x) for x > 0 (Cephes logf, ~1 ulp); used once per row, so scalar. */
export function slog(x: f32): f32 {
  if (!(x > 0)) return x == 0 ? -Infinity : NaN;
  if (x == Infinity) return x;
  let bits = reinterpret<i32>(x);
  let e = (bits >> 23) - 126;
  if (e == -126) { // subnormal: scale up first
    x *= 8388608.0; bits = reinterpret<i32>(x); e = (bits >> 23) - 126 - 23;
  }
  let m = reinterpret<f32>((bits & 0x007fffff) | 0x3f000000); // mantissa in [0.5, 1)
  if (m < 0.707106781186547524) { e -= 1; m = m + m - 1.0; } else { m = m - 1.0; }
  const z = m * m;
  let y: f32 = 7.0376836292e-2;
  y = y * m - 1.1514610310e-1;
  y = y * m + 1.1676998740e-1;
  y = y * m - 1.2420140846e-1;
  y = y * m + 1.4249322787e-1;
  y = y * m - 1.6668057665e-1;
  y = y * m + 2.0000714765e-1;
  y = y * m - 2.4999993993e-1;
  y = y * m + 3.3333331174e-1;
  y = y * m * z;
  const fe = <f32>e;
  y += -2.12194440e-4 * fe;
  y += -0.5 * z;
  return m + y + 0.693359375 * fe;
}

/** erfc with fractional error below 1.2e-7 (the Chebyshev fit of backend/elementwise.ts, in f32). */
// @ts-ignore: decorator
@inline export function verfc(x: v128): v128 {
  const z = f32x4.abs(x);
  const one = f32x4.splat(1.0);
  const t = f32x4.div(one, f32x4.add(one, f32x4.mul(f32x4.splat(0.5), z)));
  let p = f32x4.add(f32x4.mul(t, f32x4.splat(0.17087277)), f32x4.splat(-0.82215223));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(1.48851587));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(-1.13520398));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(0.27886807));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(-0.18628806));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(0.09678418));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(0.37409196));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(1.00002368));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(-1.26551223));
  const r = f32x4.mul(t, vexp(f32x4.sub(p, f32x4.mul(z, z))));
  return v128.bitselect(r, f32x4.sub(f32x4.splat(2.0), r), f32x4.ge(x, f32x4.splat(0)));
}

const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const TANH_C: f32 = 0.7978845608028654; // sqrt(2/pi)

/** GELU, erf form: x/2 · erfc(-x/√2). */
// @ts-ignore: decorator
@inline export function vgelu(x: v128): v128 {
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), verfc(f32x4.mul(x, f32x4.splat(-SQRT1_2))));
}

/** d gelu/dx · g. */
// @ts-ignore: decorator
@inline export function vgeluGrad(x: v128, g: v128): v128 {
  const cdf = f32x4.mul(f32x4.splat(0.5), verfc(f32x4.mul(x, f32x4.splat(-SQRT1_2))));
  const pdf = f32x4.mul(vexp(f32x4.mul(f32x4.mul(x, x), f32x4.splat(-0.5))), f32x4.splat(INV_SQRT_2PI));
  return f32x4.mul(g, f32x4.add(cdf, f32x4.mul(x, pdf)));
}

/**
 * σ(2u) with u = √(2/π)(x + 0.044715x³): then 1 + tanh(u) = 2σ(2u) and 1 - tanh²(u) = 4σ(1-σ),
 * which avoids the cancellation of 1 + tanh(u) for negative x.
 */
// @ts-ignore: decorator
@inline function sig2u(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  const u = f32x4.mul(f32x4.splat(TANH_C), f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), x3)));
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.mul(u, f32x4.splat(-2.0)))));
}

/** GELU, tanh form: x/2 · (1 + tanh(u)) = x · σ(2u). */
// @ts-ignore: decorator
@inline export function vgeluTanh(x: v128): v128 {
  return f32x4.mul(x, sig2u(x));
}

/** d gelu_tanh/dx · g = g · (σ + 2xσ(1-σ)·c·(1 + 3·0.044715x²)). */
// @ts-ignore: decorator
@inline export function vgeluTanhGrad(x: v128, g: v128): v128 {
  const s = sig2u(x);
  const one = f32x4.splat(1.0);
  const du = f32x4.mul(f32x4.splat(TANH_C), f32x4.add(one, f32x4.mul(f32x4.splat(3.0 * 0.044715), f32x4.mul(x, x))));
  const t = f32x4.mul(f32x4.mul(f32x4.mul(f32x4.splat(2.0), x), f32x4.mul(s, f32x4.sub(one, s))), du);
  return f32x4.mul(g, f32x4.add(s, t));
}

/** Sum of the four lanes. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(s, f32x4.shuffle(s, s, 1, 0, 3, 2)), 0);
}

/** Max of the four lanes (NaN-blind; callers see NaN through the values anyway). */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  const s = f32x4.pmax(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(s, f32x4.shuffle(s, s, 1, 0, 3, 2)), 0);
}

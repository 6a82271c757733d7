// Elementwise ops declared once, as expressions, from which every backend builds its kernels (the
// CPU backend compiles the `js` form into a loop; WebGPU splices the `wgsl` form into a shader).
// Gradients live above, in tensor/ops/elementwise.ts, written with tensor ops.

export interface UnarySpec {
  /** JS expression in x (a number). Helpers available: erfc. */
  js: string;
  /** WGSL expression in x (f32). */
  wgsl: string;
  /** Output is boolean (stored as 0/1). */
  bool?: boolean;
}

export interface BinarySpec {
  /** JS expression in a and b. */
  js: string;
  wgsl: string;
  /** Output is boolean (stored as 0/1). */
  bool?: boolean;
}

const SQRT1_2 = Math.SQRT1_2;
const GELU_TANH_C = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const UNARY: Record<string, UnarySpec> = {
  neg: { js: '-x', wgsl: '-x' },
  abs: { js: 'Math.abs(x)', wgsl: 'abs(x)' },
  exp: { js: 'Math.exp(x)', wgsl: 'exp(x)' },
  log: { js: 'Math.log(x)', wgsl: 'log(x)' },
  sqrt: { js: 'Math.sqrt(x)', wgsl: 'sqrt(x)' },
  rsqrt: { js: '1 / Math.sqrt(x)', wgsl: 'inverseSqrt(x)' },
  square: { js: 'x * x', wgsl: 'x * x' },
  reciprocal: { js: '1 / x', wgsl: '1.0 / x' },
  sin: { js: 'Math.sin(x)', wgsl: 'sin(x)' },
  cos: { js: 'Math.cos(x)', wgsl: 'cos(x)' },
  tanh: { js: 'Math.tanh(x)', wgsl: 'tanh(x)' },
  sigmoid: { js: '1 / (1 + Math.exp(-x))', wgsl: '1.0 / (1.0 + exp(-x))' },
  relu: { js: 'x > 0 ? x : 0', wgsl: 'max(x, 0.0)' },
  // erf form, computed through erfc so that the left tail keeps its relative accuracy.
  gelu: { js: `0.5 * x * erfc(-x * ${SQRT1_2})`, wgsl: `0.5 * x * erfc(-x * ${SQRT1_2})` },
  gelu_tanh: {
    js: `0.5 * x * (1 + Math.tanh(${GELU_TANH_C} * (x + 0.044715 * x * x * x)))`,
    // The same function as x·sigmoid(2u): in f32, 1 + tanh(u) cancels for negative x (1e-5 relative at x = -3).
    wgsl: `x / (1.0 + exp(-2.0 * ${GELU_TANH_C} * (x + 0.044715 * x * x * x)))`,
  },
  sign: { js: 'x > 0 ? 1 : x < 0 ? -1 : 0', wgsl: 'sign(x)' },
  logical_not: { js: 'x ? 0 : 1', wgsl: 'select(1.0, 0.0, x != 0.0)', bool: true },
  // WGSL lets compilers assume x == x (llvmpipe does), so NaN tests use isNan, a test on the bits.
  isnan: { js: 'x !== x ? 1 : 0', wgsl: 'select(0.0, 1.0, isNan(x))', bool: true },
};

export const BINARY: Record<string, BinarySpec> = {
  add: { js: 'a + b', wgsl: 'a + b' },
  sub: { js: 'a - b', wgsl: 'a - b' },
  mul: { js: 'a * b', wgsl: 'a * b' },
  div: { js: 'a / b', wgsl: 'a / b' },
  // WGSL's pow is exp2(b·log2(a)): NaN for a < 0, so powf handles negative bases with integer exponents.
  pow: { js: 'Math.pow(a, b)', wgsl: 'powf(a, b)' },
  // NaN-propagating, as torch.maximum / minimum.
  maximum: { js: '(a > b || a !== a) ? a : b', wgsl: 'select(b, a, a > b || isNan(a))' },
  minimum: { js: '(a < b || a !== a) ? a : b', wgsl: 'select(b, a, a < b || isNan(a))' },
  eq: { js: 'a === b ? 1 : 0', wgsl: 'select(0.0, 1.0, a == b)', bool: true },
  ne: { js: 'a !== b ? 1 : 0', wgsl: 'select(0.0, 1.0, a != b)', bool: true },
  lt: { js: 'a < b ? 1 : 0', wgsl: 'select(0.0, 1.0, a < b)', bool: true },
  le: { js: 'a <= b ? 1 : 0', wgsl: 'select(0.0, 1.0, a <= b)', bool: true },
  gt: { js: 'a > b ? 1 : 0', wgsl: 'select(0.0, 1.0, a > b)', bool: true },
  ge: { js: 'a >= b ? 1 : 0', wgsl: 'select(0.0, 1.0, a >= b)', bool: true },
  logical_and: { js: '(a && b) ? 1 : 0', wgsl: 'select(0.0, 1.0, a != 0.0 && b != 0.0)', bool: true },
  logical_or: { js: '(a || b) ? 1 : 0', wgsl: 'select(0.0, 1.0, a != 0.0 || b != 0.0)', bool: true },
  // Fused gradient helpers: a is the forward input (or output), b the incoming gradient.
  relu_grad: { js: 'a > 0 ? b : 0', wgsl: 'select(0.0, b, a > 0.0)' },
  gelu_grad: {
    js: `b * (0.5 * erfc(-a * ${SQRT1_2}) + a * Math.exp(-0.5 * a * a) * ${INV_SQRT_2PI})`,
    wgsl: `b * (0.5 * erfc(-a * ${SQRT1_2}) + a * exp(-0.5 * a * a) * ${INV_SQRT_2PI})`,
  },
  gelu_tanh_grad: {
    js: `b * geluTanhGrad(a)`,
    wgsl: `b * geluTanhGrad(a)`,
  },
  /** a = tanh output */
  tanh_grad: { js: 'b * (1 - a * a)', wgsl: 'b * (1.0 - a * a)' },
  /** a = sigmoid output */
  sigmoid_grad: { js: 'b * a * (1 - a)', wgsl: 'b * a * (1.0 - a)' },
};

/** erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

export function geluTanhGrad(x: number): number {
  const inner = GELU_TANH_C * (x + 0.044715 * x * x * x);
  const th = Math.tanh(inner);
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_TANH_C * (1 + 3 * 0.044715 * x * x);
}

/** WGSL definitions of the helpers the expressions above call. */
export const WGSL_HELPERS = `
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn erfc(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}
fn powf(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0 || b != trunc(b)) { return pow(a, b); }
  let m = pow(-a, b);
  return select(m, -m, fract(b * 0.5) != 0.0);
}
// geluTanhGrad as above, written with s = sigmoid(2u) = (1 + tanh u) / 2 and 1 - s = sigmoid(-2u), so
// that nothing cancels in f32 for negative x.
fn geluTanhGrad(x: f32) -> f32 {
  let c = ${GELU_TANH_C};
  let u2 = 2.0 * c * (x + 0.044715 * x * x * x);
  let s = 1.0 / (1.0 + exp(-u2));
  let t = 1.0 / (1.0 + exp(u2));
  return s + 2.0 * x * s * t * c * (1.0 + 3.0 * 0.044715 * x * x);
}
`;

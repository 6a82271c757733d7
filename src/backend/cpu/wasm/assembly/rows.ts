// Row kernels over contiguous [rows, n]: softmax / logSoftmax and layerNorm, forward and backward.
// Items are rows. Reductions keep several independent vector accumulators: one would make each
// step wait for the previous add (3+ cycles for 4 floats); sums are f32 partials (relative error
// ~1e-7·√(n/16)).

import { exp16, hmax, hsum, sexp, slog, vexp } from './simd';

// @ts-ignore: decorator
@inline export function rowMax(x: usize, n: i32): f32 {
  let m0 = f32x4.splat(-Infinity), m1 = m0, m2 = m0, m3 = m0, k = 0;
  for (; k + 16 <= n; k += 16) {
    const p = x + (<usize>k << 2);
    m0 = f32x4.pmax(m0, v128.load(p)); m1 = f32x4.pmax(m1, v128.load(p, 16));
    m2 = f32x4.pmax(m2, v128.load(p, 32)); m3 = f32x4.pmax(m3, v128.load(p, 48));
  }
  for (; k + 4 <= n; k += 4) m0 = f32x4.pmax(m0, v128.load(x + (<usize>k << 2)));
  let s = hmax(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3)));
  for (; k < n; k++) { const v = load<f32>(x + (<usize>k << 2)); if (v > s) s = v; }
  return s;
}

/** Σ x over a row. */
// @ts-ignore: decorator
@inline export function rowSum(x: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, k = 0;
  for (; k + 16 <= n; k += 16) {
    const p = x + (<usize>k << 2);
    s0 = f32x4.add(s0, v128.load(p)); s1 = f32x4.add(s1, v128.load(p, 16));
    s2 = f32x4.add(s2, v128.load(p, 32)); s3 = f32x4.add(s3, v128.load(p, 48));
  }
  for (; k + 4 <= n; k += 4) s0 = f32x4.add(s0, v128.load(x + (<usize>k << 2)));
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; k < n; k++) s += load<f32>(x + (<usize>k << 2));
  return s;
}

/** Σ (x - mu)² over a row. */
// @ts-ignore: decorator
@inline function rowSqDev(x: usize, n: i32, mu: f32): f32 {
  const vm = f32x4.splat(mu);
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, k = 0;
  for (; k + 16 <= n; k += 16) {
    const p = x + (<usize>k << 2);
    const d0 = f32x4.sub(v128.load(p), vm), d1 = f32x4.sub(v128.load(p, 16), vm);
    const d2 = f32x4.sub(v128.load(p, 32), vm), d3 = f32x4.sub(v128.load(p, 48), vm);
    s0 = f32x4.add(s0, f32x4.mul(d0, d0)); s1 = f32x4.add(s1, f32x4.mul(d1, d1));
    s2 = f32x4.add(s2, f32x4.mul(d2, d2)); s3 = f32x4.add(s3, f32x4.mul(d3, d3));
  }
  for (; k + 4 <= n; k += 4) { const d = f32x4.sub(v128.load(x + (<usize>k << 2)), vm); s0 = f32x4.add(s0, f32x4.mul(d, d)); }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; k < n; k++) { const d = load<f32>(x + (<usize>k << 2)) - mu; s += d * d; }
  return s;
}

/** Σ a·b over a row. */
// @ts-ignore: decorator
@inline function rowDot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, k = 0;
  for (; k + 16 <= n; k += 16) {
    const o = <usize>k << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o))); s1 = f32x4.add(s1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(a + o, 32), v128.load(b + o, 32))); s3 = f32x4.add(s3, f32x4.mul(v128.load(a + o, 48), v128.load(b + o, 48)));
  }
  for (; k + 4 <= n; k += 4) { const o = <usize>k << 2; s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o))); }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; k < n; k++) { const o = <usize>k << 2; s += load<f32>(a + o) * load<f32>(b + o); }
  return s;
}

/** dst = e^(src - m) over a row (arguments <= 0); returns the sum. */
// @ts-ignore: decorator
@inline function expRowSum(src: usize, dst: usize, n: i32, m: f32): f32 {
  const vm = f32x4.splat(m);
  let s0 = f32x4.splat(0), s1 = s0, k = 0;
  for (; k + 16 <= n; k += 16) { const o = <usize>k << 2; s0 = f32x4.add(s0, exp16(src + o, dst + o, vm)); }
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    const e = vexp(f32x4.sub(v128.load(src + o), vm));
    v128.store(dst + o, e);
    s0 = f32x4.add(s0, e);
  }
  let s = hsum(f32x4.add(s0, s1));
  for (; k < n; k++) { const o = <usize>k << 2; const e = sexp(load<f32>(src + o) - m); store<f32>(dst + o, e); s += e; }
  return s;
}

export function softmax(start: i32, end: i32, _tid: i32, x: usize, out: usize, n: i32, log: i32): void {
  const rb = <usize>n << 2;
  for (let r = start; r < end; r++) {
    const xr = x + <usize>r * rb, or = out + <usize>r * rb;
    let mx = rowMax(xr, n);
    if (mx == -Infinity) mx = 0; // fully masked row: 0/0 = NaN below, as torch
    const sum = expRowSum(xr, or, n, mx); // for log, the exps are scratch in out
    if (log) {
      const lse = mx + slog(sum), vl = f32x4.splat(lse);
      let k = 0;
      for (; k + 4 <= n; k += 4) v128.store(or + (<usize>k << 2), f32x4.sub(v128.load(xr + (<usize>k << 2)), vl));
      for (; k < n; k++) store<f32>(or + (<usize>k << 2), load<f32>(xr + (<usize>k << 2)) - lse);
    } else {
      scaleRow(or, n, 1 / sum);
    }
  }
}

// @ts-ignore: decorator
@inline export function scaleRow(p: usize, n: i32, s: f32): void {
  const vs = f32x4.splat(s);
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(p + (<usize>k << 2), f32x4.mul(v128.load(p + (<usize>k << 2)), vs));
  for (; k < n; k++) store<f32>(p + (<usize>k << 2), load<f32>(p + (<usize>k << 2)) * s);
}

export function softmaxBackward(start: i32, end: i32, _tid: i32, y: usize, gy: usize, gx: usize, n: i32, log: i32): void {
  const rb = <usize>n << 2;
  for (let r = start; r < end; r++) {
    const yr = y + <usize>r * rb, gr = gy + <usize>r * rb, or = gx + <usize>r * rb;
    let k = 0;
    if (log) { // gx = g - exp(y)·Σg
      const dot = rowSum(gr, n);
      const vd = f32x4.splat(dot);
      for (; k + 4 <= n; k += 4) {
        const o = <usize>k << 2;
        v128.store(or + o, f32x4.sub(v128.load(gr + o), f32x4.mul(vexp(v128.load(yr + o)), vd)));
      }
      for (; k < n; k++) { const o = <usize>k << 2; store<f32>(or + o, load<f32>(gr + o) - sexp(load<f32>(yr + o)) * dot); }
    } else { // gx = y·(g - Σ g·y)
      const dot = rowDot(gr, yr, n);
      const vd = f32x4.splat(dot);
      for (; k + 4 <= n; k += 4) {
        const o = <usize>k << 2;
        v128.store(or + o, f32x4.mul(v128.load(yr + o), f32x4.sub(v128.load(gr + o), vd)));
      }
      for (; k < n; k++) { const o = <usize>k << 2; store<f32>(or + o, load<f32>(yr + o) * (load<f32>(gr + o) - dot)); }
    }
  }
}

/** w, b: 0 when absent. mean and rstd get one float per row (saved for the backward pass). */
export function layerNorm(start: i32, end: i32, _tid: i32, x: usize, w: usize, b: usize, out: usize, mean: usize, rstd: usize,
  n: i32, eps: f32): void {
  const rb = <usize>n << 2;
  for (let r = start; r < end; r++) {
    const xr = x + <usize>r * rb, or = out + <usize>r * rb;
    const mu: f32 = rowSum(xr, n) / <f32>n, vmu = f32x4.splat(mu);
    const ss = rowSqDev(xr, n, mu);
    const rs: f32 = <f32>(1.0 / Math.sqrt(<f64>ss / <f64>n + <f64>eps));
    store<f32>(mean + (<usize>r << 2), mu);
    store<f32>(rstd + (<usize>r << 2), rs);
    const vrs = f32x4.splat(rs);
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      const o = <usize>k << 2;
      let v = f32x4.mul(f32x4.sub(v128.load(xr + o), vmu), vrs);
      if (w) v = f32x4.mul(v, v128.load(w + o));
      if (b) v = f32x4.add(v, v128.load(b + o));
      v128.store(or + o, v);
    }
    for (; k < n; k++) {
      const o = <usize>k << 2;
      let v = (load<f32>(xr + o) - mu) * rs;
      if (w) v *= load<f32>(w + o);
      if (b) v += load<f32>(b + o);
      store<f32>(or + o, v);
    }
  }
}

/** Adds the four lanes of v to the f64 partials at p (float64 so that long batches sum exactly enough). */
// @ts-ignore: decorator
@inline function addF64(p: usize, v: v128): void {
  v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(v)));
  v128.store(p, f64x2.add(v128.load(p, 16), f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1))), 16);
}

/**
 * gx for rows [item·per, (item+1)·per) of each item in [start, end); when part (not 0) is given, item
 * p also adds Σ g·x̂ and Σ g over its rows into its own float64 partial rows: part + p·2n·8 (gw) and
 * n·8 after it (gb), summed in order by layerNormReduce. Fixed row blocks (not threads) own the
 * partials, so the result does not depend on how many threads ran or who took which block.
 */
export function layerNormBackward(start: i32, end: i32, _tid: i32, x: usize, w: usize, mean: usize, rstd: usize, gy: usize, gx: usize,
  n: i32, part: usize, rows: i32, per: i32): void {
  const rb = <usize>n << 2;
  for (let item = start; item < end; item++) {
    layerNormBackwardRows(item * per, min(rows, (item + 1) * per), x, w, mean, rstd, gy, gx, n, part ? part + <usize>item * 4 * rb : 0);
  }
}

function layerNormBackwardRows(start: i32, end: i32, x: usize, w: usize, mean: usize, rstd: usize, gy: usize, gx: usize,
  n: i32, pw: usize): void {
  const rb = <usize>n << 2;
  const pb = pw + 2 * rb, part = pw;
  const fn = <f32>n;
  for (let r = start; r < end; r++) {
    const xr = x + <usize>r * rb, gr = gy + <usize>r * rb, or = gx + <usize>r * rb;
    const mu = load<f32>(mean + (<usize>r << 2)), rs = load<f32>(rstd + (<usize>r << 2));
    const vmu = f32x4.splat(mu), vrs = f32x4.splat(rs);
    let sg = f32x4.splat(0), sgx = f32x4.splat(0), k = 0;
    for (; k + 4 <= n; k += 4) {
      const o = <usize>k << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), vmu), vrs);
      const g = v128.load(gr + o);
      const gh = w ? f32x4.mul(g, v128.load(w + o)) : g;
      sg = f32x4.add(sg, gh); sgx = f32x4.add(sgx, f32x4.mul(gh, xh));
      if (part) { addF64(pw + 2 * o, f32x4.mul(g, xh)); addF64(pb + 2 * o, g); }
    }
    let sumG = hsum(sg), sumGX = hsum(sgx);
    for (; k < n; k++) {
      const o = <usize>k << 2;
      const xh = (load<f32>(xr + o) - mu) * rs, g = load<f32>(gr + o);
      const gh = w ? g * load<f32>(w + o) : g;
      sumG += gh; sumGX += gh * xh;
      if (part) {
        store<f64>(pw + 2 * o, load<f64>(pw + 2 * o) + <f64>(g * xh));
        store<f64>(pb + 2 * o, load<f64>(pb + 2 * o) + <f64>g);
      }
    }
    const mG = f32x4.splat(sumG / fn), mGX = f32x4.splat(sumGX / fn);
    k = 0;
    for (; k + 4 <= n; k += 4) {
      const o = <usize>k << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), vmu), vrs);
      const g = v128.load(gr + o);
      const gh = w ? f32x4.mul(g, v128.load(w + o)) : g;
      v128.store(or + o, f32x4.mul(vrs, f32x4.sub(f32x4.sub(gh, mG), f32x4.mul(xh, mGX))));
    }
    const smG = sumG / fn, smGX = sumGX / fn;
    for (; k < n; k++) {
      const o = <usize>k << 2;
      const xh = (load<f32>(xr + o) - mu) * rs, g = load<f32>(gr + o);
      const gh = w ? g * load<f32>(w + o) : g;
      store<f32>(or + o, rs * (gh - smG - xh * smGX));
    }
  }
}

/** Sums `parts` partial rows (2n float64 each) into gw (n) and gb (n); either may be 0. */
export function layerNormReduce(part: usize, parts: i32, n: i32, gw: usize, gb: usize): void {
  const rb = <usize>n << 3;
  for (let k = 0; k < n; k++) {
    const o = <usize>k << 3;
    let sw: f64 = 0, sb: f64 = 0;
    for (let t = 0; t < parts; t++) {
      const p = part + <usize>t * 2 * rb;
      sw += load<f64>(p + o); sb += load<f64>(p + rb + o);
    }
    if (gw) store<f32>(gw + (<usize>k << 2), <f32>sw);
    if (gb) store<f32>(gb + (<usize>k << 2), <f32>sb);
  }
}

// Fused scaled-dot-product attention, forward and backward, one head [L, E] × [S, E] × [S, Ev] at a
// time. The forward never materialises the [L, S] matrix: a block of BQ queries gets its scores
// (Q·Kᵀ), a softmax in place, then P·V; causal blocks stop at the diagonal, so causal attention
// does half the work. It saves the row logsumexp; the backward recomputes P from it (as
// FlashAttention does) instead of storing the probabilities.
//
// Layouts: q [B1, heads, L, E], k [B1, heads, S, E], v [B1, heads, S, Ev], out [B1, heads, L, Ev]
// (and in the backward gout like out, gq, gk, gv like q, k, v) are views with unit stride along the
// last dim, described by `desc`: per tensor (in that order) 16 bytes: its address, then its strides
// (elements) along B1, heads and rows, so that q, k and v may be views of one packed [B, T, 3C]
// projection and out / gq, gk, gv can be written straight into [B, T, C] / [B, T, 3C] layouts. lse
// [BH, L] is contiguous (bh = b1·heads + h). mask: 0 or an additive float mask, element (bh, i, j) at mask + (b1·m0 + b2·m1 + i·m2 + j)·4 with
// b1 = bh / heads, b2 = bh % heads (strides may be 0 for broadcast). Each thread has `stride` bytes
// of scratch at scratch + tid·stride (sizes: attnScratch*Bytes in ../kernels.ts).

import { exp16, hmax, hsum, slog } from './simd';
import { scaleRow } from './rows';
import { MR, NR, packPanel16, tileCols, tileRows } from './tile';

/** Rounds up to a whole B panel (16). */
// @ts-ignore: decorator
@inline function upNR(x: i32): i32 { return (x + NR - 1) & ~(NR - 1); }

// Descriptor slots.
const Q = 0, K = 1, V = 2, OUT = 3, GOUT = 4, GQ = 5, GK = 6, GV = 7;

/** Address of head bh's first row of tensor t. */
// @ts-ignore: decorator
@inline function headAt(desc: usize, t: i32, bh: i32, heads: i32): usize {
  const d = desc + (<usize>t << 4);
  return <usize>load<u32>(d) + ((<usize>(bh / heads) * <usize>load<i32>(d, 4) + <usize>(bh % heads) * <usize>load<i32>(d, 8)) << 2);
}

/** Bytes from one row of tensor t to the next. */
// @ts-ignore: decorator
@inline function rowBytes(desc: usize, t: i32): usize { return <usize>load<i32>(desc + (<usize>t << 4), 12) << 2; }

/** Panels of Kᵀ (B of Q·Kᵀ) from S rows of E (ld bytes apart): for each 16 keys, E rows of 16. */
// @ts-ignore: decorator
@inline function packKt(kh: usize, ld: usize, S: i32, E: i32, dst: usize): void {
  for (let j = 0; j < S; j += NR) packPanel16(kh, 4, ld, E, S, j, dst + <usize>(j / NR) * <usize>E * (NR * 4));
}

/** Panels of a row-major [R, C] operand (rows ld bytes apart) as B: for each 16 columns, R rows of 16. */
// @ts-ignore: decorator
@inline function packRows(src: usize, ld: usize, R: i32, C: i32, dst: usize): void {
  for (let c = 0; c < C; c += NR) packPanel16(src, ld, 4, R, C, c, dst + <usize>(c / NR) * <usize>R * (NR * 4));
}

/** sc[r][0:nk] = Q rows [i0, i0+nq) (lq bytes apart) · Kᵀ (whole 16-key panels: columns up to upNR(nk)). */
// @ts-ignore: decorator
@inline function scores(qh: usize, lq: usize, E: i32, kt: usize, nq: i32, nk: i32, sc: usize, Sp: i32, tmp: usize): void {
  const ld = <usize>Sp << 2;
  for (let j = 0; j < nk; j += NR) {
    const bp = kt + <usize>(j / NR) * <usize>E * (NR * 4);
    for (let r = 0; r < nq; r += MR) tileRows(qh + <usize>r * lq, lq, bp, E, sc + <usize>r * ld + (<usize>j << 2), ld, min(MR, nq - r), NR, false, tmp);
  }
}

// Rows are handled in whole blocks of 16, hidden keys set to -inf (exp: exact 0), so that each key
// always falls in the same place of the sums: a causal row and the same row under an explicit mask
// (which only adds hidden keys, i.e. exact zeros) then give bit-identical results.

// @ts-ignore: decorator
@inline function up16(x: i32): i32 { return (x + 15) & ~15; }

/**
 * Row i of the scores, in place: s·scale + mask over [0, lim) (lim: the keys row i may see), -inf
 * over [lim, up16(lim)); returns the max over [0, lim).
 */
// @ts-ignore: decorator
@inline function scaleMask(row: usize, lim: i32, scale: f32, mrow: usize): f32 {
  const vs = f32x4.splat(scale), ninf = f32x4.splat(-Infinity);
  let mx = ninf, j = 0;
  for (; j + 4 <= lim; j += 4) {
    const o = <usize>j << 2;
    let s = f32x4.mul(v128.load(row + o), vs);
    if (mrow) s = f32x4.add(s, v128.load(mrow + o));
    v128.store(row + o, s);
    mx = f32x4.pmax(mx, s);
  }
  if (j < lim) { // the row buffer is padded to 16, the mask row is not: its tail lanes load one by one
    const o = <usize>j << 2;
    let s = f32x4.mul(v128.load(row + o), vs);
    if (mrow) {
      let m = f32x4.splat(0);
      m = f32x4.replace_lane(m, 0, load<f32>(mrow + o));
      if (j + 1 < lim) m = f32x4.replace_lane(m, 1, load<f32>(mrow + o, 4));
      if (j + 2 < lim) m = f32x4.replace_lane(m, 2, load<f32>(mrow + o, 8));
      s = f32x4.add(s, m);
    }
    s = v128.bitselect(s, ninf, i32x4.lt_s(i32x4.add(i32x4.splat(j), i32x4(0, 1, 2, 3)), i32x4.splat(lim)));
    v128.store(row + o, s);
    mx = f32x4.pmax(mx, s);
    j += 4;
  }
  for (; j < up16(lim); j += 4) v128.store(row + (<usize>j << 2), ninf);
  return hmax(mx);
}

/** row[j] = exp(row[j] - sub) over [0, up16(lim)) (hidden keys are -inf: 0), 0 up to end; returns the sum. */
// @ts-ignore: decorator
@inline function expRow(row: usize, lim: i32, end: i32, sub: f32): f32 {
  const vm = f32x4.splat(sub);
  let acc = f32x4.splat(0), j = 0;
  for (; j < lim; j += 16) { const o = <usize>j << 2; acc = f32x4.add(acc, exp16(row + o, row + o, vm)); }
  for (; j < end; j += 4) v128.store(row + (<usize>j << 2), f32x4.splat(0));
  return hsum(acc);
}

// @ts-ignore: decorator
@inline function maskRow(mask: usize, bh: i32, heads: i32, i: i32, m0: i32, m1: i32, m2: i32): usize {
  if (!mask) return 0;
  const b1 = bh / heads, b2 = bh % heads;
  return mask + ((<usize>b1 * <usize>m0 + <usize>b2 * <usize>m1 + <usize>i * <usize>m2) << 2);
}

/** Items (bh, block of BQ queries). */
export function attnForward(start: i32, end: i32, tid: i32, desc: usize, mask: usize, m0: i32, m1: i32, m2: i32,
  heads: i32, L: i32, S: i32, E: i32, Ev: i32, causal: i32, scale: f32, lse: usize,
  scratch: usize, stride: usize, BQ: i32): void {
  const Sp = upNR(S), Evp = upNR(Ev);
  const kt = scratch + <usize>tid * stride;                 // Kᵀ panels: Sp × E
  const vp = kt + <usize>Sp * <usize>E * 4;                 // V panels: Evp × S
  const sc = vp + <usize>Evp * <usize>S * 4;                // scores: BQ × Sp
  const inv = sc + <usize>BQ * <usize>Sp * 4;               // 1/rowsum: BQ
  const tmp = inv + ((<usize>BQ * 4 + 15) & ~15);           // edge tile: 32
  const nqb = (L + BQ - 1) / BQ;
  const ld = <usize>Sp << 2;
  const lq = rowBytes(desc, Q), lo = rowBytes(desc, OUT);
  let packed = -1;
  for (let item = start; item < end; item++) {
    const bh = item / nqb, i0 = (item % nqb) * BQ;
    if (bh != packed) {
      packKt(headAt(desc, K, bh, heads), rowBytes(desc, K), S, E, kt);
      packRows(headAt(desc, V, bh, heads), rowBytes(desc, V), S, Ev, vp);
      packed = bh;
    }
    const i1 = min(L, i0 + BQ), nq = i1 - i0;
    const nk = causal ? min(S, i1) : S;
    scores(headAt(desc, Q, bh, heads) + <usize>i0 * lq, lq, E, kt, nq, nk, sc, Sp, tmp);
    for (let r = 0; r < nq; r++) {
      const i = i0 + r, row = sc + <usize>r * ld;
      const lim = causal ? min(nk, i + 1) : nk;
      const mx = scaleMask(row, lim, scale, maskRow(mask, bh, heads, i, m0, m1, m2));
      const li = lse + ((<usize>bh * <usize>L + <usize>i) << 2);
      if (mx == -Infinity) { // every key masked: NaN, as softmax over -inf gives in torch
        expRow(row, 0, upNR(nk), 0);
        store<f32>(inv + (<usize>r << 2), NaN); store<f32>(li, NaN);
        continue;
      }
      const sum = expRow(row, lim, upNR(nk), mx);
      store<f32>(inv + (<usize>r << 2), 1 / sum);
      store<f32>(li, mx + slog(sum));
    }
    const oh = headAt(desc, OUT, bh, heads) + <usize>i0 * lo;
    for (let e = 0; e < Ev; e += NR) {
      const bp = vp + <usize>(e / NR) * <usize>S * (NR * 4);
      for (let r = 0; r < nq; r += MR) tileRows(sc + <usize>r * ld, ld, bp, nk, oh + <usize>r * lo + (<usize>e << 2), lo, min(MR, nq - r), min(NR, Ev - e), false, tmp);
    }
    for (let r = 0; r < nq; r++) scaleRow(oh + <usize>r * lo, Ev, load<f32>(inv + (<usize>r << 2)));
  }
}

/** q·k over E floats: four partial sums (independent chains), then the lanes. */
// @ts-ignore: decorator
@inline function dot(q: usize, k: usize, E: i32): f32 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, e = 0;
  for (; e + 16 <= E; e += 16) {
    const o = <usize>e << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(q + o), v128.load(k + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(q + o, 16), v128.load(k + o, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(q + o, 32), v128.load(k + o, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(q + o, 48), v128.load(k + o, 48)));
  }
  for (; e + 4 <= E; e += 4) a0 = f32x4.add(a0, f32x4.mul(v128.load(q + (<usize>e << 2)), v128.load(k + (<usize>e << 2))));
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; e < E; e++) s += load<f32>(q + (<usize>e << 2)) * load<f32>(k + (<usize>e << 2));
  return s;
}

/**
 * The forward for a few query rows (decoding with a KV cache: one per head): items are (bh, row).
 * K and V are read where they lie, once, instead of being packed into panels first: with one query
 * the packing would cost more than the product, and a step past a long cache would pay for it at
 * every layer. Same semantics and lse as attnForward; scratch per thread: a score row of up16(S).
 */
export function attnDecode(start: i32, end: i32, tid: i32, desc: usize, mask: usize, m0: i32, m1: i32, m2: i32,
  heads: i32, L: i32, S: i32, E: i32, Ev: i32, causal: i32, scale: f32, lse: usize,
  scratch: usize, stride: usize): void {
  const row = scratch + <usize>tid * stride;
  const lq = rowBytes(desc, Q), lk = rowBytes(desc, K), lv = rowBytes(desc, V), lo = rowBytes(desc, OUT);
  for (let item = start; item < end; item++) {
    const bh = item / L, i = item % L;
    const qi = headAt(desc, Q, bh, heads) + <usize>i * lq, kh = headAt(desc, K, bh, heads), vh = headAt(desc, V, bh, heads);
    const oi = headAt(desc, OUT, bh, heads) + <usize>i * lo, li = lse + ((<usize>bh * <usize>L + <usize>i) << 2);
    const lim = causal ? min(S, i + 1) : S;
    for (let j = 0; j < lim; j++) store<f32>(row + (<usize>j << 2), dot(qi, kh + <usize>j * lk, E));
    const mx = scaleMask(row, lim, scale, maskRow(mask, bh, heads, i, m0, m1, m2));
    if (mx == -Infinity) { // every key masked: NaN, as softmax over -inf gives in torch
      for (let e = 0; e < Ev; e++) store<f32>(oi + (<usize>e << 2), NaN);
      store<f32>(li, NaN);
      continue;
    }
    const sum = expRow(row, lim, up16(lim), mx);
    store<f32>(li, mx + slog(sum));
    // out = (Σ_j p_j v_j) / sum, 16 columns at a time in registers, the last few in memory.
    const vinv = f32x4.splat(1 / sum);
    let e = 0;
    for (; e + 16 <= Ev; e += 16) {
      const o = <usize>e << 2;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      for (let j = 0; j < lim; j++) {
        const p = v128.load32_splat(row + (<usize>j << 2)), vj = vh + <usize>j * lv + o;
        a0 = f32x4.add(a0, f32x4.mul(p, v128.load(vj)));
        a1 = f32x4.add(a1, f32x4.mul(p, v128.load(vj, 16)));
        a2 = f32x4.add(a2, f32x4.mul(p, v128.load(vj, 32)));
        a3 = f32x4.add(a3, f32x4.mul(p, v128.load(vj, 48)));
      }
      v128.store(oi + o, f32x4.mul(a0, vinv));
      v128.store(oi + o, f32x4.mul(a1, vinv), 16);
      v128.store(oi + o, f32x4.mul(a2, vinv), 32);
      v128.store(oi + o, f32x4.mul(a3, vinv), 48);
    }
    for (; e < Ev; e++) {
      let a: f32 = 0;
      for (let j = 0; j < lim; j++) a += load<f32>(row + (<usize>j << 2)) * load<f32>(vh + <usize>j * lv + (<usize>e << 2));
      store<f32>(oi + (<usize>e << 2), a * (1 / sum));
    }
  }
}

/**
 * Items are heads (bh): a thread owns a head's dK and dV, so they accumulate without races.
 * gq, gk, gv are written (not accumulated); none may have a zero stride.
 */
export function attnBackward(start: i32, end: i32, tid: i32, desc: usize, mask: usize, m0: i32, m1: i32, m2: i32,
  heads: i32, L: i32, S: i32, E: i32, Ev: i32, causal: i32, scale: f32, lse: usize,
  scratch: usize, stride: usize, BQ: i32): void {
  const Sp = upNR(S), Ep = upNR(E), Evp = upNR(Ev);
  const kt = scratch + <usize>tid * stride;                 // Kᵀ panels: Sp × E
  const vt = kt + <usize>Sp * <usize>E * 4;                 // Vᵀ panels: Sp × Ev
  const kp = vt + <usize>Sp * <usize>Ev * 4;                // K panels: Ep × S
  const sc = kp + <usize>Ep * <usize>S * 4;                 // P: BQ × Sp
  const dp = sc + <usize>BQ * <usize>Sp * 4;                // dP, then dS: BQ × Sp
  const qp = dp + <usize>BQ * <usize>Sp * 4;                // Q block panels: Ep × BQ
  const op = qp + <usize>Ep * <usize>BQ * 4;                // dO block panels: Evp × BQ
  const tmp = op + <usize>Evp * <usize>BQ * 4;              // edge tile: 32
  const ld = <usize>Sp << 2;
  const lq = rowBytes(desc, Q), lk = rowBytes(desc, K), lv = rowBytes(desc, V), lo = rowBytes(desc, OUT);
  const lgo = rowBytes(desc, GOUT), lgq = rowBytes(desc, GQ), lgk = rowBytes(desc, GK), lgv = rowBytes(desc, GV);
  for (let bh = start; bh < end; bh++) {
    const kh = headAt(desc, K, bh, heads), vh = headAt(desc, V, bh, heads);
    const gkh = headAt(desc, GK, bh, heads), gvh = headAt(desc, GV, bh, heads);
    packKt(kh, lk, S, E, kt);
    packKt(vh, lv, S, Ev, vt);
    packRows(kh, lk, S, E, kp);
    for (let j = 0; j < S; j++) {
      memory.fill(gkh + <usize>j * lgk, 0, <usize>E << 2);
      memory.fill(gvh + <usize>j * lgv, 0, <usize>Ev << 2);
    }
    for (let i0 = 0; i0 < L; i0 += BQ) {
      const i1 = min(L, i0 + BQ), nq = i1 - i0;
      const nk = causal ? min(S, i1) : S, nkp = upNR(nk);
      const qh = headAt(desc, Q, bh, heads) + <usize>i0 * lq;
      const oh = headAt(desc, OUT, bh, heads) + <usize>i0 * lo, goh = headAt(desc, GOUT, bh, heads) + <usize>i0 * lgo;
      // P = exp(Q·Kᵀ·scale + mask - lse)
      scores(qh, lq, E, kt, nq, nk, sc, Sp, tmp);
      for (let r = 0; r < nq; r++) {
        const i = i0 + r, row = sc + <usize>r * ld;
        const lim = causal ? min(nk, i + 1) : nk;
        scaleMask(row, lim, scale, maskRow(mask, bh, heads, i, m0, m1, m2));
        expRow(row, lim, nkp, load<f32>(lse + ((<usize>bh * <usize>L + <usize>i) << 2)));
      }
      // dP = dO·Vᵀ, then dS = P ∘ (dP - rowsum(dO ∘ O)) · scale, in place
      scores(goh, lgo, Ev, vt, nq, nk, dp, Sp, tmp);
      for (let r = 0; r < nq; r++) {
        const go = goh + <usize>r * lgo, o = oh + <usize>r * lo;
        let acc = f32x4.splat(0), e = 0;
        for (; e + 4 <= Ev; e += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(go + (<usize>e << 2)), v128.load(o + (<usize>e << 2))));
        let D = hsum(acc);
        for (; e < Ev; e++) D += load<f32>(go + (<usize>e << 2)) * load<f32>(o + (<usize>e << 2));
        const vD = f32x4.splat(D), vs = f32x4.splat(scale);
        const prow = sc + <usize>r * ld, drow = dp + <usize>r * ld;
        for (let j = 0; j < nkp; j += 4) {
          const oj = <usize>j << 2;
          v128.store(drow + oj, f32x4.mul(f32x4.mul(v128.load(prow + oj), f32x4.sub(v128.load(drow + oj), vD)), vs));
        }
      }
      // dQ = dS·K
      const gqh = headAt(desc, GQ, bh, heads) + <usize>i0 * lgq;
      for (let e = 0; e < E; e += NR) {
        const bp = kp + <usize>(e / NR) * <usize>S * (NR * 4);
        for (let r = 0; r < nq; r += MR) tileRows(dp + <usize>r * ld, ld, bp, nk, gqh + <usize>r * lgq + (<usize>e << 2), lgq, min(MR, nq - r), min(NR, E - e), false, tmp);
      }
      // dK += dSᵀ·Q and dV += Pᵀ·dO over this block's queries
      packRows(qh, lq, nq, E, qp);
      packRows(goh, lgo, nq, Ev, op);
      for (let e = 0; e < E; e += NR) {
        const bp = qp + <usize>(e / NR) * <usize>nq * (NR * 4);
        for (let j = 0; j < nk; j += MR) tileCols(dp + (<usize>j << 2), ld, bp, nq, gkh + <usize>j * lgk + (<usize>e << 2), lgk, min(MR, nk - j), min(NR, E - e), true, tmp);
      }
      for (let e = 0; e < Ev; e += NR) {
        const bp = op + <usize>(e / NR) * <usize>nq * (NR * 4);
        for (let j = 0; j < nk; j += MR) tileCols(sc + (<usize>j << 2), ld, bp, nq, gvh + <usize>j * lgv + (<usize>e << 2), lgv, min(MR, nk - j), min(NR, Ev - e), true, tmp);
      }
    }
  }
}

// The attention kernels of attention.c, once per instruction set (included after simd.h).
//
// Products go through one register-tile kernel: MR rows of C × up to PW columns (NV vectors),
// C (+)= A·B with A read by element (any two strides: rows of Q or P, or columns of Pᵀ / dSᵀ) and
// B by contiguous rows (packed Kᵀ / Vᵀ panels, or rows of K, V, Q, dO read in place, the last
// vector masked). Every element of C is one chain of fused multiply-adds over k in order, whatever
// the tile around it: keys hidden by causality or a mask are exact zeros in P and dS, so skipping
// them (causal blocks stop at the diagonal) changes no bits.

#undef NV
#undef PW
#if TLM_W == 16
#define NV 4
#else
#define NV 2
#endif
#define PW (NV * W)

INL TGT void SFX(tile_body)(const int rows, const int nv, const float *a, long sar, long sak, long K,
                            const float *b, long ldb, tm last, int full, float *c, long ldc, int add, const float *rs) {
  vf acc[MR][NV];
  _Pragma("GCC unroll 4") for (int r = 0; r < rows; r++) _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[r][v] = vzero();
  for (long k = 0; k < K; k++, a += sak, b += ldb) {
    vf bv[NV];
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) bv[v] = v == nv - 1 && !full ? vloadm(b + v * W, last) : vload(b + v * W);
    _Pragma("GCC unroll 4") for (int r = 0; r < rows; r++) {
      vf x = vset1(a[r * sar]);
      _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[r][v] = vfma(x, bv[v], acc[r][v]);
    }
  }
  _Pragma("GCC unroll 4") for (int r = 0; r < rows; r++) {
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) {
      vf val = rs ? vmul(acc[r][v], vset1(rs[r])) : acc[r][v];
      float *cp = c + r * ldc + v * W;
      if (v < nv - 1 || full) { vstore(cp, add ? vadd(vload(cp), val) : val); continue; }
      if (add) val = vadd(vloadm(cp, last), val);
      vstorem(cp, last, val); // (masked stores only at an edge: they are slow on AMD's cores)
    }
  }
}

#define TILE(R, N) SFX(tile_body)(R, N, a, sar, sak, K, b, ldb, last, full, c, ldc, add, rs); return
static TGT void SFX(tile)(int rows, int nv, const float *a, long sar, long sak, long K,
                          const float *b, long ldb, tm last, int full, float *c, long ldc, int add, const float *rs) {
  switch (rows * 8 + nv) {
  case 8 + 1: TILE(1, 1); case 8 + 2: TILE(1, 2); case 16 + 1: TILE(2, 1); case 16 + 2: TILE(2, 2);
  case 24 + 1: TILE(3, 1); case 24 + 2: TILE(3, 2); case 32 + 1: TILE(4, 1); case 32 + 2: TILE(4, 2);
#if NV == 4
  case 8 + 3: TILE(1, 3); case 8 + 4: TILE(1, 4); case 16 + 3: TILE(2, 3); case 16 + 4: TILE(2, 4);
  case 24 + 3: TILE(3, 3); case 24 + 4: TILE(3, 4); case 32 + 3: TILE(4, 3); case 32 + 4: TILE(4, 4);
#endif
  }
}
#undef TILE

/**
 * C[rows ≤ MR, 0:width] (+)= A[rows, K]·B[K, width] (· rs per row), in chunks of PW columns: chunk
 * q of B starts at b + q·bstep (bstep PW for rows of B, K·PW for packed panels), its rows ldb apart.
 */
static TGT void SFX(product)(int rows, const float *a, long sar, long sak, long K, const float *b, long ldb, long bstep,
                             long width, float *c, long ldc, int add, const float *rs) {
  for (long j = 0, q = 0; j < width; j += PW, q++) {
    long w = width - j < PW ? width - j : PW;
    int nv = (int)((w + W - 1) / W);
    SFX(tile)(rows, nv, a, sar, sak, K, b + q * bstep, ldb, tmask(w - (nv - 1) * W), w == nv * W, c + j, ldc, add, rs);
  }
}

/** Panels of Bᵀ for a product with B's rows: for each PW rows of src (R rows of C floats, ld apart), C rows of PW (zeros past R). */
static TGT void SFX(pack_t)(const float *src, long ld, long R, long C, float *dst) {
  for (long j0 = 0; j0 < R; j0 += PW, dst += C * PW)
    for (long e = 0; e < C; e++)
      for (long j = 0; j < PW; j++) dst[e * PW + j] = j0 + j < R ? src[(j0 + j) * ld + e] : 0;
}

/**
 * Row i of the scores in place: s·scale + mask over [0, lim), -inf over [lim, up(lim, W)); returns
 * the max over [0, lim).
 */
static TGT float SFX(scale_mask)(float *row, long lim, float scale, const float *mrow) {
  vf vs = vset1(scale), mx = vset1(-INFINITY);
  for (long j = 0; j < lim; j += W) {
    vf s = vmul(vload(row + j), vs);
    if (mrow) s = vadd(s, vloadm(mrow + j, tmask(lim - j))); // the mask row is not padded
    if (j + W > lim) s = vfill_from(s, lim - j, -INFINITY);
    vstore(row + j, s);
    mx = vmax(mx, s);
  }
  return hmax(mx);
}

/** row[j] = exp(row[j] - sub) over [0, up(lim, W)) (hidden keys: -inf, so 0), 0 over [up(lim, W), end); returns the sum. */
static TGT float SFX(exp_row)(float *row, long lim, long end, float sub) {
  vf vm = vset1(sub), acc = vzero();
  long j = 0;
  for (; j < lim; j += W) { vf e = vexp(vsub(vload(row + j), vm)); vstore(row + j, e); acc = vadd(acc, e); }
  for (; j < end; j += W) vstore(row + j, vzero());
  return hsum(acc);
}

static TGT float SFX(dot)(const float *a, const float *b, long n) {
  vf s = vzero();
  for (long k = 0; k < n; k += W) { tm m = tmask(n - k); s = vfma(vloadm(a + k, m), vloadm(b + k, m), s); }
  return hsum(s);
}

/** Scores of `rows` queries (lq apart) against keys [0, nk) read in place (lk apart): one dot product each, for a few queries a head (decoding), where packing Kᵀ would cost more than the product. */
static TGT void SFX(scores_direct)(int rows, const float *q, long lq, const float *k, long lk, long E, long nk, float *sc, long Sp) {
  for (int r = 0; r < rows; r++)
    for (long j = 0; j < nk; j++) sc[r * Sp + j] = SFX(dot)(q + r * lq, k + j * lk, E);
}

/** Items (bh, block of BQ queries) [i0, i1): scores, softmax and P·V one tile of MR queries at a time. */
static TGT void SFX(attn_forward)(const Attn *A, long i0, long i1) {
  const long S = A->S, E = A->E, Ev = A->Ev, L = A->L, Sp = (S + PW - 1) / PW * PW;
  float *kt = scratch(Sp * E + MR * Sp + MR), *sc = kt + Sp * E, *inv = sc + MR * Sp;
  const long nqb = (L + A->bq - 1) / A->bq;
  const int direct = L < DIRECT_L;
  long packed = -1;
  for (long item = i0; item < i1; item++) {
    long bh = item / nqb, q0 = item % nqb * A->bq, q1 = q0 + A->bq < L ? q0 + A->bq : L;
    const float *kh = head(A, KT, bh), *vh = head(A, VT, bh), *qh = head(A, QT, bh);
    float *oh = (float *)head(A, OT, bh);
    if (bh != packed && !direct) { SFX(pack_t)(kh, A->ld[KT], S, E, kt); packed = bh; }
    long nk = A->causal ? (S < q1 ? S : q1) : S;
    for (long r0 = q0; r0 < q1; r0 += MR) {
      int rows = q1 - r0 < MR ? (int)(q1 - r0) : MR;
      long last = A->causal ? (nk < r0 + rows ? nk : r0 + rows) : nk; // the keys the tile's last row sees
      if (direct) SFX(scores_direct)(rows, qh + r0 * A->ld[QT], A->ld[QT], kh, A->ld[KT], E, last, sc, Sp);
      else SFX(product)(rows, qh + r0 * A->ld[QT], A->ld[QT], 1, E, kt, PW, E * PW, last, sc, Sp, 0, NULL);
      for (int r = 0; r < rows; r++) {
        long i = r0 + r, lim = A->causal ? (nk < i + 1 ? nk : i + 1) : nk;
        float *row = sc + r * Sp, *lse = A->lse + bh * L + i;
        float mx = SFX(scale_mask)(row, lim, A->scale, mask_row(A, bh, i));
        if (mx == -INFINITY) { // every key hidden: NaN, as softmax over -inf gives in torch
          SFX(exp_row)(row, 0, last, 0); inv[r] = NAN; *lse = NAN;
          continue;
        }
        float sum = SFX(exp_row)(row, lim, last, mx);
        inv[r] = 1 / sum; *lse = mx + logf(sum);
      }
      SFX(product)(rows, sc, Sp, 1, last, vh, A->ld[VT], PW, Ev, oh + r0 * A->ld[OT], A->ld[OT], 0, inv);
    }
  }
}

/** Items are heads: a thread owns a head's dK and dV, so they accumulate without races. */
static TGT void SFX(attn_backward)(const Attn *A, long i0, long i1) {
  const long S = A->S, E = A->E, Ev = A->Ev, L = A->L, BQ = A->bq, Sp = (S + PW - 1) / PW * PW;
  float *kt = scratch(Sp * E + Sp * Ev + 2 * BQ * Sp), *vt = kt + Sp * E, *sc = vt + Sp * Ev, *dp = sc + BQ * Sp;
  for (long bh = i0; bh < i1; bh++) {
    const float *qh = head(A, QT, bh), *kh = head(A, KT, bh), *vh = head(A, VT, bh), *oh = head(A, OT, bh), *goh = head(A, GOT, bh);
    float *gqh = (float *)head(A, GQT, bh), *gkh = (float *)head(A, GKT, bh), *gvh = (float *)head(A, GVT, bh);
    const long lq = A->ld[QT], lk = A->ld[KT], lo = A->ld[OT], lgo = A->ld[GOT];
    SFX(pack_t)(kh, lk, S, E, kt);
    SFX(pack_t)(vh, A->ld[VT], S, Ev, vt);
    for (long j = 0; j < S; j++) {
      memset(gkh + j * A->ld[GKT], 0, E * sizeof(float));
      memset(gvh + j * A->ld[GVT], 0, Ev * sizeof(float));
    }
    for (long q0 = 0; q0 < L; q0 += BQ) {
      long q1 = q0 + BQ < L ? q0 + BQ : L, nq = q1 - q0, nk = A->causal ? (S < q1 ? S : q1) : S;
      long end = (nk + W - 1) / W * W;
      for (long r0 = q0; r0 < q1; r0 += MR) {
        int rows = q1 - r0 < MR ? (int)(q1 - r0) : MR;
        long last = A->causal ? (nk < r0 + rows ? nk : r0 + rows) : nk;
        float *pt = sc + (r0 - q0) * Sp, *dt = dp + (r0 - q0) * Sp;
        // P = exp(Q·Kᵀ·scale + mask - lse), dP = dO·Vᵀ
        SFX(product)(rows, qh + r0 * lq, lq, 1, E, kt, PW, E * PW, last, pt, Sp, 0, NULL);
        SFX(product)(rows, goh + r0 * lgo, lgo, 1, Ev, vt, PW, Ev * PW, last, dt, Sp, 0, NULL);
        for (int r = 0; r < rows; r++) {
          long i = r0 + r, lim = A->causal ? (nk < i + 1 ? nk : i + 1) : nk;
          float *prow = pt + r * Sp, *drow = dt + r * Sp;
          SFX(scale_mask)(prow, lim, A->scale, mask_row(A, bh, i));
          SFX(exp_row)(prow, lim, end, A->lse[bh * L + i]);
          // dS = P ∘ (dP - rowsum(dO ∘ O)) · scale, in place of dP; exact zeros where P is
          vf vD = vset1(SFX(dot)(goh + i * lgo, oh + i * lo, Ev)), vs = vset1(A->scale);
          long j = 0;
          for (; j < lim; j += W) { // (lanes past the dP product's width are stale: zeroed)
            vf ds = vmul(vmul(vload(prow + j), vsub(vload(drow + j), vD)), vs);
            vstore(drow + j, j + W > lim ? vfill_from(ds, lim - j, 0) : ds);
          }
          for (; j < end; j += W) vstore(drow + j, vzero());
        }
        // dQ = dS·K
        SFX(product)(rows, dt, Sp, 1, last, kh, lk, PW, E, gqh + r0 * A->ld[GQT], A->ld[GQT], 0, NULL);
      }
      // dK += dSᵀ·Q and dV += Pᵀ·dO over this block's queries (causal: key j from query j on)
      for (long j0 = 0; j0 < nk; j0 += MR) {
        int rows = nk - j0 < MR ? (int)(nk - j0) : MR;
        long k0 = A->causal && j0 > q0 ? j0 - q0 : 0;
        SFX(product)(rows, dp + k0 * Sp + j0, 1, Sp, nq - k0, qh + (q0 + k0) * lq, lq, PW, E, gkh + j0 * A->ld[GKT], A->ld[GKT], 1, NULL);
        SFX(product)(rows, sc + k0 * Sp + j0, 1, Sp, nq - k0, goh + (q0 + k0) * lgo, lgo, PW, Ev, gvh + j0 * A->ld[GVT], A->ld[GVT], 1, NULL);
      }
    }
  }
}

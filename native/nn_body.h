// The row and elementwise kernels of nn.c, once per instruction set (included after simd.h, which
// sets W and the SFX suffix). Rows are contiguous [rows, n]; tails (n not a multiple of W) go
// through masked loads and stores, never past a row's end (only tails: masked stores are slow on
// AMD's cores). Sums are float32 vector partials, as the
// WebAssembly kernels keep them; nothing here depends on the thread that runs it.

/** Max over a row (-inf for an empty one). */
static TGT float SFX(row_max)(const float *x, long n) {
  vf m0 = vset1(-INFINITY), m1 = m0;
  long k = 0;
  for (; k + 2 * W <= n; k += 2 * W) { m0 = vmax(m0, vload(x + k)); m1 = vmax(m1, vload(x + k + W)); }
  for (; k + W <= n; k += W) m0 = vmax(m0, vload(x + k));
  if (k < n) m1 = vmax(m1, vfill_from(vloadm(x + k, tmask(n - k)), n - k, -INFINITY));
  return hmax(vmax(m0, m1));
}

/** Σ a·b over a row (b NULL: Σ a). */
static TGT float SFX(row_dot)(const float *a, const float *b, long n) {
  vf s0 = vzero(), s1 = s0;
  long k = 0;
  for (; k + 2 * W <= n; k += 2 * W) {
    s0 = b ? vfma(vload(a + k), vload(b + k), s0) : vadd(s0, vload(a + k));
    s1 = b ? vfma(vload(a + k + W), vload(b + k + W), s1) : vadd(s1, vload(a + k + W));
  }
  for (; k + W <= n; k += W) s0 = b ? vfma(vload(a + k), vload(b + k), s0) : vadd(s0, vload(a + k));
  if (k < n) {
    tm m = tmask(n - k);
    s1 = b ? vfma(vloadm(a + k, m), vloadm(b + k, m), s1) : vadd(s1, vloadm(a + k, m));
  }
  return hsum(vadd(s0, s1));
}

static TGT void SFX(softmax_rows)(const float *x, float *out, long n, int log, long r0, long r1) {
  for (long r = r0; r < r1; r++) {
    const float *xr = x + r * n; float *or = out + r * n;
    float mx = SFX(row_max)(xr, n);
    if (mx == -INFINITY) mx = 0; // a fully masked row: 0/0 = NaN below, as torch
    vf vm = vset1(mx), s0 = vzero(), s1 = s0;
    long k = 0;
    for (; k + 2 * W <= n; k += 2 * W) {
      vf e0 = vexp(vsub(vload(xr + k), vm)), e1 = vexp(vsub(vload(xr + k + W), vm));
      if (!log) { vstore(or + k, e0); vstore(or + k + W, e1); }
      s0 = vadd(s0, e0); s1 = vadd(s1, e1);
    }
    if (k + W <= n) {
      vf e = vexp(vsub(vload(xr + k), vm));
      if (!log) vstore(or + k, e);
      s0 = vadd(s0, e); k += W;
    }
    if (k < n) {
      tm m = tmask(n - k);
      vf e = vfill_from(vexp(vsub(vloadm(xr + k, m), vm)), n - k, 0);
      if (!log) vstorem(or + k, m, e);
      s1 = vadd(s1, e);
    }
    float sum = hsum(vadd(s0, s1));
    if (log) {
      vf lse = vset1(mx + logf(sum));
      for (k = 0; k + W <= n; k += W) vstore(or + k, vsub(vload(xr + k), lse));
      if (k < n) { tm m = tmask(n - k); vstorem(or + k, m, vsub(vloadm(xr + k, m), lse)); }
    } else {
      vf inv = vset1(1 / sum);
      for (k = 0; k + W <= n; k += W) vstore(or + k, vmul(vload(or + k), inv));
      if (k < n) { tm m = tmask(n - k); vstorem(or + k, m, vmul(vloadm(or + k, m), inv)); }
    }
  }
}

static TGT void SFX(softmax_back_rows)(const float *y, const float *gy, float *gx, long n, int log, long r0, long r1) {
  for (long r = r0; r < r1; r++) {
    const float *yr = y + r * n, *gr = gy + r * n; float *or = gx + r * n;
    vf vd = vset1(SFX(row_dot)(gr, log ? NULL : yr, n));
    // log: gx = g - exp(y)·Σg; else gx = y·(g - Σg·y)
    long k = 0;
    if (log) for (; k + W <= n; k += W) vstore(or + k, vfnma(vexp(vload(yr + k)), vd, vload(gr + k)));
    else for (; k + W <= n; k += W) { vf yv = vload(yr + k); vstore(or + k, vmul(yv, vsub(vload(gr + k), vd))); }
    if (k < n) {
      tm m = tmask(n - k);
      vf yv = vloadm(yr + k, m), gv = vloadm(gr + k, m);
      vstorem(or + k, m, log ? vfnma(vexp(yv), vd, gv) : vmul(yv, vsub(gv, vd)));
    }
  }
}

static TGT void SFX(layernorm_rows)(const float *x, const float *w, const float *b, float *out, float *mean, float *rstd,
                                    long n, float eps, long r0, long r1) {
  for (long r = r0; r < r1; r++) {
    const float *xr = x + r * n; float *or = out + r * n;
    float mu = SFX(row_dot)(xr, NULL, n) / (float)n;
    vf vmu = vset1(mu), s0 = vzero(), s1 = s0;
    long k = 0;
    for (; k + 2 * W <= n; k += 2 * W) {
      vf d0 = vsub(vload(xr + k), vmu), d1 = vsub(vload(xr + k + W), vmu);
      s0 = vfma(d0, d0, s0); s1 = vfma(d1, d1, s1);
    }
    for (; k < n; k += W) { vf d = vfill_from(vsub(vloadm(xr + k, tmask(n - k)), vmu), n - k, 0); s0 = vfma(d, d, s0); }
    float rs = (float)(1.0 / sqrt((double)hsum(vadd(s0, s1)) / (double)n + (double)eps));
    mean[r] = mu; rstd[r] = rs;
    vf vrs = vset1(rs);
    for (k = 0; k + W <= n; k += W) {
      vf v = vmul(vsub(vload(xr + k), vmu), vrs);
      if (w) v = vmul(v, vload(w + k));
      if (b) v = vadd(v, vload(b + k));
      vstore(or + k, v);
    }
    if (k < n) {
      tm m = tmask(n - k);
      vf v = vmul(vsub(vloadm(xr + k, m), vmu), vrs);
      if (w) v = vmul(v, vloadm(w + k, m));
      if (b) v = vadd(v, vloadm(b + k, m));
      vstorem(or + k, m, v);
    }
  }
}

/**
 * gx for rows [r0, r1); when pw is given, Σ g·x̂ over these rows is added into pw[0:n] and Σ g into
 * pb[0:n], in float64 (the caller's fixed block of rows owns them).
 */
static TGT void SFX(layernorm_back_rows)(const float *x, const float *w, const float *mean, const float *rstd, const float *gy,
                                         float *gx, long n, double *pw, double *pb, long r0, long r1) {
  float prod[W], gl[W];
  for (long r = r0; r < r1; r++) {
    const float *xr = x + r * n, *gr = gy + r * n; float *or = gx + r * n;
    vf vmu = vset1(mean[r]), vrs = vset1(rstd[r]), sg = vzero(), sgx = sg;
    for (long k = 0; k < n; k += W) {
      tm m = tmask(n - k);
      int full = k + W <= n;
      vf xh = vmul(vsub(full ? vload(xr + k) : vloadm(xr + k, m), vmu), vrs), g = full ? vload(gr + k) : vloadm(gr + k, m);
      vf gh = w ? vmul(g, full ? vload(w + k) : vloadm(w + k, m)) : g;
      sg = vadd(sg, gh); sgx = vfma(gh, xh, sgx); // masked lanes: g = 0
      if (!pw) continue;
      if (full) { vadd_f64(pw + k, vmul(g, xh)); vadd_f64(pb + k, g); continue; }
      vstore(prod, vmul(g, xh)); vstore(gl, g);
      for (long l = 0; l < n - k; l++) { pw[k + l] += prod[l]; pb[k + l] += gl[l]; }
    }
    vf mG = vset1(hsum(sg) / (float)n), mGX = vset1(hsum(sgx) / (float)n);
    long k = 0;
    for (; k + W <= n; k += W) {
      vf xh = vmul(vsub(vload(xr + k), vmu), vrs), g = vload(gr + k);
      vf gh = w ? vmul(g, vload(w + k)) : g;
      vstore(or + k, vmul(vrs, vfnma(xh, mGX, vsub(gh, mG))));
    }
    if (k < n) {
      tm m = tmask(n - k);
      vf xh = vmul(vsub(vloadm(xr + k, m), vmu), vrs), g = vloadm(gr + k, m);
      vf gh = w ? vmul(g, vloadm(w + k, m)) : g;
      vstorem(or + k, m, vmul(vrs, vfnma(xh, mGX, vsub(gh, mG))));
    }
  }
}

// Elementwise ops (codes as in ../src/backend/cpu/wasm/kernels.ts): 0 gelu, 1 gelu_tanh; the
// gradients 4 gelu_grad, 5 gelu_tanh_grad. Two vectors a pass: their long chains overlap.
static TGT void SFX(gelu_range)(int op, const float *x, float *out, long i0, long i1) {
  long k = i0;
  if (op == 0) for (; k + 2 * W <= i1; k += 2 * W) { vf a = vgelu(vload(x + k)), b = vgelu(vload(x + k + W)); vstore(out + k, a); vstore(out + k + W, b); }
  else for (; k + 2 * W <= i1; k += 2 * W) { vf a = vgelu_tanh(vload(x + k)), b = vgelu_tanh(vload(x + k + W)); vstore(out + k, a); vstore(out + k + W, b); }
  for (; k + W <= i1; k += W) { vf v = vload(x + k); vstore(out + k, op == 0 ? vgelu(v) : vgelu_tanh(v)); }
  if (k < i1) { tm m = tmask(i1 - k); vf v = vloadm(x + k, m); vstorem(out + k, m, op == 0 ? vgelu(v) : vgelu_tanh(v)); }
}

static TGT void SFX(gelu_grad_range)(int op, const float *x, const float *g, float *out, long i0, long i1) {
  long k = i0;
  if (op == 4) for (; k + 2 * W <= i1; k += 2 * W) {
    vf a = vgelu_grad(vload(x + k), vload(g + k)), b = vgelu_grad(vload(x + k + W), vload(g + k + W));
    vstore(out + k, a); vstore(out + k + W, b);
  } else for (; k + 2 * W <= i1; k += 2 * W) {
    vf a = vgelu_tanh_grad(vload(x + k), vload(g + k)), b = vgelu_tanh_grad(vload(x + k + W), vload(g + k + W));
    vstore(out + k, a); vstore(out + k + W, b);
  }
  for (; k + W <= i1; k += W) { vf xv = vload(x + k), gv = vload(g + k); vstore(out + k, op == 4 ? vgelu_grad(xv, gv) : vgelu_tanh_grad(xv, gv)); }
  if (k < i1) {
    tm m = tmask(i1 - k);
    vf xv = vloadm(x + k, m), gv = vloadm(g + k, m);
    vstorem(out + k, m, op == 4 ? vgelu_grad(xv, gv) : vgelu_tanh_grad(xv, gv));
  }
}

/** In-place AdamW over [i0, i1); c: beta1, 1-beta1, beta2, 1-beta2, 1-lr·wd, lr/bc1, √bc2, eps (folded in float64 by the caller). */
static TGT void SFX(adamw_range)(float *p, const float *g, float *m, float *v, const float *c, long i0, long i1) {
  vf b1 = vset1(c[0]), o1 = vset1(c[1]), b2 = vset1(c[2]), o2 = vset1(c[3]);
  vf decay = vset1(c[4]), step = vset1(c[5]), sb = vset1(c[6]), eps = vset1(c[7]);
  long k = i0;
  for (; k + W <= i1; k += W) {
    vf gv = vload(g + k);
    vf mv = vadd(vmul(b1, vload(m + k)), vmul(o1, gv));
    vf vv = vadd(vmul(b2, vload(v + k)), vmul(vmul(o2, gv), gv));
    vstore(m + k, mv); vstore(v + k, vv);
    vf den = vadd(vdiv(vsqrt(vv), sb), eps);
    vstore(p + k, vsub(vmul(vload(p + k), decay), vdiv(vmul(step, mv), den)));
  }
  if (k < i1) {
    tm mk = tmask(i1 - k);
    vf gv = vloadm(g + k, mk);
    vf mv = vadd(vmul(b1, vloadm(m + k, mk)), vmul(o1, gv));
    vf vv = vadd(vmul(b2, vloadm(v + k, mk)), vmul(vmul(o2, gv), gv));
    vstorem(m + k, mk, mv); vstorem(v + k, mk, vv);
    vf den = vadd(vdiv(vsqrt(vv), sb), eps);
    vstorem(p + k, mk, vsub(vmul(vloadm(p + k, mk), decay), vdiv(vmul(step, mv), den)));
  }
}

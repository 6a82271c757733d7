// Row and elementwise kernels natively: softmax / logSoftmax and layerNorm (forward and backward),
// GELU (erf and tanh forms) and its gradient, and the AdamW step, with AVX-512F or AVX2 + FMA.
// Each xxxPlan(heap, ...) fills this thread's plan for the call and returns its address (or null
// to decline: the WebAssembly kernels run instead); the cpu backend's threads then run its items
// (rows, blocks of rows or elements) through run(plan, phase, i0, i1).
#include "tlm.h"
#include <stdlib.h>
#include <string.h>

#define TLM_W 16
#include "simd.h"
#include "nn_body.h"
#undef TLM_W
#define TLM_W 8
#include "simd.h"
#include "nn_body.h"

enum { SOFTMAX, SOFTMAX_BACK, LAYERNORM, LAYERNORM_BACK, GELU, GELU_GRAD, ADAMW };

typedef struct {
  PlanHead head;
  int kind, op, wide;       // wide: the AVX-512 copy
  float *t[8];              // the operands, in each kernel's order (NULL: absent)
  long n, rows, per;        // row length; layerNorm backward: rows in all, rows per block
  float f[8];               // scalars
  double *part;             // layerNorm backward: per block, Σ g·x̂ then Σ g (n each)
} NnPlan;

#define REDUCE_COLS 256

static void nn_run(void *plan, int phase, long i0, long i1) {
  NnPlan *p = plan;
  float **t = p->t;
  int w = p->wide;
  switch (p->kind) {
  case SOFTMAX: (w ? softmax_rows_512 : softmax_rows_256)(t[0], t[1], p->n, p->op, i0, i1); break;
  case SOFTMAX_BACK: (w ? softmax_back_rows_512 : softmax_back_rows_256)(t[0], t[1], t[2], p->n, p->op, i0, i1); break;
  case LAYERNORM: (w ? layernorm_rows_512 : layernorm_rows_256)(t[0], t[1], t[2], t[3], t[4], t[5], p->n, p->f[0], i0, i1); break;
  case GELU: (w ? gelu_range_512 : gelu_range_256)(p->op, t[0], t[1], i0, i1); break;
  case GELU_GRAD: (w ? gelu_grad_range_512 : gelu_grad_range_256)(p->op, t[0], t[1], t[2], i0, i1); break;
  case ADAMW: (w ? adamw_range_512 : adamw_range_256)(t[0], t[1], t[2], t[3], p->f, i0, i1); break;
  case LAYERNORM_BACK:
    if (phase == 0) { // items: fixed blocks of rows, each with its own float64 partial
      for (long blk = i0; blk < i1; blk++) {
        long r0 = blk * p->per, r1 = r0 + p->per < p->rows ? r0 + p->per : p->rows;
        double *pw = p->part ? p->part + blk * 2 * p->n : NULL;
        if (pw) memset(pw, 0, 2 * p->n * sizeof(double));
        (w ? layernorm_back_rows_512 : layernorm_back_rows_256)(t[0], t[1], t[2], t[3], t[4], t[5], p->n, pw, pw ? pw + p->n : NULL, r0, r1);
      }
    } else { // items: blocks of columns; the partials summed in block order
      long blocks = (p->rows + p->per - 1) / p->per;
      for (long k = i0 * REDUCE_COLS; k < i1 * REDUCE_COLS && k < p->n; k++) {
        double sw = 0, sb = 0;
        for (long blk = 0; blk < blocks; blk++) { sw += p->part[blk * 2 * p->n + k]; sb += p->part[(blk * 2 + 1) * p->n + k]; }
        if (t[6]) t[6][k] = (float)sw;
        if (t[7]) t[7][k] = (float)sb;
      }
    }
    break;
  }
}

/**
 * Reads the call's arguments: heap, then `nt` byte offsets (-1: absent), then the rest as numbers
 * into num. Returns this kind's plan, or NULL to decline.
 */
static NnPlan *parse(napi_env env, napi_callback_info info, int kind, int nt, int nnum, double *num) {
  static __thread NnPlan plans[ADAMW + 1];
  size_t argc = 24; napi_value v[24];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  if ((int)argc != 1 + nt + nnum || !tlm_isa) return NULL;
  char *heap = tlm_heap(env, v[0]);
  if (heap == NULL) return NULL;
  NnPlan *p = &plans[kind];
  memset(p->t, 0, sizeof p->t);
  for (int i = 0; i < nt; i++) { int64_t off = tlm_i64(env, v[1 + i]); p->t[i] = off < 0 ? NULL : (float *)(heap + off); }
  for (int i = 0; i < nnum; i++) num[i] = tlm_f64(env, v[1 + nt + i]);
  p->head.run = nn_run; p->kind = kind; p->wide = tlm_isa == 2;
  return p;
}

static napi_value plan_value(napi_env env, NnPlan *p) {
  napi_value r;
  if (p == NULL) napi_get_null(env, &r); else napi_create_double(env, (double)(uintptr_t)p, &r);
  return r;
}

// softmaxPlan(heap, x, out, n, log) → plan; items: rows.
static napi_value softmax_plan(napi_env env, napi_callback_info info) {
  double a[2];
  NnPlan *p = parse(env, info, SOFTMAX, 2, 2, a);
  if (p) { p->n = (long)a[0]; p->op = a[1] != 0; }
  return plan_value(env, p);
}

// softmaxBackwardPlan(heap, y, gy, gx, n, log) → plan; items: rows.
static napi_value softmax_back_plan(napi_env env, napi_callback_info info) {
  double a[2];
  NnPlan *p = parse(env, info, SOFTMAX_BACK, 3, 2, a);
  if (p) { p->n = (long)a[0]; p->op = a[1] != 0; }
  return plan_value(env, p);
}

// layerNormPlan(heap, x, w, b, out, mean, rstd, n, eps) → plan; items: rows.
static napi_value layernorm_plan(napi_env env, napi_callback_info info) {
  double a[2];
  NnPlan *p = parse(env, info, LAYERNORM, 6, 2, a);
  if (p) { p->n = (long)a[0]; p->f[0] = (float)a[1]; }
  return plan_value(env, p);
}

// layerNormBackwardPlan(heap, x, w, mean, rstd, gy, gx, gw, gb, rows, n, per) → plan. Phase 0:
// ceil(rows / per) fixed blocks of rows (gx, and the float64 partials of gw, gb); phase 1 (gw or gb):
// ceil(n / 256) blocks of columns summing the partials in block order. So the bits of gw and gb
// do not depend on the thread count.
static napi_value layernorm_back_plan(napi_env env, napi_callback_info info) {
  static __thread double *part;
  static __thread size_t cap;
  double a[3];
  NnPlan *p = parse(env, info, LAYERNORM_BACK, 8, 3, a);
  if (p == NULL) return plan_value(env, NULL);
  p->rows = (long)a[0]; p->n = (long)a[1]; p->per = (long)a[2] < 1 ? 1 : (long)a[2];
  long blocks = (p->rows + p->per - 1) / p->per;
  p->part = NULL;
  if (p->t[6] || p->t[7]) {
    size_t need = (size_t)blocks * 2 * p->n * sizeof(double);
    if (need > cap) {
      free(part);
      cap = need + need / 4;
      if ((part = malloc(cap)) == NULL) { cap = 0; return plan_value(env, NULL); }
    }
    p->part = part;
  }
  return plan_value(env, p);
}

// geluPlan(heap, x, out, op) → plan; items: elements. op 0: erf form, 1: tanh form.
static napi_value gelu_plan(napi_env env, napi_callback_info info) {
  double a[1];
  NnPlan *p = parse(env, info, GELU, 2, 1, a);
  if (p) p->op = (int)a[0];
  return plan_value(env, p);
}

// geluGradPlan(heap, x, g, out, op) → plan; items: elements. op 4: erf form, 5: tanh form.
static napi_value gelu_grad_plan(napi_env env, napi_callback_info info) {
  double a[1];
  NnPlan *p = parse(env, info, GELU_GRAD, 3, 1, a);
  if (p) p->op = (int)a[0];
  return plan_value(env, p);
}

// adamwPlan(heap, p, g, m, v, beta1, 1-beta1, beta2, 1-beta2, 1-lr·wd, lr/bc1, √bc2, eps) → plan;
// items: elements.
static napi_value adamw_plan(napi_env env, napi_callback_info info) {
  double a[8];
  NnPlan *p = parse(env, info, ADAMW, 4, 8, a);
  if (p) for (int i = 0; i < 8; i++) p->f[i] = (float)a[i];
  return plan_value(env, p);
}

void tlm_register_nn(napi_env env, napi_value exports) {
  tlm_export(env, exports, "softmaxPlan", softmax_plan);
  tlm_export(env, exports, "softmaxBackwardPlan", softmax_back_plan);
  tlm_export(env, exports, "layerNormPlan", layernorm_plan);
  tlm_export(env, exports, "layerNormBackwardPlan", layernorm_back_plan);
  tlm_export(env, exports, "geluPlan", gelu_plan);
  tlm_export(env, exports, "geluGradPlan", gelu_grad_plan);
  tlm_export(env, exports, "adamwPlan", adamw_plan);
}

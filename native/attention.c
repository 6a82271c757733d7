// Fused scaled-dot-product attention natively, forward and backward, with AVX-512F or AVX2 + FMA:
// the layouts, mask and lse of the WebAssembly kernels (src/backend/cpu/wasm/assembly/attention.ts).
// The [L, S] matrix is never built: the forward takes MR queries at a time through scores, softmax
// and P·V (saving each row's logsumexp); the backward recomputes P from it, a block of queries at
// a time, as FlashAttention does.
//
// Layouts: q [B1, heads, L, E], k [B1, heads, S, E], v [B1, heads, S, Ev], out [B1, heads, L, Ev]
// (in the backward also gout like out, and gq, gk, gv like q, k, v) are views with unit stride along
// the last dim, given by a descriptor in the heap: per tensor, in that order, four int32 — its
// byte offset, then its strides (elements) along B1, heads and rows. lse [B1·heads, L] contiguous.
// mask: absent or an additive float mask, element (bh, i, j) at mask + b1·m0 + b2·m1 + i·m2 + j.
#include "tlm.h"
#include <stdlib.h>
#include <string.h>

enum { QT, KT, VT, OT, GOT, GQT, GKT, GVT, NT };

typedef struct {
  PlanHead head;
  int wide, causal;
  float *base[NT]; long sb[NT], sh[NT], ld[NT]; // per tensor: head (0, 0), strides along B1, heads, rows
  const float *mask; long m0, m1, m2;
  long heads, L, S, E, Ev, bq;
  float scale, *lse;
} Attn;

#define MR 4
/** Below this many queries a head, the forward reads K in place (dot products) instead of packing Kᵀ. */
#define DIRECT_L 8

static inline const float *head(const Attn *A, int t, long bh) {
  return A->base[t] + (bh / A->heads) * A->sb[t] + (bh % A->heads) * A->sh[t];
}

static inline const float *mask_row(const Attn *A, long bh, long i) {
  return A->mask ? A->mask + (bh / A->heads) * A->m0 + (bh % A->heads) * A->m1 + i * A->m2 : NULL;
}

/** This thread's scratch, at least `floats` long (kept between calls). */
static float *scratch(long floats) {
  static __thread float *buf;
  static __thread size_t cap;
  size_t need = ((size_t)floats * sizeof(float) + 63) / 64 * 64;
  if (need > cap) {
    free(buf);
    cap = (need + need / 4 + 63) / 64 * 64;
    if ((buf = aligned_alloc(64, cap)) == NULL) abort();
  }
  return buf;
}

#define TLM_W 16
#include "simd.h"
#include "attention_body.h"
#undef TLM_W
#define TLM_W 8
#include "simd.h"
#include "attention_body.h"

static void attn_run(void *plan, int phase, long i0, long i1) {
  const Attn *A = plan;
  if (phase == 0) (A->wide ? attn_forward_512 : attn_forward_256)(A, i0, i1);
  else (A->wide ? attn_backward_512 : attn_backward_256)(A, i0, i1);
}

// attentionPlan(heap, desc, mask, m0, m1, m2, heads, L, S, E, Ev, causal, scale, lse, bq, tensors)
// → plan, or null to decline. tensors: 4 (forward: phase 0, items = (bh, block of bq queries), a
// head's blocks best taken together: they share its packed Kᵀ) or 8 (backward: phase 1, items = bh).
// Offsets (desc, mask, lse) in bytes; mask -1 for none.
static napi_value attention_plan(napi_env env, napi_callback_info info) {
  static __thread Attn plans[2];
  size_t argc = 16; napi_value v[16];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  napi_value nul; napi_get_null(env, &nul);
  char *heap = argc == 16 && tlm_isa ? tlm_heap(env, v[0]) : NULL;
  if (heap == NULL) return nul;
  int nt = (int)tlm_i64(env, v[15]);
  if (nt != 4 && nt != NT) return nul;
  Attn *A = &plans[nt == NT];
  memset(A, 0, sizeof *A);
  A->head.run = attn_run; A->wide = tlm_isa == 2;
  const int32_t *desc = (const int32_t *)(heap + tlm_i64(env, v[1]));
  for (int t = 0; t < nt; t++) {
    A->base[t] = (float *)(heap + (uint32_t)desc[4 * t]);
    A->sb[t] = desc[4 * t + 1]; A->sh[t] = desc[4 * t + 2]; A->ld[t] = desc[4 * t + 3];
  }
  int64_t mask = tlm_i64(env, v[2]);
  A->mask = mask < 0 ? NULL : (const float *)(heap + mask);
  A->m0 = tlm_i64(env, v[3]); A->m1 = tlm_i64(env, v[4]); A->m2 = tlm_i64(env, v[5]);
  A->heads = tlm_i64(env, v[6]); A->L = tlm_i64(env, v[7]); A->S = tlm_i64(env, v[8]);
  A->E = tlm_i64(env, v[9]); A->Ev = tlm_i64(env, v[10]); A->causal = tlm_i64(env, v[11]) != 0;
  A->scale = (float)tlm_f64(env, v[12]); A->lse = (float *)(heap + tlm_i64(env, v[13])); A->bq = tlm_i64(env, v[14]);
  if (A->heads < 1 || A->bq < 1) return nul;
  napi_value r; napi_create_double(env, (double)(uintptr_t)A, &r);
  return r;
}

void tlm_register_attention(napi_env env, napi_value exports) {
  tlm_export(env, exports, "attentionPlan", attention_plan);
}

// Matrix products natively: C [batch, M, N] = A · B (+ bias), any strides, with AVX-512 or AVX2+FMA.
//
// Every element of C is one chain of fused multiply-adds over k in order, starting from zero, with
// the bias added after: whether it is computed by the streaming kernels (a few rows: decode steps)
// or the packed ones, alone or in a batch, on whichever thread. So a row decoded in a batch gets
// exactly the bits it gets alone (a column-major B with few rows is the one exception: its dot
// products sum 16 lanes, then add the lanes; see rows_cm_512).
#include "gemm.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>


// ---- packed GEMM (BLIS's loops): B packed once into NR-column panels, A in MC×KC blocks per thread ----
//
// The micro-kernel keeps an MR×NR tile of C in registers (AVX-512: 12×32, 24 of the 32 registers;
// AVX2: 6×16, 12 of 16) and streams a KC×NR panel of B from L1 against an MR×KC panel of A from
// L2. Packing makes every layout (transposed A or B, batched, broadcast) the same fast loop, and
// kills the cache-set conflicts a power-of-two row stride causes (2048 floats = 8 KiB).

#define KC 256
#define MC 120

// A is read in place: element (r, k) of the micro-panel at a[r·sr + k·sk]. The packed panels have
// sr = 1, sk = MR; a transposed A (a weight gradient's xᵀ) is already laid out that way with
// sk = its row stride; a row-major A has sr = its row stride, sk = 1 (twelve streams along k).
#define KERN_BODY(VEC, W, LOAD, STORE, SET1, ZERO, FMA, MR)                                         \
  VEC acc[MR][2];                                                                                   \
  _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                                          \
    acc[r][0] = first ? ZERO() : LOAD(c + r * ldc);                                                 \
    acc[r][1] = first ? ZERO() : LOAD(c + r * ldc + W);                                             \
  }                                                                                                 \
  for (long k = 0; k < kc; k++, a += sk, bp += 2 * W) {                                             \
    VEC b0 = LOAD(bp), b1 = LOAD(bp + W);                                                           \
    _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                                        \
      VEC x = SET1(a[r * sr]);                                                                      \
      acc[r][0] = FMA(x, b0, acc[r][0]);                                                            \
      acc[r][1] = FMA(x, b1, acc[r][1]);                                                            \
    }                                                                                               \
  }                                                                                                 \
  _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) { STORE(c + r * ldc, acc[r][0]); STORE(c + r * ldc + W, acc[r][1]); }

// Two copies of each kernel, one per A layout, so that the compiler sees a constant stride.
#define KERN_512(NAME, SR, SK)                                                                     \
  __attribute__((target("avx512f")))                                                              \
  static void NAME(const float *a, long sr_, long sk_, const float *bp, long kc, float *c, long ldc, int first) { \
    const long sr = SR, sk = SK; (void)sr_; (void)sk_;                                             \
    KERN_BODY(__m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_fmadd_ps, 12) \
  }
#define KERN_256(NAME, SR, SK)                                                                     \
  __attribute__((target("avx2,fma")))                                                              \
  static void NAME(const float *a, long sr_, long sk_, const float *bp, long kc, float *c, long ldc, int first) { \
    const long sr = SR, sk = SK; (void)sr_; (void)sk_;                                             \
    KERN_BODY(__m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_fmadd_ps, 6) \
  }
KERN_512(kern_512_cols, 1, sk_)   // packed panels and transposed A
KERN_512(kern_512_rows, sr_, 1)   // row-major A
KERN_256(kern_256_cols, 1, sk_)
KERN_256(kern_256_rows, sr_, 1)

typedef void (*KernFn)(const float *, long, long, const float *, long, float *, long, int);

typedef struct {
  PlanHead head;
  const float *a; long sab, sai, sak;
  const float *b; long sbb, sbk, sbj;
  float *c; long batch, M, K, N;
  const float *bias;
  int mr, nr; KernFn kern_cols, kern_rows;
  float *bp; long panels, bp_batch, b_batches;
  long mb, mc, groups, per_group;   // the compute items: batch × mb row blocks × groups of panels
  Job rows; RangeFn rows_fn; long rows_width; // the streaming path
} Gemm;

// Packed B: for each batch (one when B is broadcast), for each KC block of k, for each NR-wide
// panel of columns, kc × nr floats (columns past N are zeros).
static float *bp_at(const Gemm *g, long bb, long pc, long jp) {
  long kcb = g->K - pc < KC ? g->K - pc : KC;
  return g->bp + bb * g->bp_batch + pc * g->panels * g->nr + jp * kcb * g->nr;
}

static void pack_b(const Gemm *g, long i) {
  long bb = i / g->panels, jp = i % g->panels, j0 = jp * g->nr;
  long w = g->N - j0 < g->nr ? g->N - j0 : g->nr;
  const float *src = g->b + bb * g->sbb + j0 * g->sbj;
  for (long pc = 0; pc < g->K; pc += KC) {
    long kcb = g->K - pc < KC ? g->K - pc : KC;
    float *dst = bp_at(g, bb, pc, jp);
    if (g->sbk == 1) { // B column-major (a Linear weight used as Wᵀ): read along k
      for (long j = 0; j < g->nr; j++)
        for (long k = 0; k < kcb; k++) dst[k * g->nr + j] = j < w ? src[j * g->sbj + pc + k] : 0;
      continue;
    }
    for (long k = 0; k < kcb; k++, dst += g->nr) {
      const float *row = src + (pc + k) * g->sbk;
      if (g->sbj == 1) memcpy(dst, row, w * sizeof(float));
      else for (long j = 0; j < w; j++) dst[j] = row[j * g->sbj];
      for (long j = w; j < g->nr; j++) dst[j] = 0;
    }
  }
}

// One block of C: rows m0..m1 of one batch against panels p0..p1, over all of k.
static void compute(const Gemm *g, long it) {
  static __thread float *block; // this thread's packed A block, MC × KC
  if (block == NULL && (block = aligned_alloc(64, (size_t)MC * KC * sizeof(float))) == NULL) abort();
  float panel[12 * KC] __attribute__((aligned(64)));
  const int mr = g->mr, nr = g->nr;
  float tmp[12 * 32] __attribute__((aligned(64)));
  long bi = it / (g->mb * g->groups), ib = it / g->groups % g->mb, jg = it % g->groups;
  long m0 = ib * g->mc, m1 = m0 + g->mc < g->M ? m0 + g->mc : g->M;
  long p0 = jg * g->per_group, p1 = p0 + g->per_group < g->panels ? p0 + g->per_group : g->panels;
  const float *a = g->a + bi * g->sab;
  float *c = g->c + bi * g->M * g->N;
  long bb = g->b_batches == 1 ? 0 : bi;
  // A is packed into MR-row panels when its block meets many panels of B (the packing pays for
  // itself, and a power-of-two row stride would set the twelve row streams on the same cache sets),
  // or when it is neither row- nor column-contiguous; otherwise it is read in place.
  int pack = (g->sak == 1 && p1 - p0 >= 8) || (g->sak != 1 && g->sai != 1);
  for (long pc = 0; pc < g->K; pc += KC) {
    long kcb = g->K - pc < KC ? g->K - pc : KC;
    int first = pc == 0;
    if (pack)
      for (long m = m0; m < m1; m += mr) {
        float *dst = block + (m - m0) * kcb;
        long h = m1 - m < mr ? m1 - m : mr;
        const float *src = a + m * g->sai + pc * g->sak;
        for (long r = 0; r < h; r++) for (long k = 0; k < kcb; k++) dst[k * mr + r] = src[r * g->sai + k * g->sak];
        for (long r = h; r < mr; r++) for (long k = 0; k < kcb; k++) dst[k * mr + r] = 0;
      }
    for (long jp = p0; jp < p1; jp++) {
      const float *bpan = bp_at(g, bb, pc, jp);
      long j0 = jp * nr, w = g->N - j0 < nr ? g->N - j0 : nr;
      for (long m = m0; m < m1; m += mr) {
        long h = m1 - m < mr ? m1 - m : mr;
        float *cc = c + m * g->N + j0;
        const float *ap = a + m * g->sai + pc * g->sak;
        KernFn kern = g->sak == 1 ? g->kern_rows : g->kern_cols;
        long sr = g->sai, sk = g->sak;
        if (pack) { ap = block + (m - m0) * kcb; kern = g->kern_cols; sr = 1; sk = mr; }
        else if (h < mr) { // the last rows, fewer than MR: a zero-padded panel
          for (long k = 0; k < kcb; k++)
            for (long r = 0; r < mr; r++) panel[k * mr + r] = r < h ? ap[r * g->sai + k * g->sak] : 0;
          ap = panel; kern = g->kern_cols; sr = 1; sk = mr;
        }
        if (h == mr && w == nr) { kern(ap, sr, sk, bpan, kcb, cc, g->N, first); continue; }
        // An edge tile: through a full-size scratch tile, only the valid part read and written.
        if (!first) for (long r = 0; r < h; r++) memcpy(tmp + r * nr, cc + r * g->N, w * sizeof(float));
        kern(ap, sr, sk, bpan, kcb, tmp, nr, first);
        for (long r = 0; r < h; r++) memcpy(cc + r * g->N, tmp + r * nr, w * sizeof(float));
      }
    }
  }
  if (g->bias)
    for (long m = m0; m < m1; m++)
      for (long j = p0 * nr; j < p1 * nr && j < g->N; j++) c[m * g->N + j] += g->bias[j];
}

// Phase 0 packs B (an item per panel), phase 1 computes blocks of C, phase 2 streams a few rows
// (an item per block of columns).
static void gemm_run(void *plan, int phase, long i0, long i1) {
  const Gemm *g = plan;
  if (phase == 2) {
    long j0 = i0 * g->rows_width, j1 = i1 * g->rows_width;
    if (j1 > g->N) j1 = g->N;
    if (j0 >= j1) return;
    g->rows_fn(&g->rows, j0, j1);
    if (g->bias) for (long m = 0; m < g->M; m++) for (long j = j0; j < j1; j++) g->c[m * g->N + j] += g->bias[j];
    return;
  }
  for (long i = i0; i < i1; i++) {
    if (phase == 0) pack_b(g, i); else compute(g, i);
  }
}

/** Up to this many rows, a row-major or column-major B is streamed unpacked (packing it would cost as much as the product). */
#define STREAM_M 32
/** A row-major B of up to this many floats is streamed at any M (measured faster than packing; the bits are the packed kernel's anyway). */
#define STREAM_KN (512 * 512)

// The plan of this thread's current product (the threads that run its items read it there).
static __thread Gemm plan;
static __thread float *bp_buf;
static __thread size_t bp_cap;

// matmulPlan(heap, a, sab, sai, sak, b, sbb, sbk, sbj, c, batch, M, K, N, bias): offsets in bytes
// (bias -1 for none), strides in elements; C contiguous. Returns [plan, items of phase 0, phase,
// items of it] (phase 0 to run first when its count is > 0), or null to decline (the WebAssembly
// kernels then run).
static napi_value matmul_plan(napi_env env, napi_callback_info info) {
  size_t argc = 15; napi_value v[15];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  napi_value nul; napi_get_null(env, &nul);
  char *heap = argc == 15 && tlm_isa ? tlm_heap(env, v[0]) : NULL;
  if (heap == NULL) return nul;
  int64_t biasOff = tlm_i64(env, v[14]);
  Gemm *g = &plan;
  *g = (Gemm){
    .head = { gemm_run },
    .a = (const float *)(heap + tlm_i64(env, v[1])), .sab = tlm_i64(env, v[2]), .sai = tlm_i64(env, v[3]), .sak = tlm_i64(env, v[4]),
    .b = (const float *)(heap + tlm_i64(env, v[5])), .sbb = tlm_i64(env, v[6]), .sbk = tlm_i64(env, v[7]), .sbj = tlm_i64(env, v[8]),
    .c = (float *)(heap + tlm_i64(env, v[9])), .batch = tlm_i64(env, v[10]), .M = tlm_i64(env, v[11]), .K = tlm_i64(env, v[12]), .N = tlm_i64(env, v[13]),
    .bias = biasOff < 0 ? NULL : (const float *)(heap + biasOff),
  };
  if (g->batch > 1 && g->M < 8) return nul; // many tiny products: packing each B would cost more than it saves
  long pack = 0, phase, items;
  int stream = g->batch == 1 && g->sak == 1 &&
    ((g->sbj == 1 && (g->M <= STREAM_M || g->K * g->N <= STREAM_KN)) || (g->sbk == 1 && g->M <= STREAM_M));
  if (stream) {
    g->rows = (Job){ .a = g->a, .sa = g->sai, .b = g->b, .sk = g->sbk, .sj = g->sbj, .c = g->c, .M = g->M, .K = g->K, .N = g->N };
    g->rows_fn = g->sbj == 1 ? (tlm_isa == 2 ? rows_rm_512 : rows_rm_256) : (tlm_isa == 2 ? rows_cm_512 : rows_cm_256);
    g->rows_width = g->sbj == 1 ? (tlm_isa == 2 ? 64 : 32) : 16;
    if (g->M == 1 && g->sbj == 1 && tlm_isa == 2 && g->N >= 128 * 4) { // one row: wider strips, still several a thread
      int wide = g->N >= 256 * 8;
      g->rows_fn = wide ? row1_rm_512 : row1_rm_512_128; g->rows_width = wide ? 256 : 128;
    }
    phase = 2; items = (g->N + g->rows_width - 1) / g->rows_width;
  } else {
    g->mr = tlm_isa == 2 ? 12 : 6; g->nr = tlm_isa == 2 ? 32 : 16;
    g->kern_cols = tlm_isa == 2 ? kern_512_cols : kern_256_cols;
    g->kern_rows = tlm_isa == 2 ? kern_512_rows : kern_256_rows;
    g->panels = (g->N + g->nr - 1) / g->nr;
    g->b_batches = g->batch > 1 && g->sbb != 0 ? g->batch : 1;
    g->bp_batch = g->panels * g->nr * g->K;
    size_t need = (size_t)g->b_batches * g->bp_batch * sizeof(float);
    if (need > bp_cap) {
      free(bp_buf);
      bp_cap = (need + need / 4 + 63) / 64 * 64;
      if ((bp_buf = aligned_alloc(64, bp_cap)) == NULL) { bp_cap = 0; return nul; }
    }
    g->bp = bp_buf;
    // Blocks for every thread to take several of (the pool hands them out in turn, so uneven
    // blocks balance): rows in even blocks of whole micro-panels, columns split into groups of
    // panels when there are too few row blocks.
    g->mb = (g->M + MC - 1) / MC;
    g->mc = ((g->M + g->mb - 1) / g->mb + g->mr - 1) / g->mr * g->mr;
    long want = 16, have = g->batch * g->mb;
    long groups = have >= want ? 1 : (want + have - 1) / have;
    if (groups > g->panels) groups = g->panels;
    g->per_group = (g->panels + groups - 1) / groups;
    g->groups = (g->panels + g->per_group - 1) / g->per_group;
    pack = g->b_batches * g->panels; phase = 1; items = g->batch * g->mb * g->groups;
  }
  return tlm_plan_phases(env, &g->head, pack, phase, items);
}

void tlm_register_gemm(napi_env env, napi_value exports) {
  tlm_export(env, exports, "matmulPlan", matmul_plan);
}

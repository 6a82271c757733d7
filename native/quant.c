// Matmul on quantized weights natively: y [M, N] = x [M, K] · Wᵀ (+ bias) with W int8 (one scale
// per output row) or 4-bit (a scale per 32 inputs), laid out as src/backend/quant_format.ts says.
// No dequantized copy of W is made: each vector of W is widened to floats in registers, used by
// every row of x in the block, and dropped. Batch-1 decoding is bound by reading W once, so the
// loops stream W's rows in order (a work item is a block of rows of W, one thread each).
//
// Every output is one accumulator (a vector, k in order: 16 lanes with AVX-512, 8 with AVX2),
// summed across lanes by a fixed sequence, then the k tail by scalar fused multiply-adds, the
// scale and the bias — whatever the block shape that computed it. So a row of x gets the same bits
// alone or in a batch, on any thread.
//
//  - int8: acc += x · float(q); y = (lanes' sum + tail) · scale[n].
//  - 4-bit: x is first permuted per group of 32 to [x0 x2 … x30 | x1 x3 … x31], the order in which
//    a group's 16 bytes yield their low and high nibbles. AVX-512 turns nibbles into the
//    dequantized weights q·s with one permute each from a 16-entry table (-8..7)·s; AVX2 widens,
//    subtracts 8, converts and multiplies by s. Then acc += x · (q·s): the float product of x and
//    the dequantized weight, as the reference. Where the CPU has AVX-512 VNNI, 4-bit products take
//    the integer kernel of quant_vnni.c instead (measured 1.4× this one; quantVnni() switches).
#include "quant.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

// ---- int8 -------------------------------------------------------------------------------------

// The outputs of rows m0..m0+MB of x and rows n0..n0+NB of W, one accumulator each. Constant MB
// and NB (the callers pass literals; always_inline specializes the loops into registers). Each
// vector of W is widened and used by the MB rows at once (x is read from L1 as an operand), so that
// only the accumulators stay in registers.
#define Q8_BLOCK(NAME, TARGET, VEC, W, ZERO, LOADX, WIDEN, FMA, REDUCE)                              \
  static inline __attribute__((always_inline, target(TARGET)))                                     \
  void NAME(const Quant *p, long m0, long n0, const int MB, const int NB) {                         \
    VEC acc[4][8];                                                                                  \
    const uint8_t *w0 = p->q + n0 * p->rowBytes;                                                    \
    const float *x0 = p->x + m0 * p->K;                                                             \
    const long rb = p->rowBytes, K = p->K;                                                          \
    _Pragma("GCC unroll 4") for (int i = 0; i < MB; i++)                                            \
      _Pragma("GCC unroll 8") for (int j = 0; j < NB; j++) acc[i][j] = ZERO();                      \
    long k = 0;                                                                                     \
    for (; k + W <= K; k += W) {                                                                    \
      _Pragma("GCC unroll 8") for (int j = 0; j < NB; j++) {                                        \
        VEC w = WIDEN(w0 + j * rb + k);                                                             \
        _Pragma("GCC unroll 4") for (int i = 0; i < MB; i++) acc[i][j] = FMA(LOADX(x0 + i * K + k), w, acc[i][j]); \
      }                                                                                             \
    }                                                                                               \
    for (int i = 0; i < MB; i++)                                                                    \
      for (int j = 0; j < NB; j++) {                                                                \
        const float *xr = x0 + i * K;                                                               \
        const int8_t *wr = (const int8_t *)(w0 + j * rb);                                           \
        float s = REDUCE(acc[i][j]);                                                                \
        for (long t = k; t < K; t++) s = fmaf(xr[t], (float)wr[t], s);                              \
        float v = s * p->scales[n0 + j];                                                            \
        p->y[(m0 + i) * p->N + n0 + j] = p->bias ? v + p->bias[n0 + j] : v;                         \
      }                                                                                             \
  }

__attribute__((target("avx512f"))) static inline __m512 widen8_512(const uint8_t *b) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b)));
}
__attribute__((target("avx2,fma"))) static inline __m256 widen8_256(const uint8_t *b) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)b)));
}
__attribute__((target("avx2,fma"))) static inline float reduce_256(__m256 v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}
__attribute__((target("avx512f"))) static inline float reduce_512(__m512 v) { return _mm512_reduce_add_ps(v); }

Q8_BLOCK(q8_block_512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps, widen8_512, _mm512_fmadd_ps, reduce_512)
Q8_BLOCK(q8_block_256, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, widen8_256, _mm256_fmadd_ps, reduce_256)

// ---- 4-bit ------------------------------------------------------------------------------------

// One group's 16 bytes of row j as its dequantized weights: lo = even k, hi = odd k.
#define Q4_BLOCK(NAME, TARGET, VEC, W, ZERO, LOADX, DEQ, FMA, REDUCE)                                \
  static inline __attribute__((always_inline, target(TARGET)))                                     \
  void NAME(const Quant *p, long m0, long n0, const int MB, const int NB) {                         \
    VEC acc[4][8];                                                                                  \
    const long groups = p->K / 32, rb = p->rowBytes, K = p->K;                                      \
    const uint8_t *w0 = p->q + n0 * rb;                                                             \
    const float *s0 = p->scales + n0 * groups, *x0 = p->x + m0 * K;                                 \
    _Pragma("GCC unroll 4") for (int i = 0; i < MB; i++)                                            \
      _Pragma("GCC unroll 8") for (int j = 0; j < NB; j++) acc[i][j] = ZERO();                      \
    for (long g = 0; g < groups; g++) {                                                             \
      for (long h = 0; h < 16; h += W) { /* AVX-512: one pass of 16 bytes; AVX2: two of 8 */        \
        _Pragma("GCC unroll 8") for (int j = 0; j < NB; j++) {                                      \
          VEC lo, hi;                                                                               \
          DEQ(w0 + j * rb + g * 16 + h, s0[j * groups + g], &lo, &hi);                              \
          _Pragma("GCC unroll 4") for (int i = 0; i < MB; i++) {                                    \
            const float *xg = x0 + i * K + g * 32 + h;                                              \
            acc[i][j] = FMA(LOADX(xg), lo, acc[i][j]);                                              \
            acc[i][j] = FMA(LOADX(xg + 16), hi, acc[i][j]);                                         \
          }                                                                                         \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
    for (int i = 0; i < MB; i++)                                                                    \
      for (int j = 0; j < NB; j++) {                                                                \
        float v = REDUCE(acc[i][j]);                                                                \
        p->y[(m0 + i) * p->N + n0 + j] = p->bias ? v + p->bias[n0 + j] : v;                         \
      }                                                                                             \
  }

__attribute__((target("avx512f"))) static inline void deq4_512(const uint8_t *b, float s, __m512 *lo, __m512 *hi) {
  const __m512 levels = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  __m512 table = _mm512_mul_ps(levels, _mm512_set1_ps(s));
  __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b));
  *lo = _mm512_permutexvar_ps(v, table); // the index's low 4 bits: the low nibble
  *hi = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), table);
}
__attribute__((target("avx2,fma"))) static inline void deq4_256(const uint8_t *b, float s, __m256 *lo, __m256 *hi) {
  __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)b)), eight = _mm256_set1_epi32(8);
  __m256 sv = _mm256_set1_ps(s);
  *lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(v, _mm256_set1_epi32(15)), eight)), sv);
  *hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(v, 4), eight)), sv);
}

Q4_BLOCK(q4_block_512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps, deq4_512, _mm512_fmadd_ps, reduce_512)
Q4_BLOCK(q4_block_256, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, deq4_256, _mm256_fmadd_ps, reduce_256)

// AVX2 reads a group in two passes of 8 bytes (h = 0, 8): byte h + i holds k = 2(h + i) and
// 2(h + i) + 1, which the permuted group [evens | odds] has at h + i and 16 + h + i — the same
// permutation serves both.

// ---- the work items: rows n0..n1 of W against every row of x --------------------------------------

// Blocks of MB rows of x × NB rows of W (AVX-512: 4 × 4, 16 of its 32 registers; AVX2: 2 × 4)
// while x has MB rows left, then one row × 8 rows of W (eight independent chains for decoding's
// single row); W's last rows one at a time.
#define RANGE(NAME, TARGET, BLOCK, MB, NB)                                                          \
  __attribute__((target(TARGET))) static void NAME(const Quant *p, long n0, long n1) {             \
    long m = 0;                                                                                     \
    for (; m + MB <= p->M; m += MB) {                                                               \
      long n = n0;                                                                                  \
      for (; n + NB <= n1; n += NB) BLOCK(p, m, n, MB, NB);                                         \
      for (; n < n1; n++) BLOCK(p, m, n, MB, 1);                                                    \
    }                                                                                               \
    for (; m < p->M; m++) {                                                                         \
      long n = n0;                                                                                  \
      for (; n + 8 <= n1; n += 8) BLOCK(p, m, n, 1, 8);                                             \
      for (; n < n1; n++) BLOCK(p, m, n, 1, 1);                                                     \
    }                                                                                               \
  }

RANGE(q8_range_512, "avx512f", q8_block_512, 4, 4)
RANGE(q8_range_256, "avx2,fma", q8_block_256, 2, 4)
RANGE(q4_range_512, "avx512f", q4_block_512, 4, 4)
RANGE(q4_range_256, "avx2,fma", q4_block_256, 2, 4)

static void quant_run(void *plan, int phase, long i0, long i1) {
  (void)phase;
  const Quant *p = plan;
  long n0 = i0 * p->width, n1 = MIN(p->N, i1 * p->width);
  if (n0 >= n1) return;
  if (p->bits == 8) (tlm_isa == 2 ? q8_range_512 : q8_range_256)(p, n0, n1);
  else if (p->vnni) q4_vnni_range(p, n0, n1);
  else (tlm_isa == 2 ? q4_range_512 : q4_range_256)(p, n0, n1);
}

static __thread Quant plan;
static __thread float *xperm;
static __thread size_t xperm_cap;
/** Whether 4-bit products take the VNNI kernel (quant_vnni.c): -1 until first asked. */
static int use_vnni = -1;

/** A thread-local scratch block of at least `need` bytes (kept for the next call), or NULL. */
static void *scratch(float **buf, size_t *cap, size_t need) {
  if (need > *cap) {
    free(*buf);
    *cap = (need + need / 4 + 63) / 64 * 64;
    if ((*buf = aligned_alloc(64, *cap)) == NULL) *cap = 0;
  }
  return *buf;
}

// quantMatmulPlan(heap, x, M, K, q, scales, bits, bias, y, N): byte offsets into the heap (bias -1
// for none). Returns [plan, 0, phase, items] (no packing phase; run the items of `phase`), or
// null to decline.
static napi_value quant_matmul_plan(napi_env env, napi_callback_info info) {
  size_t argc = 10; napi_value v[10];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  napi_value nul; napi_get_null(env, &nul);
  char *heap = argc == 10 && tlm_isa ? tlm_heap(env, v[0]) : NULL;
  if (heap == NULL) return nul;
  int64_t biasOff = tlm_i64(env, v[7]);
  Quant *p = &plan;
  *p = (Quant){
    .head = { quant_run },
    .x = (const float *)(heap + tlm_i64(env, v[1])), .M = tlm_i64(env, v[2]), .K = tlm_i64(env, v[3]),
    .q = (const uint8_t *)(heap + tlm_i64(env, v[4])), .scales = (const float *)(heap + tlm_i64(env, v[5])),
    .bits = (int)tlm_i64(env, v[6]), .bias = biasOff < 0 ? NULL : (const float *)(heap + biasOff),
    .y = (float *)(heap + tlm_i64(env, v[8])), .N = tlm_i64(env, v[9]),
  };
  if ((p->bits != 8 && p->bits != 4) || (p->bits == 4 && p->K % 32 != 0) || p->M < 1) return nul;
  p->rowBytes = p->bits == 8 ? (p->K + 3) / 4 * 4 : p->K / 2;
  if (use_vnni < 0) use_vnni = quant_vnni_supported();
  if (p->bits == 4 && use_vnni) { // x quantized per row for the integer kernel (quant_vnni.c)
    p->vnni = 1;
    p->xqStride = q4_vnni_stride(p->K);
    uint8_t *buf = scratch(&xperm, &xperm_cap, (size_t)p->M * (p->xqStride + sizeof(float)));
    if (buf == NULL) return nul;
    p->xs = (const float *)(buf + p->M * p->xqStride);
    q4_vnni_prepare(p, p->x, buf, (float *)p->xs);
    p->xq = buf;
  } else if (p->bits == 4) { // x's groups permuted to the order the nibbles come in (see the top)
    float *buf = scratch(&xperm, &xperm_cap, (size_t)p->M * p->K * sizeof(float));
    if (buf == NULL) return nul;
    for (long r = 0; r < p->M * p->K / 32; r++) {
      const float *src = p->x + r * 32; float *dst = buf + r * 32;
      for (int i = 0; i < 16; i++) { dst[i] = src[2 * i]; dst[16 + i] = src[2 * i + 1]; }
    }
    p->x = buf;
  }
  p->width = 32; // rows of W per item: 24 items for a 768-wide layer, enough for the pool to balance
  long items = (p->N + p->width - 1) / p->width;
  return tlm_plan_phases(env, &p->head, 0, 1, items);
}

// quantVnni(on): turns the 4-bit VNNI kernel on (where the CPU has it) or off; returns whether it
// is in use. quantVnni() only asks.
static napi_value quant_vnni(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value v[1];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  if (argc >= 1) {
    bool on = false;
    napi_get_value_bool(env, v[0], &on);
    use_vnni = on && quant_vnni_supported();
  } else if (use_vnni < 0) use_vnni = quant_vnni_supported();
  return tlm_bool(env, use_vnni);
}

void tlm_register_quant(napi_env env, napi_value exports) {
  tlm_export(env, exports, "quantMatmulPlan", quant_matmul_plan);
  tlm_export(env, exports, "quantVnni", quant_vnni);
}

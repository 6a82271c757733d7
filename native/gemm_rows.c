// The streaming matrix products: a few rows of A (a decode step: one row per sequence) against a
// B read in place, row-major (each element one FMA chain over k in order, as the packed kernels)
// or column-major (dot products of 16 lanes, then the lanes added).
#include "gemm.h"
#include <immintrin.h>
#include <math.h>


// ---- row-major B (sj == 1): C[m, j0:j0+W] = sum_k a[m,k] * B[k, j0:j0+W] -------------------------

__attribute__((target("avx512f")))
void rows_rm_512(const Job *J, long j0, long j1) {
  long j = j0;
  for (; j + 64 <= j1; j += 64) {
    long m = 0;
    // Four rows at a time: 16 accumulators + 4 B vectors of AVX-512's 32 registers, each load of B
    // serving four rows.
    for (; m + 4 <= J->M; m += 4) {
      const float *a0 = J->a + m * J->sa, *a1 = a0 + J->sa, *a2 = a1 + J->sa, *a3 = a2 + J->sa;
      __m512 z = _mm512_setzero_ps();
      __m512 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
      __m512 c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
      const float *bk = J->b + j;
      for (long k = 0; k < J->K; k++, bk += J->sk) {
        __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16), b2 = _mm512_loadu_ps(bk + 32), b3 = _mm512_loadu_ps(bk + 48);
        __m512 x = _mm512_set1_ps(a0[k]);
        c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01); c02 = _mm512_fmadd_ps(x, b2, c02); c03 = _mm512_fmadd_ps(x, b3, c03);
        x = _mm512_set1_ps(a1[k]);
        c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11); c12 = _mm512_fmadd_ps(x, b2, c12); c13 = _mm512_fmadd_ps(x, b3, c13);
        x = _mm512_set1_ps(a2[k]);
        c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21); c22 = _mm512_fmadd_ps(x, b2, c22); c23 = _mm512_fmadd_ps(x, b3, c23);
        x = _mm512_set1_ps(a3[k]);
        c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31); c32 = _mm512_fmadd_ps(x, b2, c32); c33 = _mm512_fmadd_ps(x, b3, c33);
      }
      float *c0 = J->c + m * J->N + j, *c1 = c0 + J->N, *c2 = c1 + J->N, *c3 = c2 + J->N;
      _mm512_storeu_ps(c0, c00); _mm512_storeu_ps(c0 + 16, c01); _mm512_storeu_ps(c0 + 32, c02); _mm512_storeu_ps(c0 + 48, c03);
      _mm512_storeu_ps(c1, c10); _mm512_storeu_ps(c1 + 16, c11); _mm512_storeu_ps(c1 + 32, c12); _mm512_storeu_ps(c1 + 48, c13);
      _mm512_storeu_ps(c2, c20); _mm512_storeu_ps(c2 + 16, c21); _mm512_storeu_ps(c2 + 32, c22); _mm512_storeu_ps(c2 + 48, c23);
      _mm512_storeu_ps(c3, c30); _mm512_storeu_ps(c3 + 16, c31); _mm512_storeu_ps(c3 + 32, c32); _mm512_storeu_ps(c3 + 48, c33);
    }
    for (; m + 2 <= J->M; m += 2) {
      const float *a0 = J->a + m * J->sa, *a1 = a0 + J->sa;
      __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
      const float *bk = J->b + j;
      for (long k = 0; k < J->K; k++, bk += J->sk) {
        __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16), b2 = _mm512_loadu_ps(bk + 32), b3 = _mm512_loadu_ps(bk + 48);
        __m512 x = _mm512_set1_ps(a0[k]);
        c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01); c02 = _mm512_fmadd_ps(x, b2, c02); c03 = _mm512_fmadd_ps(x, b3, c03);
        x = _mm512_set1_ps(a1[k]);
        c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11); c12 = _mm512_fmadd_ps(x, b2, c12); c13 = _mm512_fmadd_ps(x, b3, c13);
      }
      float *c0 = J->c + m * J->N + j, *c1 = c0 + J->N;
      _mm512_storeu_ps(c0, c00); _mm512_storeu_ps(c0 + 16, c01); _mm512_storeu_ps(c0 + 32, c02); _mm512_storeu_ps(c0 + 48, c03);
      _mm512_storeu_ps(c1, c10); _mm512_storeu_ps(c1 + 16, c11); _mm512_storeu_ps(c1 + 32, c12); _mm512_storeu_ps(c1 + 48, c13);
    }
    for (; m < J->M; m++) {
      const float *a0 = J->a + m * J->sa;
      __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
      const float *bk = J->b + j;
      for (long k = 0; k < J->K; k++, bk += J->sk) {
        __m512 x = _mm512_set1_ps(a0[k]);
        c00 = _mm512_fmadd_ps(x, _mm512_loadu_ps(bk), c00); c01 = _mm512_fmadd_ps(x, _mm512_loadu_ps(bk + 16), c01);
        c02 = _mm512_fmadd_ps(x, _mm512_loadu_ps(bk + 32), c02); c03 = _mm512_fmadd_ps(x, _mm512_loadu_ps(bk + 48), c03);
      }
      float *c0 = J->c + m * J->N + j;
      _mm512_storeu_ps(c0, c00); _mm512_storeu_ps(c0 + 16, c01); _mm512_storeu_ps(c0 + 32, c02); _mm512_storeu_ps(c0 + 48, c03);
    }
  }
  for (; j < j1; j++) // the tail, one column at a time: the same fused multiply-adds, scalar
    for (long m = 0; m < J->M; m++) {
      const float *a0 = J->a + m * J->sa; float s = 0;
      for (long k = 0; k < J->K; k++) s = fmaf(a0[k], J->b[k * J->sk + j], s);
      J->c[m * J->N + j] = s;
    }
}

// One row (a single sequence's decode step): strips of W columns, W/16 accumulators, so each row of
// B is read W floats at a time (whole cache lines in a row, fewer pages touched per byte than the
// 64-wide strips of several rows). The same FMA chain per element as rows_rm_512.
#define ROW1(NAME, W)                                                                              \
  __attribute__((target("avx512f")))                                                              \
  void NAME(const Job *J, long j0, long j1) {                                                      \
    long j = j0;                                                                                   \
    for (; j + W <= j1; j += W) {                                                                  \
      __m512 acc[W / 16];                                                                          \
      _Pragma("GCC unroll 16") for (int q = 0; q < W / 16; q++) acc[q] = _mm512_setzero_ps();      \
      const float *bk = J->b + j, *a0 = J->a;                                                      \
      for (long k = 0; k < J->K; k++, bk += J->sk) {                                               \
        __m512 x = _mm512_set1_ps(a0[k]);                                                          \
        _Pragma("GCC unroll 16") for (int q = 0; q < W / 16; q++)                                  \
          acc[q] = _mm512_fmadd_ps(x, _mm512_loadu_ps(bk + 16 * q), acc[q]);                       \
      }                                                                                            \
      _Pragma("GCC unroll 16") for (int q = 0; q < W / 16; q++) _mm512_storeu_ps(J->c + j + 16 * q, acc[q]); \
    }                                                                                              \
    if (j < j1) rows_rm_512(J, j, j1);                                                             \
  }
ROW1(row1_rm_512, 256)
ROW1(row1_rm_512_128, 128)

__attribute__((target("avx2,fma")))
void rows_rm_256(const Job *J, long j0, long j1) {
  long j = j0;
  for (; j + 32 <= j1; j += 32) {
    long m = 0;
    for (; m + 2 <= J->M; m += 2) {
      const float *a0 = J->a + m * J->sa, *a1 = a0 + J->sa;
      __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
      const float *bk = J->b + j;
      for (long k = 0; k < J->K; k++, bk += J->sk) {
        __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8), b2 = _mm256_loadu_ps(bk + 16), b3 = _mm256_loadu_ps(bk + 24);
        __m256 x = _mm256_set1_ps(a0[k]);
        c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); c02 = _mm256_fmadd_ps(x, b2, c02); c03 = _mm256_fmadd_ps(x, b3, c03);
        x = _mm256_set1_ps(a1[k]);
        c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); c12 = _mm256_fmadd_ps(x, b2, c12); c13 = _mm256_fmadd_ps(x, b3, c13);
      }
      float *c0 = J->c + m * J->N + j, *c1 = c0 + J->N;
      _mm256_storeu_ps(c0, c00); _mm256_storeu_ps(c0 + 8, c01); _mm256_storeu_ps(c0 + 16, c02); _mm256_storeu_ps(c0 + 24, c03);
      _mm256_storeu_ps(c1, c10); _mm256_storeu_ps(c1 + 8, c11); _mm256_storeu_ps(c1 + 16, c12); _mm256_storeu_ps(c1 + 24, c13);
    }
    for (; m < J->M; m++) {
      const float *a0 = J->a + m * J->sa;
      __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
      const float *bk = J->b + j;
      for (long k = 0; k < J->K; k++, bk += J->sk) {
        __m256 x = _mm256_set1_ps(a0[k]);
        c00 = _mm256_fmadd_ps(x, _mm256_loadu_ps(bk), c00); c01 = _mm256_fmadd_ps(x, _mm256_loadu_ps(bk + 8), c01);
        c02 = _mm256_fmadd_ps(x, _mm256_loadu_ps(bk + 16), c02); c03 = _mm256_fmadd_ps(x, _mm256_loadu_ps(bk + 24), c03);
      }
      float *c0 = J->c + m * J->N + j;
      _mm256_storeu_ps(c0, c00); _mm256_storeu_ps(c0 + 8, c01); _mm256_storeu_ps(c0 + 16, c02); _mm256_storeu_ps(c0 + 24, c03);
    }
  }
  for (; j < j1; j++)
    for (long m = 0; m < J->M; m++) {
      const float *a0 = J->a + m * J->sa; float s = 0;
      for (long k = 0; k < J->K; k++) s = fmaf(a0[k], J->b[k * J->sk + j], s);
      J->c[m * J->N + j] = s;
    }
}

// ---- column-major B (sk == 1): C[m, j] = dot(a[m, :], B[:, j]), B's columns contiguous ------------

// Each element: 16 lanes, lane l summing k ≡ l (mod 16) in order, added up by _mm512_reduce_add_ps,
// then the k tail one by one — whether computed alone or in a 4×4 block (which shares each load of
// a column among four rows and of a row among four columns).
__attribute__((target("avx512f")))
static float dot_512(const float *x, const float *y, long K) {
  __m512 p = _mm512_setzero_ps();
  long k = 0;
  for (; k + 16 <= K; k += 16) p = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(y + k), p);
  float s = _mm512_reduce_add_ps(p);
  for (; k < K; k++) s = fmaf(x[k], y[k], s);
  return s;
}

__attribute__((target("avx512f")))
static void block4x4_512(const Job *J, long m, long j) {
  const float *a0 = J->a + m * J->sa, *a1 = a0 + J->sa, *a2 = a1 + J->sa, *a3 = a2 + J->sa;
  const float *b0 = J->b + j * J->sj, *b1 = b0 + J->sj, *b2 = b1 + J->sj, *b3 = b2 + J->sj;
  __m512 z = _mm512_setzero_ps();
  __m512 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
  __m512 c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
  long k = 0, K = J->K;
  for (; k + 16 <= K; k += 16) {
    __m512 y0 = _mm512_loadu_ps(b0 + k), y1 = _mm512_loadu_ps(b1 + k), y2 = _mm512_loadu_ps(b2 + k), y3 = _mm512_loadu_ps(b3 + k);
    __m512 x = _mm512_loadu_ps(a0 + k);
    c00 = _mm512_fmadd_ps(x, y0, c00); c01 = _mm512_fmadd_ps(x, y1, c01); c02 = _mm512_fmadd_ps(x, y2, c02); c03 = _mm512_fmadd_ps(x, y3, c03);
    x = _mm512_loadu_ps(a1 + k);
    c10 = _mm512_fmadd_ps(x, y0, c10); c11 = _mm512_fmadd_ps(x, y1, c11); c12 = _mm512_fmadd_ps(x, y2, c12); c13 = _mm512_fmadd_ps(x, y3, c13);
    x = _mm512_loadu_ps(a2 + k);
    c20 = _mm512_fmadd_ps(x, y0, c20); c21 = _mm512_fmadd_ps(x, y1, c21); c22 = _mm512_fmadd_ps(x, y2, c22); c23 = _mm512_fmadd_ps(x, y3, c23);
    x = _mm512_loadu_ps(a3 + k);
    c30 = _mm512_fmadd_ps(x, y0, c30); c31 = _mm512_fmadd_ps(x, y1, c31); c32 = _mm512_fmadd_ps(x, y2, c32); c33 = _mm512_fmadd_ps(x, y3, c33);
  }
  const float *as[4] = { a0, a1, a2, a3 }, *bs[4] = { b0, b1, b2, b3 };
  __m512 acc[4][4] = { { c00, c01, c02, c03 }, { c10, c11, c12, c13 }, { c20, c21, c22, c23 }, { c30, c31, c32, c33 } };
  for (int r = 0; r < 4; r++)
    for (int q = 0; q < 4; q++) {
      float s = _mm512_reduce_add_ps(acc[r][q]);
      for (long t = k; t < K; t++) s = fmaf(as[r][t], bs[q][t], s);
      J->c[(m + r) * J->N + j + q] = s;
    }
}

__attribute__((target("avx512f")))
void rows_cm_512(const Job *J, long j0, long j1) {
  long j = j0;
  for (; j + 4 <= j1; j += 4) {
    long m = 0;
    for (; m + 4 <= J->M; m += 4) block4x4_512(J, m, j);
    for (; m < J->M; m++)
      for (long q = j; q < j + 4; q++) J->c[m * J->N + q] = dot_512(J->a + m * J->sa, J->b + q * J->sj, J->K);
  }
  for (; j < j1; j++)
    for (long m = 0; m < J->M; m++) J->c[m * J->N + j] = dot_512(J->a + m * J->sa, J->b + j * J->sj, J->K);
}

__attribute__((target("avx2,fma")))
static float dot_256(const float *x, const float *y, long K) {
  __m256 p = _mm256_setzero_ps(), q = p;
  long k = 0;
  for (; k + 16 <= K; k += 16) { p = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k), p); q = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(y + k + 8), q); }
  __m256 v = _mm256_add_ps(p, q);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  float s = _mm_cvtss_f32(h);
  for (; k < K; k++) s = fmaf(x[k], y[k], s);
  return s;
}

__attribute__((target("avx2,fma")))
void rows_cm_256(const Job *J, long j0, long j1) {
  for (long j = j0; j < j1; j++) {
    const float *col = J->b + j * J->sj;
    for (long m = 0; m < J->M; m++) J->c[m * J->N + j] = dot_256(J->a + m * J->sa, col, J->K);
  }
}

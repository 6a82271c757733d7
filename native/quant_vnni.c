// The 4-bit matmul on integer dot products (AVX-512 VNNI's vpdpbusd: 64 byte products per
// instruction), used where the CPU has it: widening 4-bit weights to floats costs more than
// reading them (measured: ~20 G weights/s per core on the float path, below what memory delivers),
// and integer products need no widening at all.
//
// Each row of x is quantized on the fly, symmetric int8 with one scale: xs = max|x| / 127,
// xq = round(x / xs) (halves away from zero) in [-127, 127]. Then for a row n of W,
//   y = xs · Σ_groups scale[n, g] · Σ_{k in g} xq[k] · q[n, k]
// with the inner sums exact in int32: q = u - 8 for the stored nibble u, so Σ xq·q = Σ xq·u - 8·Σ xq,
// the second term precomputed per row of x. The result differs from the float kernels' by x's
// rounding, at most xs/2 · Σ_k |q·scale| per output; every output is computed by the same sequence
// whatever M or the thread (batch-invariant).
//
// Quantized x, per row, in blocks of 4 groups (128 inputs) — the 64 bytes of W a zmm load takes:
//   64 bytes: xq of the even k of the 4 groups (16 each: [g0 evens | g1 evens | g2 | g3]),
//   64 bytes: xq of the odd k, the same way,
//   16 int32: -8 · (the sum of the 8 xq that meet int32 lane L of vpdpbusd: group L/4's evens and
//             odds at positions 4(L%4) .. 4(L%4)+3) — the accumulator's start.
// A last block of fewer than 4 groups is zero-padded (and W's read of it masked).
#include "quant.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define BLOCK_BYTES 192

int quant_vnni_supported(void) {
  const char *off = getenv("TLM_QUANT_VNNI");
  return tlm_isa == 2 && __builtin_cpu_supports("avx512vnni") && !(off && strcmp(off, "0") == 0);
}

long q4_vnni_stride(long K) { return (K / 32 + 3) / 4 * BLOCK_BYTES; }

// x's rows rounded to int8 and laid out as above, 32 inputs (a group) a step: the scale by a true
// division and halves away from zero, as roundf (trunc, then a step away where |frac| >= 0.5).
__attribute__((target("avx512f,avx512vnni")))
void q4_vnni_prepare(const Quant *p, const float *x, uint8_t *xq, float *xs) {
  const long G = p->K / 32, stride = q4_vnni_stride(p->K);
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), lim = _mm512_set1_ps(127.0f);
  for (long m = 0; m < p->M; m++) {
    const float *xr = x + m * p->K;
    __m512 amax = _mm512_setzero_ps();
    for (long k = 0; k < p->K; k += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(xr + k)));
    const float s = _mm512_reduce_max_ps(amax) / 127;
    xs[m] = s;
    const __m512 sv = _mm512_set1_ps(s == 0 ? 1 : s);
    uint8_t *row = xq + m * stride;
    memset(row, 0, stride);
    for (long g = 0; g < G; g++) {
      __m512i q[2];
      for (int h = 0; h < 2; h++) {
        __m512 v = _mm512_div_ps(_mm512_loadu_ps(xr + g * 32 + 16 * h), sv);
        __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
        __m512 step = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(one), // ±1, the sign of v
          _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000))));
        t = _mm512_mask_add_ps(t, up, t, step);
        t = _mm512_max_ps(_mm512_min_ps(t, lim), _mm512_sub_ps(_mm512_setzero_ps(), lim));
        q[h] = s == 0 ? _mm512_setzero_si512() : _mm512_cvttps_epi32(t);
      }
      __m512i e = _mm512_permutex2var_epi32(q[0], evens, q[1]), o = _mm512_permutex2var_epi32(q[0], odds, q[1]);
      int8_t *even = (int8_t *)row + g / 4 * BLOCK_BYTES + g % 4 * 16, *odd = even + 64;
      _mm_storeu_si128((__m128i *)even, _mm512_cvtepi32_epi8(e));
      _mm_storeu_si128((__m128i *)odd, _mm512_cvtepi32_epi8(o));
      // -8 · the sum of the 8 xq of each int32 lane of vpdpbusd (4 evens and 4 odds).
      int32_t sums[16];
      _mm512_storeu_si512(sums, _mm512_add_epi32(e, o));
      int32_t *init = (int32_t *)(row + g / 4 * BLOCK_BYTES + 128) + g % 4 * 4;
      for (int L = 0; L < 4; L++) init[L] -= 8 * (sums[4 * L] + sums[4 * L + 1] + sums[4 * L + 2] + sums[4 * L + 3]);
    }
  }
}

// Rows m0..m0+MB of x against rows n0..n0+NB of W (constant MB, NB: specialized by always_inline).
static inline __attribute__((always_inline, target("avx512f,avx512vnni")))
void q4_vnni_block(const Quant *p, long m0, long n0, const int MB, const int NB) {
  __m512 acc[4][8];
  _Pragma("GCC unroll 4") for (int i = 0; i < MB; i++) _Pragma("GCC unroll 8") for (int j = 0; j < NB; j++) acc[i][j] = _mm512_setzero_ps();
  const long G = p->K / 32, blocks = (G + 3) / 4, rb = p->rowBytes, xstride = p->xqStride;
  const uint8_t *w0 = p->q + n0 * rb, *x0 = p->xq + m0 * xstride;
  const float *s0 = p->scales + n0 * G;
  const __m512i nibble = _mm512_set1_epi32(0x0F0F0F0F);
  const int pf = n0 + 2 * NB <= p->N; // the next NB rows exist
  const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3); // group of each int32 lane
  for (long b = 0; b < blocks; b++) {
    const long r = MIN(4, G - 4 * b);
    const __mmask16 wmask = (__mmask16)((1u << (4 * r)) - 1), smask = (__mmask16)((1u << r) - 1);
    // Each row of W's 64 bytes: its nibbles and the 4 groups' scales, used by the MB rows of x at once.
    _Pragma("GCC unroll 8") for (int j = 0; j < NB; j++) {
      // The same bytes of the next NB rows, ahead of need: one core's demand misses alone leave
      // DRAM half idle (measured 15-20 GB/s a core without this).
      if (pf) _mm_prefetch((const char *)(w0 + (j + NB) * rb + b * 64), _MM_HINT_T0);
      __m512i v = r == 4 ? _mm512_loadu_si512(w0 + j * rb + b * 64) : _mm512_maskz_loadu_epi32(wmask, w0 + j * rb + b * 64);
      __m512i lo = _mm512_and_si512(v, nibble), hi = _mm512_and_si512(_mm512_srli_epi32(v, 4), nibble);
      __m512 sc = _mm512_permutexvar_ps(spread, r == 4 ? _mm512_castps128_ps512(_mm_loadu_ps(s0 + j * G + 4 * b)) : _mm512_maskz_loadu_ps(smask, s0 + j * G + 4 * b));
      _Pragma("GCC unroll 4") for (int i = 0; i < MB; i++) {
        const uint8_t *xb = x0 + i * xstride + b * BLOCK_BYTES;
        __m512i t = _mm512_dpbusd_epi32(_mm512_loadu_si512(xb + 128), lo, _mm512_loadu_si512(xb));
        t = _mm512_dpbusd_epi32(t, hi, _mm512_loadu_si512(xb + 64));
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), sc, acc[i][j]);
      }
    }
  }
  for (int i = 0; i < MB; i++)
    for (int j = 0; j < NB; j++) {
      float v = _mm512_reduce_add_ps(acc[i][j]) * p->xs[m0 + i];
      p->y[(m0 + i) * p->N + n0 + j] = p->bias ? v + p->bias[n0 + j] : v;
    }
}

// As the float kernels' ranges: 4 × 4 blocks while x has 4 rows left, then single rows × 8 rows of W.
__attribute__((target("avx512f,avx512vnni")))
void q4_vnni_range(const Quant *p, long n0, long n1) {
  long m = 0;
  for (; m + 4 <= p->M; m += 4) {
    long n = n0;
    for (; n + 4 <= n1; n += 4) q4_vnni_block(p, m, n, 4, 4);
    for (; n < n1; n++) q4_vnni_block(p, m, n, 4, 1);
  }
  for (; m < p->M; m++) {
    long n = n0;
    for (; n + 8 <= n1; n += 8) q4_vnni_block(p, m, n, 1, 8);
    for (; n < n1; n++) q4_vnni_block(p, m, n, 1, 1);
  }
}

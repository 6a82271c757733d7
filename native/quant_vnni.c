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

void q4_vnni_prepare(const Quant *p, const float *x, uint8_t *xq, float *xs) {
  const long G = p->K / 32, stride = q4_vnni_stride(p->K);
  for (long m = 0; m < p->M; m++) {
    const float *xr = x + m * p->K;
    float amax = 0;
    for (long k = 0; k < p->K; k++) amax = fmaxf(amax, fabsf(xr[k]));
    const float s = amax / 127;
    xs[m] = s;
    uint8_t *row = xq + m * stride;
    memset(row, 0, stride);
    for (long g = 0; g < G; g++) {
      int8_t *even = (int8_t *)row + g / 4 * BLOCK_BYTES + g % 4 * 16, *odd = even + 64;
      int32_t *init = (int32_t *)(row + g / 4 * BLOCK_BYTES + 128) + g % 4 * 4;
      for (int j = 0; j < 16; j++) {
        for (int h = 0; h < 2; h++) {
          float v = s == 0 ? 0 : roundf(xr[g * 32 + 2 * j + h] / s);
          int8_t qv = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
          (h ? odd : even)[j] = qv;
          init[j / 4] -= 8 * qv;
        }
      }
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
  const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3); // group of each int32 lane
  for (long b = 0; b < blocks; b++) {
    const long r = MIN(4, G - 4 * b);
    const __mmask16 wmask = (__mmask16)((1u << (4 * r)) - 1), smask = (__mmask16)((1u << r) - 1);
    // Each row of W's 64 bytes: its nibbles and the 4 groups' scales, used by the MB rows of x at once.
    _Pragma("GCC unroll 8") for (int j = 0; j < NB; j++) {
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

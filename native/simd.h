// Vector primitives and math (exp, erfc, GELU) for the native kernels, written once for both
// instruction sets. Not include-guarded on purpose: a kernel file includes it (and its own
// *_body.h template) twice, with TLM_W 16 (AVX-512F) and then 8 (AVX2 + FMA); every name below is
// a macro that SFX() suffixes with _512 or _256, so the two copies live side by side.
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#undef SFX
#undef TGT
#undef W
#undef vf
#undef tm

#if TLM_W == 16
#define SFX(f) f##_512
#define TGT __attribute__((target("avx512f")))
#define W 16
#define vf __m512
#define tm __mmask16
#else
#define SFX(f) f##_256
#define TGT __attribute__((target("avx2,fma")))
#define W 8
#define vf __m256
#define tm __m256i
#endif

#ifndef TLM_SIMD_NAMES
#define TLM_SIMD_NAMES
#define INL static inline __attribute__((always_inline))
#define vzero SFX(vzero)
#define vset1 SFX(vset1)
#define vload SFX(vload)
#define vstore SFX(vstore)
#define tmask SFX(tmask)
#define vloadm SFX(vloadm)
#define vstorem SFX(vstorem)
#define vadd SFX(vadd)
#define vsub SFX(vsub)
#define vmul SFX(vmul)
#define vdiv SFX(vdiv)
#define vfma SFX(vfma)
#define vfnma SFX(vfnma)
#define vmax SFX(vmax)
#define vmin SFX(vmin)
#define vsqrt SFX(vsqrt)
#define vabs SFX(vabs)
#define vsel_ge SFX(vsel_ge)
#define vsel_gt SFX(vsel_gt)
#define vfill_from SFX(vfill_from)
#define hsum SFX(hsum)
#define hmax SFX(hmax)
#define vexp SFX(vexp)
#define verfc SFX(verfc)
#define vgelu SFX(vgelu)
#define vgelu_grad SFX(vgelu_grad)
#define vsig2u SFX(vsig2u)
#define vgelu_tanh SFX(vgelu_tanh)
#define vgelu_tanh_grad SFX(vgelu_tanh_grad)
#define vadd_f64 SFX(vadd_f64)
#define vexp_bits SFX(vexp_bits)
#define vcast_i SFX(vcast_i)
#endif

#if TLM_W == 16
INL TGT vf vzero(void) { return _mm512_setzero_ps(); }
INL TGT vf vset1(float x) { return _mm512_set1_ps(x); }
INL TGT vf vload(const float *p) { return _mm512_loadu_ps(p); }
INL TGT void vstore(float *p, vf v) { _mm512_storeu_ps(p, v); }
/** The mask of the first n lanes (0 <= n <= W). */
INL TGT tm tmask(long n) { return n >= 16 ? (tm)0xffff : (tm)((1u << n) - 1); }
/** Lanes outside the mask read as 0 (and touch no memory). */
INL TGT vf vloadm(const float *p, tm m) { return _mm512_maskz_loadu_ps(m, p); }
INL TGT void vstorem(float *p, tm m, vf v) { _mm512_mask_storeu_ps(p, m, v); }
INL TGT vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
INL TGT vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
INL TGT vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
INL TGT vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
INL TGT vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
INL TGT vf vfnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
/** max/min that keep a NaN in x (the second operand wins an unordered compare). */
INL TGT vf vmax(vf lo, vf x) { return _mm512_max_ps(lo, x); }
INL TGT vf vmin(vf hi, vf x) { return _mm512_min_ps(hi, x); }
INL TGT vf vsqrt(vf a) { return _mm512_sqrt_ps(a); }
INL TGT vf vabs(vf a) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff))); }
/** x >= y ? a : b, lane by lane. */
INL TGT vf vsel_ge(vf x, vf y, vf a, vf b) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, y, _CMP_GE_OQ), b, a); }
INL TGT vf vsel_gt(vf x, vf y, vf a, vf b) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, y, _CMP_GT_OQ), b, a); }
/** v with lanes n.. replaced by fill. */
INL TGT vf vfill_from(vf v, long n, float fill) { return _mm512_mask_blend_ps(tmask(n), _mm512_set1_ps(fill), v); }
INL TGT float hsum(vf v) { return _mm512_reduce_add_ps(v); }
INL TGT float hmax(vf v) { return _mm512_reduce_max_ps(v); }
INL TGT __m512i vexp_bits(vf t) { return _mm512_slli_epi32(_mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127)), 23); }
INL TGT vf vcast_i(__m512i i) { return _mm512_castsi512_ps(i); }
/** p[0:W] += v, in float64. */
INL TGT void vadd_f64(double *p, vf v) {
  __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), _mm512_cvtps_pd(_mm512_castps512_ps256(v))));
  _mm512_storeu_pd(p + 8, _mm512_add_pd(_mm512_loadu_pd(p + 8), _mm512_cvtps_pd(hi)));
}
#else
INL TGT vf vzero(void) { return _mm256_setzero_ps(); }
INL TGT vf vset1(float x) { return _mm256_set1_ps(x); }
INL TGT vf vload(const float *p) { return _mm256_loadu_ps(p); }
INL TGT void vstore(float *p, vf v) { _mm256_storeu_ps(p, v); }
INL TGT tm tmask(long n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > 8 ? 8 : n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
INL TGT vf vloadm(const float *p, tm m) { return _mm256_maskload_ps(p, m); }
INL TGT void vstorem(float *p, tm m, vf v) { _mm256_maskstore_ps(p, m, v); }
INL TGT vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
INL TGT vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
INL TGT vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
INL TGT vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
INL TGT vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
INL TGT vf vfnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
INL TGT vf vmax(vf lo, vf x) { return _mm256_max_ps(lo, x); }
INL TGT vf vmin(vf hi, vf x) { return _mm256_min_ps(hi, x); }
INL TGT vf vsqrt(vf a) { return _mm256_sqrt_ps(a); }
INL TGT vf vabs(vf a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
INL TGT vf vsel_ge(vf x, vf y, vf a, vf b) { return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, y, _CMP_GE_OQ)); }
INL TGT vf vsel_gt(vf x, vf y, vf a, vf b) { return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, y, _CMP_GT_OQ)); }
INL TGT vf vfill_from(vf v, long n, float fill) { return _mm256_blendv_ps(_mm256_set1_ps(fill), v, _mm256_castsi256_ps(tmask(n))); }
INL TGT float hsum(vf v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}
INL TGT float hmax(vf v) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
}
INL TGT __m256i vexp_bits(vf t) { return _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127)), 23); }
INL TGT vf vcast_i(__m256i i) { return _mm256_castsi256_ps(i); }
INL TGT void vadd_f64(double *p, vf v) {
  _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), _mm256_cvtps_pd(_mm256_castps256_ps128(v))));
  _mm256_storeu_pd(p + 4, _mm256_add_pd(_mm256_loadu_pd(p + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
}
#endif

// e^x, the Cephes expf of the WebAssembly kernels (assembly/simd.ts) with fused multiply-adds:
// e^x = 2^n · e^r, n = round(x·log2 e) by the 1.5·2^23 trick, r = x - n·ln2 (ln2 in two parts),
// e^r = 1 + r + r²·P(r). Arguments clamp to [-88, 88]: at -88 and below 2^n is exactly 0, so
// exp(-inf) = 0 (a masked score); NaN stays NaN. Measured against double exp: see test/native_nn.
INL TGT vf vexp(vf x) {
  const vf magic = vset1(12582912.0f);
  vf xc = vmin(vset1(88.0f), vmax(vset1(-88.0f), x));
  vf t = vfma(xc, vset1(1.44269504088896341f), magic);
  vf n = vsub(t, magic);
  vf r = vfnma(n, vset1(0.693359375f), xc);
  r = vfnma(n, vset1(-2.12194440e-4f), r);
  vf p = vfma(vset1(1.9875691500e-4f), r, vset1(1.3981999507e-3f));
  p = vfma(p, r, vset1(8.3334519073e-3f));
  p = vfma(p, r, vset1(4.1665795894e-2f));
  p = vfma(p, r, vset1(1.6666665459e-1f));
  p = vfma(p, r, vset1(5.0000001201e-1f));
  p = vadd(vfma(p, vmul(r, r), r), vset1(1.0f));
  return vmul(p, vcast_i(vexp_bits(t)));
}

/** erfc with fractional error below 1.2e-7 (the Chebyshev fit of the WebAssembly and TypeScript kernels). */
INL TGT vf verfc(vf x) {
  vf z = vabs(x), one = vset1(1.0f);
  vf t = vdiv(one, vfma(vset1(0.5f), z, one));
  vf p = vfma(t, vset1(0.17087277f), vset1(-0.82215223f));
  p = vfma(t, p, vset1(1.48851587f));
  p = vfma(t, p, vset1(-1.13520398f));
  p = vfma(t, p, vset1(0.27886807f));
  p = vfma(t, p, vset1(-0.18628806f));
  p = vfma(t, p, vset1(0.09678418f));
  p = vfma(t, p, vset1(0.37409196f));
  p = vfma(t, p, vset1(1.00002368f));
  p = vfma(t, p, vset1(-1.26551223f));
  vf r = vmul(t, vexp(vfnma(z, z, p)));
  return vsel_ge(x, vzero(), r, vsub(vset1(2.0f), r));
}

/** GELU, erf form: x/2 · erfc(-x/√2). */
INL TGT vf vgelu(vf x) {
  return vmul(vmul(vset1(0.5f), x), verfc(vmul(x, vset1(-0.7071067811865476f))));
}

/** d gelu/dx · g = g · (Φ(x) + x·φ(x)). */
INL TGT vf vgelu_grad(vf x, vf g) {
  vf cdf = vmul(vset1(0.5f), verfc(vmul(x, vset1(-0.7071067811865476f))));
  vf pdf = vmul(vexp(vmul(vmul(x, x), vset1(-0.5f))), vset1(0.3989422804014327f));
  return vmul(g, vfma(x, pdf, cdf));
}

/** σ(2u), u = √(2/π)(x + 0.044715x³): 1 + tanh(u) = 2σ(2u) without the cancellation for negative x. */
INL TGT vf vsig2u(vf x) {
  vf x3 = vmul(vmul(x, x), x);
  vf u = vmul(vset1(0.7978845608028654f), vfma(vset1(0.044715f), x3, x));
  vf one = vset1(1.0f);
  return vdiv(one, vadd(one, vexp(vmul(u, vset1(-2.0f)))));
}

/** GELU, tanh form: x · σ(2u). */
INL TGT vf vgelu_tanh(vf x) { return vmul(x, vsig2u(x)); }

/** d gelu_tanh/dx · g = g · (σ + 2xσ(1-σ)·√(2/π)(1 + 3·0.044715x²)). */
INL TGT vf vgelu_tanh_grad(vf x, vf g) {
  vf s = vsig2u(x), one = vset1(1.0f);
  vf du = vmul(vset1(0.7978845608028654f), vfma(vset1(3.0f * 0.044715f), vmul(x, x), one));
  vf t = vmul(vmul(vmul(vset1(2.0f), x), vmul(s, vsub(one, s))), du);
  return vmul(g, vadd(s, t));
}

// Native CPU kernels for Node (optional: built by scripts/build-native.mjs; tlm runs on its
// WebAssembly kernels when this cannot build or load). The first kernel: the product of a few
// rows A [M, K] (a decode step: one row per sequence) with a weight B, in place on the memory the
// WebAssembly kernels use, with AVX-512 or AVX2+FMA chosen at run time.
//
// Every element of C is one sequence of fused multiply-adds over k, the same whatever M is and
// whichever thread computes it, so a row decoded in a batch gets exactly the bits it gets alone.

#include <node_api.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

typedef struct {
  const float *a; long sa;            // A rows: a + m*sa, contiguous in k
  const float *b; long sk, sj;        // B element (k, j) at b + k*sk + j*sj; sj == 1 or sk == 1
  float *c; long M, K, N;             // C [M, N] contiguous
} Job;

// ---- row-major B (sj == 1): C[m, j0:j0+W] = sum_k a[m,k] * B[k, j0:j0+W] -------------------------

__attribute__((target("avx512f")))
static void rows_rm_512(const Job *J, long j0, long j1) {
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

__attribute__((target("avx2,fma")))
static void rows_rm_256(const Job *J, long j0, long j1) {
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
static void rows_cm_512(const Job *J, long j0, long j1) {
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
static void rows_cm_256(const Job *J, long j0, long j1) {
  for (long j = j0; j < j1; j++) {
    const float *col = J->b + j * J->sj;
    for (long m = 0; m < J->M; m++) J->c[m * J->N + j] = dot_256(J->a + m * J->sa, col, J->K);
  }
}

typedef void (*RangeFn)(const Job *, long, long);
static RangeFn rm_fn, cm_fn;
static const char *isa = "none";

// ---- a small pool: helper threads that wait for a generation counter, then take a column range ----

#define MAX_THREADS 64
static int n_threads = 1, started = 1;
static pthread_t helpers[MAX_THREADS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static atomic_long gen = 0;
static atomic_int pending = 0;
static Job cur;
static RangeFn cur_fn;
static long cur_blocks, cur_width;

static void run_share(int t) {
  // Thread t takes blocks [t·n/T, (t+1)·n/T) of cur_width columns: a fixed split, so the same
  // thread count always gives the same work to the same thread (results do not depend on it anyway).
  long b0 = cur_blocks * t / n_threads, b1 = cur_blocks * (t + 1) / n_threads;
  long j0 = b0 * cur_width, j1 = b1 * cur_width;
  if (j1 > cur.N) j1 = cur.N;
  if (j0 < j1) cur_fn(&cur, j0, j1);
}

static void *helper_main(void *arg) {
  int t = (int)(intptr_t)arg;
  long seen = 0;
  for (;;) {
    long g;
    int spins = 0;
    while ((g = atomic_load(&gen)) == seen) {
      // Spin ~0.5 ms before sleeping: a decode step's products come a few tens of µs apart, and
      // waking a sleeping thread costs about as much as a small product.
      if (++spins < 20000) { _mm_pause(); continue; }
      pthread_mutex_lock(&mu);
      while ((g = atomic_load(&gen)) == seen) pthread_cond_wait(&cv, &mu);
      pthread_mutex_unlock(&mu);
      break;
    }
    seen = g;
    if (t >= n_threads) continue; // beyond the current count: idle
    run_share(t);
    atomic_fetch_sub(&pending, 1);
  }
  return NULL;
}

static void run_job(const Job *J, RangeFn fn, long width) {
  cur = *J; cur_fn = fn; cur_width = width;
  cur_blocks = (J->N + width - 1) / width;
  long work = J->M * J->K * J->N;
  if (n_threads == 1 || work < 200000) { fn(J, 0, J->N); return; }
  atomic_store(&pending, n_threads - 1);
  pthread_mutex_lock(&mu);
  atomic_fetch_add(&gen, 1);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  run_share(0);
  while (atomic_load(&pending) > 0) _mm_pause();
}

// ---- N-API -----------------------------------------------------------------------------------------

static int64_t arg_i64(napi_env env, napi_value v) { int64_t x = 0; napi_get_value_int64(env, v, &x); return x; }

// matmulRows(heap: Float32Array over the whole memory, a, sa, b, sk, sj, M, K, N, c): offsets in
// bytes, strides in elements. Returns false when the layout is not one this kernel takes.
static napi_value matmul_rows(napi_env env, napi_callback_info info) {
  size_t argc = 10; napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_value result;
  if (argc < 10 || rm_fn == NULL) { napi_get_boolean(env, false, &result); return result; }
  napi_typedarray_type type; size_t length; void *data; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &off) != napi_ok || type != napi_float32_array) {
    napi_get_boolean(env, false, &result); return result;
  }
  char *base = (char *)data;
  Job J = {
    .a = (const float *)(base + arg_i64(env, argv[1])), .sa = arg_i64(env, argv[2]),
    .b = (const float *)(base + arg_i64(env, argv[3])), .sk = arg_i64(env, argv[4]), .sj = arg_i64(env, argv[5]),
    .M = arg_i64(env, argv[6]), .K = arg_i64(env, argv[7]), .N = arg_i64(env, argv[8]),
    .c = (float *)(base + arg_i64(env, argv[9])),
  };
  int ok = 1;
  if (J.sj == 1) run_job(&J, rm_fn, strcmp(isa, "avx512f") == 0 ? 64 : 32);
  else if (J.sk == 1) run_job(&J, cm_fn, 16);
  else ok = 0;
  napi_get_boolean(env, ok, &result);
  return result;
}

// setThreads(n): the pool's size (the calling thread included); returns it.
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int want = argc > 0 ? (int)arg_i64(env, argv[0]) : 1;
  if (want < 1) want = 1;
  if (want > MAX_THREADS) want = MAX_THREADS;
  // Helpers are started once and never stopped: a smaller count leaves the ones above it idle.
  for (int t = started; t < want; t++) pthread_create(&helpers[t], NULL, helper_main, (void *)(intptr_t)t);
  if (want > started) started = want;
  n_threads = want;
  napi_value result; napi_create_int32(env, n_threads, &result);
  return result;
}

static napi_value get_isa(napi_env env, napi_callback_info info) {
  (void)info; napi_value result; napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &result); return result;
}

NAPI_MODULE_INIT() {
  static int inited = 0;
  if (!inited) {
    inited = 1;
    __builtin_cpu_init();
    // TLM_NATIVE_ISA=avx2 takes the AVX2 path on an AVX-512 machine (to test it).
    const char *want = getenv("TLM_NATIVE_ISA");
    int allow512 = !(want && strcmp(want, "avx2") == 0);
    if (allow512 && __builtin_cpu_supports("avx512f")) { rm_fn = rows_rm_512; cm_fn = rows_cm_512; isa = "avx512f"; }
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { rm_fn = rows_rm_256; cm_fn = rows_cm_256; isa = "avx2+fma"; }
  }
  napi_property_descriptor props[] = {
    { "matmulRows", NULL, matmul_rows, NULL, NULL, NULL, napi_default, NULL },
    { "setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL },
    { "isa", NULL, get_isa, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

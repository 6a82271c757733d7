// Native CPU kernels for Node (optional: built by scripts/build-native.mjs; tlm runs on its
// WebAssembly kernels when this cannot build or load). They work in place on the memory the
// WebAssembly kernels use, with AVX-512 or AVX2+FMA chosen at run time, on the same threads.
#define _DEFAULT_SOURCE // madvise(MADV_HUGEPAGE) under -std=c11
#include "tlm.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>

int tlm_isa = 0;

int64_t tlm_i64(napi_env env, napi_value v) { int64_t x = 0; napi_get_value_int64(env, v, &x); return x; }
double tlm_f64(napi_env env, napi_value v) { double x = 0; napi_get_value_double(env, v, &x); return x; }

char *tlm_heap(napi_env env, napi_value v) {
  napi_typedarray_type type; size_t length; void *data; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok || type != napi_float32_array) return NULL;
  return (char *)data;
}

napi_value tlm_bool(napi_env env, int b) { napi_value r; napi_get_boolean(env, b, &r); return r; }

napi_value tlm_plan_phases(napi_env env, PlanHead *plan, long pack, long phase, long items) {
  napi_value out, x;
  napi_create_array_with_length(env, 4, &out);
  double vals[4] = { (double)(uintptr_t)plan, (double)pack, (double)phase, (double)items };
  for (int i = 0; i < 4; i++) { napi_create_double(env, vals[i], &x); napi_set_element(env, out, i, x); }
  return out;
}

void tlm_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

// run(plan, phase, i0, i1): items [i0, i1) of a plan's phase, on whichever thread calls it.
static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value v[4];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  PlanHead *plan = (PlanHead *)(uintptr_t)tlm_f64(env, v[0]);
  plan->run(plan, (int)tlm_i64(env, v[1]), (long)tlm_i64(env, v[2]), (long)tlm_i64(env, v[3]));
  return NULL;
}

// adviseHugePages(heap): asks the kernel for 2 MiB pages over the heap (transparent huge pages in
// madvise mode). The decode step streams every weight once per token; with 4 KiB pages the hardware
// prefetchers stop at each page edge and the TLB misses every few rows of a weight.
static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value v[1];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  napi_typedarray_type type; size_t length; void *data; napi_value ab; size_t off;
  if (argc < 1 || napi_get_typedarray_info(env, v[0], &type, &length, &data, &ab, &off) != napi_ok) return tlm_bool(env, 0);
  size_t bytes = length * (type == napi_float32_array ? 4 : 1);
  uintptr_t lo = ((uintptr_t)data + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1), hi = ((uintptr_t)data + bytes) & ~(uintptr_t)((2u << 20) - 1);
#ifdef MADV_HUGEPAGE
  if (hi > lo) return tlm_bool(env, madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0);
#endif
  return tlm_bool(env, 0);
}

static napi_value get_isa(napi_env env, napi_callback_info info) {
  (void)info;
  const char *name = tlm_isa == 2 ? "avx512f" : tlm_isa == 1 ? "avx2+fma" : "none";
  napi_value result; napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &result); return result;
}

NAPI_MODULE_INIT() {
  static int inited = 0;
  if (!inited) {
    inited = 1;
    __builtin_cpu_init();
    // TLM_NATIVE_ISA=avx2 takes the AVX2 path on an AVX-512 machine (to test it).
    const char *want = getenv("TLM_NATIVE_ISA");
    int allow512 = !(want && strcmp(want, "avx2") == 0);
    if (allow512 && __builtin_cpu_supports("avx512f")) tlm_isa = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) tlm_isa = 1;
  }
  tlm_export(env, exports, "run", run);
  tlm_export(env, exports, "isa", get_isa);
  tlm_export(env, exports, "adviseHugePages", advise_huge_pages);
  tlm_register_gemm(env, exports);
  tlm_register_nn(env, exports);
  tlm_register_attention(env, exports);
  tlm_register_quant(env, exports);
  return exports;
}

// Shared by the native kernel files: the thread pool, the instruction set chosen at load, and the
// N-API argument helpers. Each kernel file registers its functions with tlm_register_<name>.
#pragma once
#include <node_api.h>
#include <stdint.h>

// ---- plans: a kernel call is planned on the calling thread, then its items run on the cpu backend's
// threads (the WebAssembly kernels' pool: one set of threads for both kernel sets, since two pools
// on the same cores took turns spinning and preempting each other).

/** The first member of every plan: runs items [i0, i1) of one phase. */
typedef struct { void (*run)(void *plan, int phase, long i0, long i1); } PlanHead;

// ---- addon.c ---------------------------------------------------------------------------------------

/** 2 = AVX-512F, 1 = AVX2 + FMA, 0 = neither (the addon declines every job). */
extern int tlm_isa;

/** The argument i as an int64 / a double. */
int64_t tlm_i64(napi_env env, napi_value v);
double tlm_f64(napi_env env, napi_value v);
/** The base address of a Float32Array's buffer (the WebAssembly heap), or NULL. */
char *tlm_heap(napi_env env, napi_value v);
napi_value tlm_bool(napi_env env, int b);
/** A plan's answer to JavaScript: [plan address, items of phase 0, phase, items of it]. */
napi_value tlm_plan_phases(napi_env env, PlanHead *plan, long pack, long phase, long items);
void tlm_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

void tlm_register_gemm(napi_env env, napi_value exports);
void tlm_register_nn(napi_env env, napi_value exports);
void tlm_register_attention(napi_env env, napi_value exports);
void tlm_register_quant(napi_env env, napi_value exports);

// Shared by native/quant.c (the plan, the float kernels) and native/quant_vnni.c (the 4-bit kernel
// on integer dot products).
#pragma once
#include "tlm.h"

typedef struct {
  PlanHead head;
  const float *x; long M, K, N;   // x [M, K] contiguous (4-bit float kernels: its permuted copy)
  const uint8_t *q; long rowBytes; // W's rows
  const float *scales; int bits;  // [N] (8 bits) or [N, K/32]
  const float *bias;              // [N] or NULL
  float *y;                       // [M, N]
  long width;                     // rows of W per work item
  // The 4-bit VNNI kernel: x quantized per row (quant_vnni.c says how), and each row's scale.
  int vnni; const uint8_t *xq; long xqStride; const float *xs;
} Quant;

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/** Whether the CPU has AVX-512 VNNI (and the kernel is not turned off with TLM_QUANT_VNNI=0). */
int quant_vnni_supported(void);
/** Bytes of quantized x per row for K inputs. */
long q4_vnni_stride(long K);
/** Quantizes x's rows into p->xq (p->xqStride bytes each) and their scales into xs. */
void q4_vnni_prepare(const Quant *p, const float *x, uint8_t *xq, float *xs);
/** Rows n0..n1 of W against every row of x. */
void q4_vnni_range(const Quant *p, long n0, long n1);

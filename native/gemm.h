// Shared by the two halves of the native matrix products: the streaming kernels (gemm_rows.c) and
// the packed GEMM with its N-API plan (gemm.c).
#pragma once
#include "tlm.h"

typedef struct {
  const float *a; long sa;            // A rows: a + m*sa, contiguous in k
  const float *b; long sk, sj;        // B element (k, j) at b + k*sk + j*sj; sj == 1 or sk == 1
  float *c; long M, K, N;             // C [M, N] contiguous
} Job;

/** C[:, j0:j1] for the job's rows: row-major B (sj == 1) or column-major B (sk == 1), per ISA. */
typedef void (*RangeFn)(const Job *, long, long);
void rows_rm_512(const Job *J, long j0, long j1);
/** rows_rm_512 for one row (M = 1): strips 256 or 128 columns wide. */
void row1_rm_512(const Job *J, long j0, long j1);
void row1_rm_512_128(const Job *J, long j0, long j1);
void rows_rm_256(const Job *J, long j0, long j1);
void rows_cm_512(const Job *J, long j0, long j1);
void rows_cm_256(const Job *J, long j0, long j1);

/*
 * bf16 matrix products for mixed-precision training (bgemm.c):
 *
 *   C[M,N] (row stride ldc)  =  op(A) . op(B) (+ bias[N])     (accumulate: C +=)
 *
 * op(A) is [M,K]: A row-major with row stride lda (a_trans 0), or A holds
 * op(A)^T as [K,M] (a_trans 1). op(B) is [K,N]: B row-major [K,N] with row
 * stride ldb (b_trans 0), or B holds op(B)^T as [N,K] (b_trans 1: C = A . B^T,
 * the linear layer's x . W^T).
 *
 * Both operands are rounded to bf16 (round to nearest even; subnormals to a
 * signed zero, as vcvtne2ps2bf16 does) and packed into 16 x 32 bf16 tiles
 * (K padded with zeros to a multiple of 32), the products summed in fp32 in
 * the order of k, 32 k at a time. Kernels, chosen once per process in the
 * dispatch table (dispatch.h, the field bgemm):
 *   MEDNER__BGEMM_AMX       AMX-BF16 tdpbf16ps (Sapphire Rapids and later);
 *                           the process asks Linux for the tile state once,
 *                           at the first AMX product (medner__cpu_amx_permit),
 *                           and falls back to AVX512-BF16 when refused
 *   MEDNER__BGEMM_AVX512    AVX512-BF16 vdpbf16ps
 *   MEDNER__BGEMM_PORTABLE  plain C (fp32 sums of the exact bf16 products)
 * Every element of C is computed by one thread with the same instructions
 * whatever the thread count, so results are bitwise independent of it
 * (within one kernel; the kernels differ from each other in the last bits).
 */
#ifndef MEDNER_KERNELS_BGEMM_H
#define MEDNER_KERNELS_BGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

enum { MEDNER__BGEMM_PORTABLE = 0, MEDNER__BGEMM_AVX512 = 1, MEDNER__BGEMM_AMX = 2 };

/* Packing space, grown on demand and kept between calls (zeroed struct = empty). */
typedef struct medner__bgemm_ws {
    void *raw;
    uint16_t *buf;
    size_t cap; /* uint16 elements */
} medner__bgemm_ws;
void medner__bgemm_ws_free(medner__bgemm_ws *ws);

/* Returns 0, or -1 out of memory (C untouched). */
int medner__bgemm(medner__par *par, medner__bgemm_ws *ws, float *C, size_t ldc, int accumulate,
                  const float *A, size_t lda, int a_trans, const float *B, size_t ldb,
                  int b_trans, const float *bias, size_t M, size_t N, size_t K);

/* The same product on the calling thread alone, in caller-provided space:
 * medner__bgemm_serial_floats(M, N, K) floats, 64-byte aligned (the output
 * block scratch, then the packed operands). For many small products run
 * from threads that already split the work (attention, one head each). The
 * same bits as medner__bgemm. Cannot fail (no allocation); safe to call
 * from several threads at once, each with its own space (the caller owns
 * it; nothing is kept between calls). M or N = 0: C untouched. */
size_t medner__bgemm_serial_floats(size_t M, size_t N, size_t K);
void medner__bgemm_serial(float *space, float *C, size_t ldc, int accumulate, const float *A,
                          size_t lda, int a_trans, const float *B, size_t ldb, int b_trans,
                          const float *bias, size_t M, size_t N, size_t K);

/* The kernel medner__bgemm uses now: the best the CPU and the OS allow,
 * or the one forced. MEDNER_BF16_GEMM=amx|avx512|portable in the
 * environment (read once, when the dispatch tables are built at the first
 * kernel call) caps the choice. It does not follow the fp32 level
 * (medner__kernels_set_isa). */
int medner__bgemm_kernel(void);
/* The best kernel available (ignores forcing). */
int medner__bgemm_best(void);
/* Tests: force a kernel (-1: back to automatic). Returns 0, or -1 when the
 * CPU/OS cannot run it (nothing changed). Not thread-safe against running
 * products. */
int medner__bgemm_force(int kernel);
const char *medner__bgemm_kernel_name(int kernel);

#endif

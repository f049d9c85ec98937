/*
 * The fp32 products through OpenBLAS (MEDNER_GEMM=openblas, and the default
 * off x86-64, where medner's own kernel has no vectorised level): the
 * encoder's packed panels are unpacked to rows, cblas_sgemm computes
 * y = x . W^T + b with W used in place (row-major [N, K]: CblasTrans), and the
 * rows are packed back into panels for the rest of the forward pass.
 *
 * Determinism contract: OpenBLAS picks its kernels and its thread split from
 * the matrix sizes and its own thread count (OPENBLAS_NUM_THREADS), so a
 * row's result may change in the last bits with the number of rows in the
 * batch and with that thread count; for the same input batch and the same
 * settings it is repeatable. medner's own kernel (MEDNER_GEMM=own, the
 * default on x86-64) is bitwise independent of both (docs/precision.md).
 */
#include <cblas.h>

#include "kernels/kernels.h"

void medner__gemm_blas_panels(float *y, const float *xp, size_t M, size_t K,
                              const float *const *ws, const float *const *bs, size_t count,
                              size_t n_each, float *rows)
{
    size_t N = count * n_each;
    if (M == 0 || N == 0)
        return;
    float *xr = rows, *yr = rows + M * K;
    medner__unpack_panels(xr, K, xp, M, K);
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < count; i++)
            for (size_t n = 0; n < n_each; n++)
                yr[m * N + i * n_each + n] = bs[i] ? bs[i][n] : 0.0f;
    for (size_t i = 0; i < count; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)M, (blasint)n_each,
                    (blasint)K, 1.0f, xr, (blasint)K, ws[i], (blasint)K, 1.0f, yr + i * n_each,
                    (blasint)N);
    /* rows -> panels of N columns (the packed-x layout with K = N) */
    medner__gemm_pack(y, yr, N, M, N);
}
